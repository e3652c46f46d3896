// Metric metadata (TYPE, HELP, UNIT) as remote write carries it: 1.0's WriteRequest.metadata and
// 2.0's per-series TimeSeries.metadata. Kept per workspace in memory and in one sealed row of the
// store, written only when something new arrived (a sender repeats the same metadata every minute).
import { ProtoError, ProtoReader, WIRE_LEN, WIRE_VARINT } from './proto';
import { L_LABEL_COUNT, L_LABELS_START, L_META_END, L_META_START, SeriesLayout } from './layout';
import type { Symbols } from './rw2';

export type MetricType = 'unknown' | 'counter' | 'gauge' | 'histogram' | 'gaugehistogram' | 'summary' | 'info' | 'stateset';

/** One entry as /api/v1/metadata shows it. */
export interface MetricMetadata {
  readonly type: MetricType;
  readonly help: string;
  readonly unit: string;
}

/** Both protocols number the types alike (1.0 MetricMetadata.MetricType, 2.0 Metadata.MetricType). */
const TYPES: readonly MetricType[] = ['unknown', 'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset'];

/** Distinct entries kept per metric (several targets may describe one metric differently). */
export const MAX_ENTRIES_PER_METRIC = 8;
/** Metric names kept per workspace; metadata of further names is not kept. */
export const MAX_METADATA_METRICS = 100_000;
/** Longer help or unit text is cut (Prometheus keeps it whole; this bounds the sealed row). */
const MAX_TEXT_CHARS = 4096;

export interface MetadataEntry extends MetricMetadata {
  readonly metric: string;
}

const text = (buf: Buffer, start: number, end: number): string | null => {
  const bytes = buf.subarray(start, end);
  const s = bytes.toString('utf8');
  if (s.includes('\ufffd') && !Buffer.from(s, 'utf8').equals(bytes)) return null;
  return s.length > MAX_TEXT_CHARS ? s.slice(0, MAX_TEXT_CHARS) : s;
};

/** The field just read by tag() is `field` with wire type `wire`. */
const isField = (r: ProtoReader, field: number, wire: number): boolean => r.field === field && r.wire === wire;

const metricType = (n: number): MetricType => TYPES[n] ?? 'unknown';

/** 1.0: every WriteRequest.metadata (field 3) of a body scanV1 already validated the framing of. */
export function metadataV1(buf: Buffer): MetadataEntry[] {
  const r = new ProtoReader(buf);
  const end = buf.length;
  const out: MetadataEntry[] = [];
  while (r.pos < end) {
    r.tag(end);
    if (!isField(r, 3, WIRE_LEN)) {
      r.skip(end);
      continue;
    }
    const e = r.lenEnd(end, 'WriteRequest.metadata');
    let type = 0;
    let metric: string | null = '';
    let help: string | null = '';
    let unit: string | null = '';
    while (r.pos < e) {
      r.tag(e);
      const field: number = r.field;
      const wire: number = r.wire;
      if (field === 1 && wire === WIRE_VARINT) type = r.varint(e);
      else if ((field === 2 || field === 4 || field === 5) && wire === WIRE_LEN) {
        const se = r.lenEnd(e, 'MetricMetadata');
        const s = text(buf, r.pos, se);
        if (field === 2) metric = s;
        else if (field === 4) help = s;
        else unit = s;
        r.pos = se;
      } else r.skip(e);
    }
    r.pos = e;
    if (metric && help !== null && unit !== null) out.push({ metric, type: metricType(type), help, unit });
  }
  return out;
}

/**
 * 2.0: the TimeSeries.metadata (type=1, help_ref=3, unit_ref=4) of every series, as scanV2 noted
 * them in `layout`, named by the series' __name__. Help and unit references were not checked by
 * scanV2: a bad one is a ProtoError.
 */
export function metadataV2(buf: Buffer, symbols: Symbols, layout: SeriesLayout): MetadataEntry[] {
  const out: MetadataEntry[] = [];
  // Every series carries its metadata, mostly the same few symbols: each is decoded once a request.
  const texts: (string | null | undefined)[] = new Array(symbols.count);
  const sym = (ref: number): string | null => {
    if (ref >= symbols.count) throw new ProtoError(`metadata reference ${ref} is out of range: the request has ${symbols.count} symbols`);
    let s = texts[ref];
    if (s === undefined) s = texts[ref] = text(buf, symbols.ranges[2 * ref]!, symbols.ranges[2 * ref + 1]!);
    return s;
  };
  // The same metadata again for the same metric name (every series of a metric, in 2.0) is
  // skipped before its strings are looked at: metric name reference → type, help and unit references.
  const seen = new Map<number, number>();
  const r = new ProtoReader(buf);
  const { rows, refs } = layout;
  for (let i = 0; i < layout.count; i++) {
    const at = i * SeriesLayout.ROW;
    const e = rows[at + L_META_END]!;
    if (e < 0) continue;
    let type = 0;
    let help = 0;
    let unit = 0;
    r.pos = rows[at + L_META_START]!;
    while (r.pos < e) {
      r.tag(e);
      const f: number = r.field;
      if (!isField(r, f, WIRE_VARINT)) r.skip(e);
      else if (f === 1) type = r.varint(e);
      else if (f === 3) help = r.varint(e);
      else if (f === 4) unit = r.varint(e);
      else r.skip(e);
    }
    // An unspecified type with no help and no unit says nothing.
    if (type === 0 && help === 0 && unit === 0) continue;
    let metricRef = -1;
    const from = rows[at + L_LABELS_START]!;
    for (let k = from; k + 1 < from + rows[at + L_LABEL_COUNT]!; k += 2) if (sym(refs[k]!) === '__name__') metricRef = refs[k + 1]!;
    if (metricRef < 0) continue;
    // Exact while help and unit references stay below 2^24 (a request of 16 M symbols is not one).
    const key = help < 2 ** 24 && unit < 2 ** 24 && type < 16 ? type + 16 * (help + 2 ** 24 * unit) : -1;
    if (key >= 0 && seen.get(metricRef) === key) continue;
    seen.set(metricRef, key);
    const metric = sym(metricRef);
    const helpText = sym(help);
    const unitText = sym(unit);
    if (metric && helpText !== null && unitText !== null) out.push({ metric, type: metricType(type), help: helpText, unit: unitText });
  }
  return out;
}

/** Where the table's sealed row is read and written (the workspace's store). */
export interface MetadataPersistence {
  read(): Buffer | null;
  write(plain: Buffer): void;
}

/** A workspace's metric metadata: metric name → distinct entries, newest last. */
export class MetadataTable {
  private readonly byMetric = new Map<string, MetricMetadata[]>();
  private loaded = false;

  constructor(private readonly persistence: MetadataPersistence) {}

  /** Adds entries; writes the sealed row once when any was new. Returns how many were new. */
  add(entries: readonly MetadataEntry[]): number {
    this.load();
    let added = 0;
    for (const { metric, type, help, unit } of entries) {
      let list = this.byMetric.get(metric);
      if (list === undefined) {
        if (this.byMetric.size >= MAX_METADATA_METRICS) continue;
        this.byMetric.set(metric, (list = []));
      }
      if (list.some((m) => m.type === type && m.help === help && m.unit === unit)) continue;
      list.push({ type, help, unit });
      if (list.length > MAX_ENTRIES_PER_METRIC) list.shift();
      added++;
    }
    if (added > 0) this.persistence.write(this.encode());
    return added;
  }

  /** Every metric's entries, or one metric's. */
  entries(metric?: string): [string, readonly MetricMetadata[]][] {
    this.load();
    if (metric !== undefined) {
      const list = this.byMetric.get(metric);
      return list ? [[metric, list]] : [];
    }
    return [...this.byMetric];
  }

  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    const plain = this.persistence.read();
    if (plain === null) return;
    const rows = JSON.parse(plain.toString('utf8')) as [string, [number, string, string][]][];
    for (const [metric, list] of rows) this.byMetric.set(metric, list.map(([t, help, unit]) => ({ type: metricType(t), help, unit })));
  }

  private encode(): Buffer {
    const rows = [...this.byMetric].map(([metric, list]) => [metric, list.map((m) => [TYPES.indexOf(m.type), m.help, m.unit])]);
    return Buffer.from(JSON.stringify(rows), 'utf8');
  }
}
