// Test and benchmark fixtures: a protobuf writer and remote-write 1.0/2.0 encoders written
// independently of main/ingest's decoder (only the field numbers are shared knowledge).
import { compress } from 'snappyjs';

export class ProtoWriter {
  private buf = Buffer.allocUnsafe(64);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const grown = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }

  /** A varint of any int64 (negatives as 10-byte two's complement) or raw bigint. */
  varint(v: number | bigint): this {
    this.room(10);
    if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) {
      for (; v >= 0x80; v = Math.floor(v / 0x80)) this.buf[this.length++] = (v % 0x80) | 0x80;
      this.buf[this.length++] = v;
      return this;
    }
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.buf[this.length++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.length++] = Number(x);
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }

  raw(bytes: Uint8Array): this {
    this.room(bytes.length);
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  bytes(field: number, bytes: Uint8Array): this {
    return this.tag(field, 2).varint(bytes.length).raw(bytes);
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  /** A double field; `bits` writes an exact bit pattern (NaN payloads). */
  double(field: number, v: number, bits?: bigint): this {
    this.tag(field, 1);
    this.room(8);
    if (bits !== undefined) this.buf.writeBigUInt64LE(bits, this.length);
    else this.buf.writeDoubleLE(v, this.length);
    this.length += 8;
    return this;
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

export interface SampleInput {
  t: number;
  v: number;
  /** Exact bits of the value, e.g. the stale marker. */
  bits?: bigint;
}

/** A native histogram as remote write carries it: integer (deltas) or float (absolute counts). */
export interface HistogramInput {
  t: number;
  schema: number;
  /** Integer histograms: count_int and bucket deltas; float: count_float and absolute counts. */
  float?: boolean;
  count: number;
  sum: number;
  /** Exact bits of the sum (the stale marker). */
  sumBits?: bigint;
  zeroThreshold?: number;
  zeroCount?: number;
  positiveSpans?: [number, number][];
  /** Absolute counts; the encoder turns them into deltas for integer histograms. */
  positive?: number[];
  negativeSpans?: [number, number][];
  negative?: number[];
  /** 0 unknown, 1 reset, 2 no reset, 3 gauge. */
  resetHint?: number;
  customValues?: number[];
  /** Send deltas as they are (for invalid inputs): overrides `positive` for integer histograms. */
  rawPositiveDeltas?: number[];
}

export interface SeriesInput {
  /** In the order to encode them (tests send unsorted sets on purpose). */
  labels: [string, string][];
  samples: SampleInput[];
  exemplars?: number;
  /** A number: that many minimal (empty, count 0) integer histograms at t = 1000 + i. */
  histograms?: number | HistogramInput[];
}

/** zigzag for sint32/sint64 fields. */
function zz(v: number): bigint {
  const b = BigInt(v);
  return b >= 0n ? b * 2n : -b * 2n - 1n;
}

/** The Histogram message (same field numbers in 1.0 and 2.0). */
export function encodeHistogram(w: ProtoWriter, h: HistogramInput): void {
  if (h.float) w.double(2, h.count);
  else w.tag(1, 0).varint(h.count);
  w.double(3, h.sum, h.sumBits);
  w.tag(4, 0).varint(zz(h.schema));
  if (h.zeroThreshold) w.double(5, h.zeroThreshold);
  if (h.float) w.double(7, h.zeroCount ?? 0);
  else w.tag(6, 0).varint(h.zeroCount ?? 0);
  const side = (spansField: number, deltasField: number, countsField: number, spans: [number, number][] | undefined, counts: number[] | undefined, raw?: number[]) => {
    for (const [offset, length] of spans ?? []) w.message(spansField, (m) => m.tag(1, 0).varint(zz(offset)).tag(2, 0).varint(length));
    if (h.float) {
      const packed = new ProtoWriter();
      for (const c of counts ?? []) packed.raw(new Uint8Array(new Float64Array([c]).buffer));
      if (counts?.length) w.bytes(countsField, packed.finish());
    } else {
      const packed = new ProtoWriter();
      let prev = 0;
      for (const c of raw ?? (counts ?? []).map((c) => [c - prev, (prev = c)][0]!)) packed.varint(zz(c));
      if ((raw ?? counts ?? []).length) w.bytes(deltasField, packed.finish());
    }
  };
  side(8, 9, 10, h.negativeSpans, h.negative);
  side(11, 12, 13, h.positiveSpans, h.positive, h.rawPositiveDeltas);
  if (h.resetHint) w.tag(14, 0).varint(h.resetHint);
  w.tag(15, 0).varint(h.t);
  if (h.customValues?.length) {
    const packed = new ProtoWriter();
    for (const c of h.customValues) packed.raw(new Uint8Array(new Float64Array([c]).buffer));
    w.bytes(16, packed.finish());
  }
}

function histogramsOf(s: SeriesInput): HistogramInput[] {
  if (typeof s.histograms === 'number') return Array.from({ length: s.histograms }, (_, i) => ({ t: 1000 + i, schema: 0, count: 0, sum: 0 }));
  return s.histograms ?? [];
}

/** prometheus.WriteRequest, not compressed. */
export function encodeV1(series: SeriesInput[], metadata = 0): Buffer {
  const w = new ProtoWriter();
  for (const s of series) {
    w.message(1, (ts) => {
      for (const [name, value] of s.labels) ts.message(1, (l) => l.string(1, name).string(2, value));
      for (const smp of s.samples) ts.message(2, (m) => m.double(1, smp.v, smp.bits).tag(2, 0).varint(smp.t));
      for (let i = 0; i < (s.exemplars ?? 0); i++) {
        ts.message(3, (e) => e.message(1, (l) => l.string(1, 'trace_id').string(2, `t${i}`)).double(2, i).tag(3, 0).varint(1000 + i));
      }
      for (const h of histogramsOf(s)) ts.message(4, (m) => encodeHistogram(m, h));
    });
  }
  for (let i = 0; i < metadata; i++) {
    w.message(3, (m) => m.tag(1, 0).varint(1).string(2, `metric_${i}`).string(4, 'help text').string(5, 'seconds'));
  }
  return w.finish();
}

/** io.prometheus.write.v2.Request, not compressed. */
export function encodeV2(series: SeriesInput[]): Buffer {
  const symbols: string[] = [''];
  const index = new Map<string, number>([['', 0]]);
  const ref = (s: string): number => {
    let i = index.get(s);
    if (i === undefined) {
      i = symbols.length;
      symbols.push(s);
      index.set(s, i);
    }
    return i;
  };
  const body = new ProtoWriter();
  for (const s of series) {
    const refs = new ProtoWriter();
    for (const [name, value] of s.labels) refs.varint(ref(name)).varint(ref(value));
    body.message(5, (ts) => {
      ts.bytes(1, refs.finish());
      for (const smp of s.samples) ts.message(2, (m) => m.double(1, smp.v, smp.bits).tag(2, 0).varint(smp.t));
      for (const h of histogramsOf(s)) ts.message(3, (m) => encodeHistogram(m, h));
      for (let i = 0; i < (s.exemplars ?? 0); i++) ts.message(4, (e) => e.bytes(1, new ProtoWriter().varint(ref('trace_id')).varint(ref(`t${i}`)).finish()).double(2, i).tag(3, 0).varint(1000 + i));
      ts.message(5, (m) => m.tag(1, 0).varint(1).tag(3, 0).varint(ref('help text')));
    });
  }
  const w = new ProtoWriter();
  for (const s of symbols) w.string(4, s);
  return Buffer.concat([w.finish(), body.finish()]);
}

/** Snappy block format, as remote write sends it. */
export function snappy(raw: Buffer): Buffer {
  return compress(raw);
}

export const V1_TYPE = 'application/x-protobuf';
export const V2_TYPE = 'application/x-protobuf;proto=io.prometheus.write.v2.Request';
