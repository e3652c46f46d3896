// Reading: matchers pick series from the head's postings; samples come from the chunk rows of
// the buckets overlapping [mint, maxt] (each row decrypted once, only the wanted chunks decoded)
// and from the head.
import { compareLabels, type Labels } from '../../shared/labels';
import { ChunkRow } from './chunk-row';
import { chunkFirstTime, lastDecode } from './chunkenc';
import { offThreadReads, type OffThreadReads } from './head-snapshot';
import { selectSeries, seriesSelection } from './matchers';
import { rowCache } from './row-cache';
import { lowerBound } from './sorted';
import { bucketOf, type TsdbState } from './state';
import { items, type Storage } from './storage';
import type { CodedChunk, CodedSamples, FloatSamples, Matcher, Querier, SelectHints, SeriesData } from './types';
import { histogramsOf } from './histogram-read';
import type { HeadChunk } from './one-chunk';

/** Keeps bucket arithmetic finite for open-ended ranges. */
const TIME_LIMIT = 8.64e15;

export class HeadQuerier implements Querier {
  constructor(private readonly st: TsdbState) {}

  /** What a query worker needs to read this store itself (see ./head-snapshot). */
  get offThread(): OffThreadReads {
    return offThreadReads(this.st);
  }

  select(matchers: readonly Matcher[], mint: number, maxt: number, hints?: SelectHints): SeriesData[] {
    const series = selectSeries(this.st.head, matchers);
    if (series.length === 0 || mint > maxt) return [];
    const check = hints?.check;
    const rows = readRows(this.st.storage, series, mint, maxt, check);
    const out: SeriesData[] = [];
    for (const s of series) {
      check?.();
      const seriesRows = rows.get(s.id) ?? [];
      const histograms = histogramsOf(s, seriesRows, mint, maxt);
      if (hints?.lazy && !histograms) {
        // The head's window is not copied: read before the next append (SelectHints.lazy).
        const d = lazySeries(s.labels, seriesRows, this.st.storage.layout.bucketMs, s.id, s.window(mint, maxt), mint, Math.min(maxt, s.lastT), s.lastT);
        if (d) out.push(d);
        continue;
      }
      const data = mergeSamples(seriesRows, s.id, s.window(mint, maxt), mint, Math.min(maxt, s.lastT));
      if (histograms) out.push({ labels: s.labels, timestamps: data.timestamps, values: data.values, histograms });
      else if (data.timestamps.length > 0) out.push({ labels: s.labels, timestamps: data.timestamps, values: data.values });
    }
    return out.sort((a, b) => compareLabels(a.labels, b.labels));
  }

  labelNames(matchers?: readonly Matcher[]): string[] {
    if (!matchers || matchers.length === 0) return [...this.st.head.labelNames()].sort();
    const names = new Set<string>();
    for (const s of selectSeries(this.st.head, matchers)) for (const l of s.labels) names.add(l.name);
    return [...names].sort();
  }

  labelValues(name: string, matchers?: readonly Matcher[]): string[] {
    if (!matchers || matchers.length === 0) return [...(this.st.head.postingsOf(name)?.keys() ?? [])].sort();
    const values = new Set<string>();
    for (const s of selectSeries(this.st.head, matchers)) {
      for (const l of s.labels) if (l.name === name) values.add(l.value);
    }
    return [...values].sort();
  }

  /**
   * Every live series' labels, unsorted, `per` series a part (taken as they are read: a scan that
   * waits between parts sees series removed meanwhile left out, and none made after it began).
   */
  labelSets(per: number): { readonly total: number; readonly parts: Iterable<Labels[]> } {
    const head = this.st.head;
    const selection = seriesSelection(head, []);
    function* parts(): Generator<Labels[]> {
      while (!selection.done) yield selection.take(per).map((s) => s.labels);
    }
    return { total: head.size, parts: parts() };
  }

  series(matchers: readonly Matcher[], mint: number, maxt: number): Labels[] {
    return selectSeries(this.st.head, matchers)
      .filter((s) => s.minT <= maxt && s.lastT >= mint)
      .map((s) => s.labels)
      .sort(compareLabels);
  }
}

/** A series as row reading needs it: its id and the time span of all its samples. */
export interface RowSeries {
  readonly id: number;
  readonly minT: number;
  readonly lastT: number;
}

/** The decrypted chunk rows (in bucket order) that hold each series' samples in [mint, maxt], by series id. */
export function readRows(storage: Storage, series: readonly RowSeries[], mint: number, maxt: number, check?: () => void): Map<number, ChunkRow[]> {
  const layout = storage.layout;
  const minBucket = bucketOf(Math.max(mint, -TIME_LIMIT), layout.bucketMs);
  const maxBucket = bucketOf(Math.min(maxt, TIME_LIMIT), layout.bucketMs);
  const byPart = new Map<number, number[]>();
  for (const s of series) {
    if (s.minT > maxt || s.lastT < mint) continue;
    const part = Math.floor(s.id / layout.seriesPerPart);
    const list = byPart.get(part);
    if (list) list.push(s.id);
    else byPart.set(part, [s.id]);
  }
  const out = new Map<number, ChunkRow[]>();
  for (const [part, members] of byPart) {
    for (const chunkRow of partRows(storage, part, minBucket, maxBucket, check)) {
      for (const id of members) {
        if (!chunkRow.has(id)) continue;
        const list = out.get(id);
        if (list) list.push(chunkRow);
        else out.set(id, [chunkRow]);
      }
    }
  }
  return out;
}

/**
 * A decrypted row's bytes moved to shared memory, so that a query's helper thread reads its chunks
 * where they are (tsdb/packed-series.ts); the decrypted copy is wiped.
 */
function inSharedMemory(plain: Buffer): Buffer {
  const shared = Buffer.from(new SharedArrayBuffer(plain.length));
  plain.copy(shared);
  plain.fill(0);
  return shared;
}

/** One series group's rows in [minBucket, maxBucket], by bucket: from the row cache while still the listed version, else read and decrypted. */
function partRows(storage: Storage, part: number, minBucket: number, maxBucket: number, check?: () => void): ChunkRow[] {
  const layout = storage.layout;
  const listed = storage.listedChunks(part, minBucket, maxBucket);
  const rows: (ChunkRow | undefined)[] = listed.map((l) => rowCache.get(storage, l.bucket, part, l.tag, l.samples));
  const missing = rows.reduce((n, r) => n + (r ? 0 : 1), 0);
  if (missing === 0) return rows as ChunkRow[];
  // Mostly missing: one range read; a few: one read each.
  const stored = missing * 2 > listed.length
    ? storage.chunksOfPart(part, minBucket, maxBucket)
    : listed.flatMap((l, i) => (rows[i] ? [] : [storage.chunk(l.bucket, part)!]));
  for (const row of stored) {
    check?.();
    const i = listed.findIndex((l) => l.bucket === row.bucket);
    if (i < 0 || rows[i]) continue;
    const item = items.chunk(row.bucket, part, layout);
    const chunkRow = storage.decode(item, () => new ChunkRow(inSharedMemory(storage.open(item, row)), row.bucket * layout.bucketMs));
    rows[i] = chunkRow;
    rowCache.put(storage, row.bucket, part, listed[i]!.tag, listed[i]!.samples, chunkRow, chunkRow.bytes);
  }
  return rows.filter((r): r is ChunkRow => r !== undefined);
}

/**
 * A float-only series whose samples are decoded when asked for (SeriesData.samples); undefined
 * when it has none in [mint, maxt] (decoded here only when nothing else tells: its newest sample
 * (`lastT`) is not inside, nor its head's window, nor a head chunk's start, nor a row wholly).
 * Its head samples are `headChunks` (still coded: a query worker's snapshot) followed by `head`,
 * which holds only samples inside the window.
 */
export function lazySeries(labels: Labels, rows: readonly ChunkRow[], bucketMs: number, id: number, head: FloatSamples, mint: number, maxt: number, lastT: number, headChunks: readonly HeadChunk[] = []): SeriesData | undefined {
  const series = new LazyRowSeries(labels, rows, id, head, mint, maxt, headChunks);
  // An instant query's window holds the newest sample of nearly every series it selects.
  let some = (lastT >= mint && lastT <= maxt) || head.timestamps.length > 0;
  for (const c of headChunks) {
    if (some) break;
    const t = chunkFirstTime(c.buf, c.at, c.bucketStart);
    some = t >= mint && t <= maxt;
  }
  for (const r of rows) {
    if (some) break;
    // A row wholly inside the window holds only samples inside it.
    some = r.bucketStart >= mint && r.bucketStart + bucketMs - 1 <= maxt && r.count(id) > 0;
  }
  return some || series.samples().timestamps.length > 0 ? series : undefined;
}

/**
 * One object a series, no closures: a whole-day select makes thousands of these and they live
 * through the query, so each byte of them is copied by every young-generation collection meanwhile.
 */
class LazyRowSeries implements SeriesData {
  private kept: FloatSamples | null = null;

  constructor(
    readonly labels: Labels,
    private readonly rows: readonly ChunkRow[],
    private readonly id: number,
    private readonly head: FloatSamples,
    private readonly mint: number,
    private readonly maxt: number,
    private readonly headChunks: readonly HeadChunk[],
  ) {}

  samples(into?: FloatSamples): FloatSamples {
    const sources: readonly ChunkSource[] = this.headChunks.length === 0 ? this.rows : this.rows.length === 0 ? this.headChunks : [...this.rows, ...this.headChunks];
    return mergeSamples(sources, this.id, this.head, this.mint, this.maxt, into);
  }

  coded(): CodedSamples {
    const chunks: CodedChunk[] = [];
    for (const r of this.rows) {
      const c = r.codedChunk(this.id);
      if (c) chunks.push(c);
    }
    chunks.push(...this.headChunks);
    return { chunks, head: this.head, mint: this.mint, maxt: this.maxt };
  }

  get timestamps(): Float64Array {
    return (this.kept ??= this.samples()).timestamps;
  }

  get values(): Float64Array {
    return (this.kept ??= this.samples()).values;
  }
}

/** What mergeSamples reads of a chunk row. */
export type ChunkSource = Pick<ChunkRow, 'count' | 'decodeInto'>;

/**
 * Decodes a series' chunks and appends its head samples (sorted, already inside the window) into
 * one pair of arrays, trimmed to [mint, maxt]: views of `into` when it is large enough; with an
 * `into` too small, views of new arrays that hold every decoded sample (the caller's pool adopts
 * them and fits the next series); with no `into`, a copy of the window. A sample found both in a
 * row and in the head (cut between a head snapshot and the row read) is kept once; on equal
 * timestamps the head wins.
 */
export function mergeSamples(rows: readonly ChunkSource[], id: number, head: FloatSamples, mint: number, maxt: number, into?: FloatSamples): FloatSamples {
  let total = head.timestamps.length;
  for (const r of rows) total += r.count(id);
  // Without room given, decode into this thread's scratch and copy out only the window: a short
  // window (an instant query's 5 minutes) of a long chunk (a 2 h row) allocates its samples only.
  if (into === undefined && scratch.timestamps.length < total) {
    const size = Math.max(total, 2 * scratch.timestamps.length);
    scratch = { timestamps: new Float64Array(size), values: new Float64Array(size) };
  }
  const room = into === undefined ? scratch : into.timestamps.length >= total && into.values.length >= total ? into : { timestamps: new Float64Array(total), values: new Float64Array(total) };
  // Decoded into the room as it is (no views, no closure: this runs once per series and query).
  let ts = room.timestamps;
  let vs = room.values;
  let n = 0;
  let ordered = true;
  let nanFree = true;
  let rising = true;
  for (const r of rows) {
    const count = r.decodeInto(id, ts, vs, n);
    if (count === 0) continue;
    if (lastDecode.mayHoldNaN) nanFree = false;
    if (!lastDecode.rising || (n > 0 && vs[n]! < vs[n - 1]!)) rising = false;
    if (n > 0 && ts[n]! <= ts[n - 1]!) ordered = false;
    n += count;
  }
  if (head.timestamps.length > 0) {
    ts.set(head.timestamps, n);
    vs.set(head.values, n);
    for (let i = n, end = n + head.values.length; i < end; i++) {
      const v = vs[i]!;
      if (v !== v) nanFree = rising = false;
      else if (i > 0 && v < vs[i - 1]!) rising = false;
    }
    if (n > 0 && ts[n]! <= ts[n - 1]!) ordered = false;
    n += head.timestamps.length;
  }
  rising &&= ordered;
  if (!ordered) {
    ({ timestamps: ts, values: vs } = sortByTime(ts.subarray(0, n), vs.subarray(0, n))); // new arrays
    n = ts.length;
  }
  const lo = lowerBound(ts, mint, false, n);
  const hi = Math.max(lo, lowerBound(ts, maxt, true, n));
  if (room === scratch && ordered) return { timestamps: ts.slice(lo, hi), values: vs.slice(lo, hi), nanFree, rising };
  return lo === 0 && hi === ts.length ? { timestamps: ts, values: vs, nanFree, rising } : { timestamps: ts.subarray(lo, hi), values: vs.subarray(lo, hi), nanFree, rising };
}

/** mergeSamples' decoding space when its caller gives none (one call at a time on a thread; what it returns is copied out). */
let scratch: FloatSamples = { timestamps: new Float64Array(0), values: new Float64Array(0) };

/** Sorts samples by time (stable); of equal timestamps the later one (newer data) wins. */
function sortByTime(ts: Float64Array, vs: Float64Array): { timestamps: Float64Array; values: Float64Array } {
  const idx = Array.from({ length: ts.length }, (_, i) => i).sort((a, b) => ts[a]! - ts[b]! || b - a);
  const nt = new Float64Array(ts.length);
  const nv = new Float64Array(ts.length);
  let n = 0;
  for (const i of idx) {
    if (n > 0 && nt[n - 1] === ts[i]) continue;
    nt[n] = ts[i]!;
    nv[n++] = vs[i]!;
  }
  return { timestamps: nt.subarray(0, n), values: nv.subarray(0, n) };
}
