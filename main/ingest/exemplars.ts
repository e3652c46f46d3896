// Exemplars as remote write carries them (1.0 TimeSeries.exemplars, 2.0 TimeSeries.exemplars) and
// a bounded per-workspace store like Prometheus's circular exemplar storage: the newest
// `maxExemplars` kept, older ones overwritten; per series only exemplars newer than its last one.
// The store is sealed in parts of PART_SLOTS ring slots plus a small header row; a flush (at most
// every FLUSH_INTERVAL_MS, and on close) rewrites only the parts that changed.
import type { Label, Labels } from '../../shared/labels';
import { ProtoReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './proto';
import { L_END, L_EXEMPLARS, L_START, SeriesLayout } from './layout';
import type { Symbols } from './rw2';

/** Prometheus's default storage.exemplars.max-exemplars. */
export const DEFAULT_MAX_EXEMPLARS = 100_000;
/** Prometheus's ExemplarMaxLabelSetLength: UTF-8 characters of names and values together. */
export const EXEMPLAR_MAX_LABEL_CHARS = 128;
const FLUSH_INTERVAL_MS = 10_000;

export interface Exemplar {
  readonly labels: Labels;
  readonly value: number;
  /** ms */
  readonly t: number;
}

/** One series' exemplars as the request sent them (series labels not yet validated). */
export interface ExemplarBatch {
  readonly series: Label[];
  readonly exemplars: Exemplar[];
}

const isField = (r: ProtoReader, field: number, wire: number): boolean => r.field === field && r.wire === wire;

/** value=2 (double), timestamp=3 (int64) of an Exemplar message; labels by `label`. */
function exemplar(r: ProtoReader, end: number, label: (r: ProtoReader, end: number, out: Label[]) => void): Exemplar | null {
  const labels: Label[] = [];
  let value = 0;
  let t = 0;
  while (r.pos < end) {
    r.tag(end);
    if (r.field === 1) label(r, end, labels);
    else if (isField(r, 2, WIRE_FIXED64)) value = r.double(end);
    else if (isField(r, 3, WIRE_VARINT)) t = r.int64(end, 'Exemplar.timestamp');
    else r.skip(end);
  }
  return labels.some((l) => l.name === '' || l.value === '\ufffd') ? null : { labels: sortLabels(labels), value, t };
}

function sortLabels(labels: Label[]): Label[] {
  return labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A Label message {name=1, value=2}. */
function v1Label(r: ProtoReader, end: number, out: Label[]): void {
  if (r.wire !== WIRE_LEN) return void r.skip(end);
  const e = r.lenEnd(end, 'Label');
  let name = '';
  let value = '';
  while (r.pos < e) {
    r.tag(e);
    if (isField(r, 1, WIRE_LEN) || isField(r, 2, WIRE_LEN)) {
      const f = r.field;
      const se = r.lenEnd(e, 'Label');
      const s = utf8(r.buf, r.pos, se);
      if (f === 1) name = s;
      else value = s;
      r.pos = se;
    } else r.skip(e);
  }
  out.push({ name, value });
}

/** Invalid UTF-8 becomes "\ufffd" and the label is then refused (name "" or value "\ufffd" marks it). */
function utf8(buf: Buffer, start: number, end: number): string {
  const bytes = buf.subarray(start, end);
  const s = bytes.toString('utf8');
  return s.includes('\ufffd') && !Buffer.from(s, 'utf8').equals(bytes) ? '\ufffd' : s;
}

/** The series of a scanned body that carry exemplars, as [start, end) byte ranges (see SeriesLayout). */
function* seriesWithExemplars(layout: SeriesLayout): Generator<[number, number]> {
  const rows = layout.rows;
  for (let i = 0; i < layout.count; i++) {
    const at = i * SeriesLayout.ROW;
    if (rows[at + L_EXEMPLARS]! > 0) yield [rows[at + L_START]!, rows[at + L_END]!];
  }
}

/**
 * 1.0: the exemplars of every series that has some, as scanV1 noted them in `layout` (the other
 * series' labels are not decoded: a few series carry exemplars, and decoding every series' labels
 * cost more than ingesting the request).
 */
export function exemplarsV1(buf: Buffer, layout: SeriesLayout): ExemplarBatch[] {
  const r = new ProtoReader(buf);
  const out: ExemplarBatch[] = [];
  for (const [start, seriesEnd] of seriesWithExemplars(layout)) {
    r.pos = start;
    const series: Label[] = [];
    const exemplars: Exemplar[] = [];
    while (r.pos < seriesEnd) {
      r.tag(seriesEnd);
      if (r.field === 1) v1Label(r, seriesEnd, series);
      else if (isField(r, 3, WIRE_LEN)) {
        const e = r.lenEnd(seriesEnd, 'TimeSeries.exemplars');
        const x = exemplar(r, e, v1Label);
        if (x) exemplars.push(x);
        r.pos = e;
      } else r.skip(seriesEnd);
    }
    if (exemplars.length > 0) out.push({ series, exemplars });
  }
  return out;
}

/** 2.0: labels_refs=1 (pairs into the symbols) in series and exemplars alike; exemplars are field 4. Series as exemplarsV1 finds them. */
export function exemplarsV2(buf: Buffer, symbols: Symbols, layout: SeriesLayout): ExemplarBatch[] {
  const r = new ProtoReader(buf);
  const out: ExemplarBatch[] = [];
  const texts: (string | undefined)[] = new Array(symbols.count);
  const sym = (ref: number): string => {
    if (ref >= symbols.count) return '\ufffd';
    return (texts[ref] ??= utf8(buf, symbols.ranges[2 * ref]!, symbols.ranges[2 * ref + 1]!));
  };
  const refs: number[] = [];
  const readRefs = (r: ProtoReader, end: number, out: Label[]): void => {
    refs.length = 0;
    if (r.wire === WIRE_LEN) {
      const e = r.lenEnd(end, 'labels_refs');
      while (r.pos < e) refs.push(r.varint(e));
    } else refs.push(r.varint(end));
    // Unpacked refs arrive one per field: pair them up across calls through `pending`.
    for (const ref of refs) {
      if (pending === null) pending = sym(ref);
      else (out.push({ name: pending, value: sym(ref) }), (pending = null));
    }
  };
  let pending: string | null = null;
  for (const [start, seriesEnd] of seriesWithExemplars(layout)) {
    r.pos = start;
    const series: Label[] = [];
    const exemplars: Exemplar[] = [];
    pending = null;
    while (r.pos < seriesEnd) {
      r.tag(seriesEnd);
      if (r.field === 1) readRefs(r, seriesEnd, series);
      else if (isField(r, 4, WIRE_LEN)) {
        const e = r.lenEnd(seriesEnd, 'TimeSeries.exemplars');
        const saved: string | null = pending;
        pending = null;
        const x = exemplar(r, e, readRefs);
        pending = saved;
        if (x) exemplars.push(x);
        r.pos = e;
      } else r.skip(seriesEnd);
    }
    if (exemplars.length > 0) out.push({ series: sortLabels(series), exemplars });
  }
  return out;
}

/** UTF-8 characters of an exemplar's label names and values together (Prometheus counts runes). */
export function exemplarLabelChars(labels: Labels): number {
  let n = 0;
  for (const l of labels) for (const s of [l.name, l.value]) for (const _ of s) n++;
  return n;
}

/** The last `n` items (none for n ≤ 0: slice(-0) would keep all). */
const newest = <T>(items: T[], n: number): T[] => (n <= 0 ? [] : items.slice(-n));

/**
 * Where the store's sealed rows are read and written (the workspace's store): a small header
 * (part null) and the ring in parts of PART_SLOTS slots (part 0, 1, …); a write replaces the given
 * rows (null: deletes) in one transaction.
 */
export interface ExemplarPersistence {
  read(part: number | null): Buffer | null;
  write(changes: readonly (readonly [part: number | null, plain: Buffer | null])[]): void;
}

/** Ring slots per sealed part: a flush rewrites only the parts new exemplars landed in. */
export const PART_SLOTS = 1024;

interface Slot {
  series: string;
  exemplar: Exemplar;
}

/** One series' exemplars as /api/v1/query_exemplars shows them. */
export interface SeriesExemplars {
  readonly seriesLabels: Labels;
  readonly exemplars: Exemplar[];
}

/** A part's plain content: its series' labels, and per slot [series, labels, value, t] or null. */
type PartSlot = [number, Labels, string, number] | null;

/**
 * The bounded circular exemplar store of one workspace. The ring is written in sealed parts of
 * PART_SLOTS slots, so the cost of a flush follows the exemplars that arrived, not the store size.
 */
export class ExemplarStore {
  private ring: (Slot | undefined)[] = [];
  private next = 0;
  private readonly seriesLabels = new Map<string, Labels>();
  /** Newest exemplar time per series: older ones are out of order and not kept. */
  private readonly newest = new Map<string, number>();
  private loaded = false;
  /** Parts changed since the last flush; the header is written with them. */
  private readonly dirty = new Set<number>();
  /** Parts the store holds (those beyond the ring after a shrink are deleted at the next flush). */
  private storedParts = 0;
  private lastFlush = 0;

  constructor(
    private readonly persistence: ExemplarPersistence,
    private capacity: number = DEFAULT_MAX_EXEMPLARS,
  ) {}

  /** A new size (workspace limit maxExemplars); the newest exemplars are kept. */
  resize(capacity: number): void {
    if (capacity === this.capacity) return;
    this.load();
    const kept = newest(this.ordered(), capacity);
    this.capacity = capacity;
    this.ring = kept;
    this.next = kept.length % Math.max(1, capacity);
    for (let p = 0; p < partsOf(kept.length); p++) this.dirty.add(p);
    if (this.dirty.size === 0) this.dirty.add(-1); // only the header (and deletions) to write
  }

  /** Adds one series' exemplars (labels already validated); returns how many were kept. */
  add(series: Labels, exemplars: readonly Exemplar[]): number {
    this.load();
    if (this.capacity <= 0) return 0;
    const key = JSON.stringify(series);
    if (!this.seriesLabels.has(key)) this.seriesLabels.set(key, series);
    let kept = 0;
    for (const e of exemplars) {
      const last = this.newest.get(key);
      // Equal time: a duplicate resend (Prometheus's ErrDuplicateExemplar is silent too).
      if (last !== undefined && e.t <= last) continue;
      this.newest.set(key, e.t);
      this.ring[this.next] = { series: key, exemplar: e };
      this.dirty.add(Math.floor(this.next / PART_SLOTS));
      this.next = (this.next + 1) % this.capacity;
      kept++;
    }
    if (this.seriesLabels.size > 2 * this.capacity) this.prune();
    return kept;
  }

  /** Exemplars in [start, end] of the series `match` accepts, oldest first, grouped by series. */
  select(start: number, end: number, match: (labels: Labels) => boolean): SeriesExemplars[] {
    this.load();
    const out = new Map<string, SeriesExemplars>();
    const verdict = new Map<string, boolean>();
    for (const s of this.ordered()) {
      if (s.exemplar.t < start || s.exemplar.t > end) continue;
      let ok = verdict.get(s.series);
      if (ok === undefined) verdict.set(s.series, (ok = match(this.seriesLabels.get(s.series)!)));
      if (!ok) continue;
      let group = out.get(s.series);
      if (!group) out.set(s.series, (group = { seriesLabels: this.seriesLabels.get(s.series)!, exemplars: [] }));
      group.exemplars.push(s.exemplar);
    }
    return [...out.values()];
  }

  /**
   * Writes the parts that changed and the header when the last write is FLUSH_INTERVAL_MS old (or
   * `force`), in one transaction. Returns the number of parts written.
   */
  flush(now: number, force = false): number {
    if (this.dirty.size === 0 || (!force && now - this.lastFlush < FLUSH_INTERVAL_MS)) return 0;
    const parts = partsOf(this.ring.length);
    const changes: [number | null, Buffer | null][] = [];
    for (const p of [...this.dirty].sort((a, b) => a - b)) if (p >= 0 && p < parts) changes.push([p, this.encodePart(p)]);
    for (let p = parts; p < this.storedParts; p++) changes.push([p, null]);
    changes.push([null, Buffer.from(JSON.stringify({ v: 2, capacity: this.capacity, next: this.next, slots: this.ring.length }), 'utf8')]);
    this.persistence.write(changes);
    this.storedParts = parts;
    this.dirty.clear();
    this.lastFlush = now;
    return changes.length - 1;
  }

  /** Forgets series none of whose exemplars is left in the ring (bounds memory under series churn). */
  private prune(): void {
    const live = new Set(this.ordered().map((s) => s.series));
    for (const key of this.seriesLabels.keys()) if (!live.has(key)) (this.seriesLabels.delete(key), this.newest.delete(key));
  }

  private ordered(): Slot[] {
    const out: Slot[] = [];
    const n = this.ring.length;
    for (let i = 0; i < n; i++) {
      const s = this.ring[(this.next + i) % n];
      if (s) out.push(s);
    }
    return out;
  }

  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    const plain = this.persistence.read(null);
    if (plain === null) return;
    const head = JSON.parse(plain.toString('utf8')) as { v?: number; capacity: number; next: number; slots: number | [number, Labels, string, number][]; series?: Labels[] };
    if (head.v !== 2) {
      // The first format: the whole ring in this one row, oldest first. Rewritten as parts at the next flush.
      const keys = head.series!.map((l) => this.seriesKey(l));
      const slots = head.slots as [number, Labels, string, number][];
      this.ring = newest(slots, this.capacity).map(([s, labels, value, t]) => ({ series: keys[s]!, exemplar: { labels, value: Number(value), t } }));
      this.next = this.ring.length % Math.max(1, this.capacity);
      for (let p = 0; p < partsOf(this.ring.length); p++) this.dirty.add(p);
      this.dirty.add(-1);
    } else {
      const n = head.slots as number;
      const ring: (Slot | undefined)[] = new Array<Slot | undefined>(n);
      for (let p = 0; p < partsOf(n); p++) {
        const part = this.persistence.read(p);
        if (part === null) throw new Error(`exemplar store part ${p} is missing`);
        const { series, slots } = JSON.parse(part.toString('utf8')) as { series: Labels[]; slots: PartSlot[] };
        const keys = series.map((l) => this.seriesKey(l));
        slots.forEach((x, i) => {
          if (x) ring[p * PART_SLOTS + i] = { series: keys[x[0]]!, exemplar: { labels: x[1], value: Number(x[2]), t: x[3] } };
        });
      }
      this.storedParts = partsOf(n);
      this.ring = ring;
      this.next = head.next;
      if (head.capacity !== this.capacity) {
        // The limit changed while the store was closed: keep the newest, as resize() does.
        const want = this.capacity;
        this.capacity = head.capacity;
        this.resize(want);
      }
    }
    for (const s of this.ring) if (s) this.newest.set(s.series, Math.max(this.newest.get(s.series) ?? -Infinity, s.exemplar.t));
  }

  private seriesKey(l: Labels): string {
    const key = JSON.stringify(l);
    this.seriesLabels.set(key, l);
    return key;
  }

  private encodePart(p: number): Buffer {
    const index = new Map<string, number>();
    const series: Labels[] = [];
    const slots: PartSlot[] = [];
    for (let i = p * PART_SLOTS; i < Math.min(this.ring.length, (p + 1) * PART_SLOTS); i++) {
      const s = this.ring[i];
      if (!s) {
        slots.push(null);
        continue;
      }
      let k = index.get(s.series);
      if (k === undefined) (index.set(s.series, (k = series.length)), series.push(this.seriesLabels.get(s.series)!));
      // NaN and ±Inf are not JSON: values travel as strings.
      slots.push([k, s.exemplar.labels, String(s.exemplar.value), s.exemplar.t]);
    }
    return Buffer.from(JSON.stringify({ series, slots }), 'utf8');
  }
}

const partsOf = (slots: number): number => Math.ceil(slots / PART_SLOTS);
