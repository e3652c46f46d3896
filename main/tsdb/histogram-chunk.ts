// One series' native-histogram samples in one time bucket as a bit stream. Samples are split
// into segments of equal bucket layout (schema, zero threshold, custom bounds); inside a segment
// every sample is laid out on the union of the segment's buckets (a bucket a sample lacks counts
// 0, which is the same histogram: Prometheus's chunks re-code to a superset layout the same way),
// so each bucket is one column of numbers over time. Each column — zero count, sum, every bucket —
// is coded with the float chunk's value coding (./chunkenc: scaled integers as deltas or
// deltas-of-deltas with a per-column prefix code, else Gorilla XOR), which keeps every float64 bit
// pattern (stale markers in `sum` survive). The count is left out when it is the sum of the
// buckets for every sample of the segment (the normal case for integer histograms).
//
// Layout: n, timestamps column; then segments until n samples: length, schema, zero threshold,
// custom bounds, reset hints, positive and negative union spans, count flag, columns.
import { BitReader, BitWriter, unzigzag, zigzag } from './bitstream';
import { readValues, writeValues } from './chunkenc';
import { CUSTOM_BUCKETS_SCHEMA, type CounterResetHint, type FloatHistogram, type Span } from './histogram';

const HINTS: readonly CounterResetHint[] = ['unknown', 'reset', 'not_reset', 'gauge'];

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function writeFloat(w: BitWriter, v: number): void {
  f64[0] = v;
  w.writeWord64(u32[1]!, u32[0]!);
}

function readFloat(r: BitReader): number {
  u32[1] = r.readBits(32);
  u32[0] = r.readBits(32);
  return f64[0]!;
}

/** Same float64 bit pattern (so NaN payloads and -0 count as different values). */
export function sameBits(a: number, b: number): boolean {
  f64[0] = a;
  const h = u32[1], l = u32[0];
  f64[0] = b;
  return h === u32[1] && l === u32[0];
}

function sameLayout(a: FloatHistogram, b: FloatHistogram): boolean {
  if (a.schema !== b.schema || !sameBits(a.zeroThreshold, b.zeroThreshold)) return false;
  const ca = a.customValues ?? [], cb = b.customValues ?? [];
  if (ca.length !== cb.length) return false;
  for (let i = 0; i < ca.length; i++) if (!sameBits(ca[i]!, cb[i]!)) return false;
  return true;
}

/** Bucket indices of a side's spans, in order. */
export function bucketIndices(spans: readonly Span[]): number[] {
  const out: number[] = [];
  let idx = 0;
  for (const s of spans) {
    idx += s.offset;
    for (let k = 0; k < s.length; k++) out.push(idx + k);
    idx += s.length;
  }
  return out;
}

/** Spans covering sorted, distinct bucket indices. */
export function spansOf(indices: readonly number[]): Span[] {
  const spans: { offset: number; length: number }[] = [];
  let end = 0;
  for (let i = 0; i < indices.length; i++) {
    const x = indices[i]!;
    if (spans.length > 0 && x === end) spans[spans.length - 1]!.length++;
    else spans.push({ offset: spans.length === 0 ? x : x - end, length: 1 });
    end = x + 1;
  }
  return spans;
}

/** The count a histogram's buckets add up to, computed the same way when encoding and decoding. */
function bucketTotal(h: FloatHistogram): number {
  let n = h.zeroCount;
  for (const b of h.positiveBuckets) n += b;
  for (const b of h.negativeBuckets) n += b;
  return n;
}

export function encodeHistogramChunk(w: BitWriter, ts: ArrayLike<number>, hs: readonly FloatHistogram[], bucketStart: number): void {
  const n = ts.length;
  w.writeVar(n);
  const rel = new Float64Array(n);
  for (let i = 0; i < n; i++) rel[i] = ts[i]! - bucketStart;
  writeValues(w, rel, 0, n);
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && sameLayout(hs[i]!, hs[j]!)) j++;
    writeSegment(w, hs, i, j);
    i = j;
  }
}

function union(hs: readonly FloatHistogram[], from: number, to: number, side: 'positiveSpans' | 'negativeSpans'): number[] {
  const set = new Set<number>();
  for (let i = from; i < to; i++) for (const x of bucketIndices(hs[i]![side])) set.add(x);
  return [...set].sort((a, b) => a - b);
}

function writeSpans(w: BitWriter, spans: readonly Span[]): void {
  w.writeVar(spans.length);
  for (const s of spans) {
    w.writeVar(zigzag(s.offset));
    w.writeVar(s.length);
  }
}

function readSpans(r: BitReader): Span[] {
  const out: Span[] = [];
  for (let k = r.readVar(); k > 0; k--) out.push({ offset: unzigzag(r.readVar()), length: r.readVar() });
  return out;
}

function writeSegment(w: BitWriter, hs: readonly FloatHistogram[], from: number, to: number): void {
  const m = to - from;
  const first = hs[from]!;
  w.writeVar(m);
  w.writeVar(zigzag(first.schema));
  if (first.zeroThreshold === 0 && 1 / first.zeroThreshold > 0) w.writeBit(0);
  else {
    w.writeBit(1);
    writeFloat(w, first.zeroThreshold);
  }
  const custom = first.customValues ?? [];
  w.writeVar(custom.length);
  for (const v of custom) writeFloat(w, v);
  const hint0 = HINTS.indexOf(first.counterResetHint);
  let sameHint = true;
  for (let i = from; i < to; i++) if (hs[i]!.counterResetHint !== first.counterResetHint) sameHint = false;
  w.writeBit(sameHint ? 1 : 0);
  if (sameHint) w.writeBits(hint0, 2);
  else for (let i = from; i < to; i++) w.writeBits(HINTS.indexOf(hs[i]!.counterResetHint), 2);

  const pos = union(hs, from, to, 'positiveSpans');
  const neg = union(hs, from, to, 'negativeSpans');
  writeSpans(w, spansOf(pos));
  writeSpans(w, spansOf(neg));
  let derived = true;
  for (let i = from; i < to && derived; i++) if (!sameBits(hs[i]!.count, bucketTotal(hs[i]!))) derived = false;
  w.writeBit(derived ? 1 : 0);

  const col = new Float64Array(m);
  const put = (get: (h: FloatHistogram) => number): void => {
    for (let i = 0; i < m; i++) col[i] = get(hs[from + i]!);
    writeValues(w, col, 0, m);
  };
  put((h) => h.zeroCount);
  if (!derived) put((h) => h.count);
  put((h) => h.sum);
  // Columns of buckets: each sample's buckets placed at their union position (absent = 0).
  for (const [side, spansKey, bucketsKey] of [
    [pos, 'positiveSpans', 'positiveBuckets'],
    [neg, 'negativeSpans', 'negativeBuckets'],
  ] as const) {
    if (side.length === 0) continue;
    const at = new Map(side.map((x, k) => [x, k]));
    const grid = new Float64Array(side.length * m);
    for (let i = 0; i < m; i++) {
      const h = hs[from + i]!;
      const idx = bucketIndices(h[spansKey]);
      const b = h[bucketsKey];
      for (let k = 0; k < idx.length; k++) grid[at.get(idx[k]!)! * m + i] = b[k]!;
    }
    for (let c = 0; c < side.length; c++) writeValues(w, grid, c * m, (c + 1) * m);
  }
}

export function histogramChunkCount(buf: Uint8Array, byteOffset: number): number {
  return new BitReader(buf, byteOffset).readVar();
}

export function decodeHistogramChunk(buf: Uint8Array, byteOffset: number, bucketStart: number): { timestamps: Float64Array; values: FloatHistogram[] } {
  const r = new BitReader(buf, byteOffset);
  const n = r.readVar();
  const timestamps = new Float64Array(n);
  readValues(r, timestamps, 0, n);
  for (let i = 0; i < n; i++) timestamps[i] = timestamps[i]! + bucketStart;
  const values: FloatHistogram[] = [];
  while (values.length < n) {
    const m = r.readVar();
    if (m === 0 || values.length + m > n) throw new RangeError(`histogram chunk segment of ${m} samples does not fit the chunk's ${n}`);
    readSegment(r, m, values);
  }
  return { timestamps, values };
}

function readSegment(r: BitReader, m: number, out: FloatHistogram[]): void {
  const schema = unzigzag(r.readVar());
  const zeroThreshold = r.readBit() === 1 ? readFloat(r) : 0;
  const customCount = r.readVar();
  const custom: number[] = [];
  for (let k = 0; k < customCount; k++) custom.push(readFloat(r));
  const hints: CounterResetHint[] = [];
  if (r.readBit() === 1) {
    const h = HINTS[r.readBits(2)]!;
    for (let i = 0; i < m; i++) hints.push(h);
  } else for (let i = 0; i < m; i++) hints.push(HINTS[r.readBits(2)]!);
  const positiveSpans = readSpans(r);
  const negativeSpans = readSpans(r);
  const derived = r.readBit() === 1;
  const read = (): Float64Array => {
    const col = new Float64Array(m);
    readValues(r, col, 0, m);
    return col;
  };
  const zero = read();
  const count = derived ? null : read();
  const sum = read();
  const width = (spans: Span[]) => spans.reduce((a, s) => a + s.length, 0);
  const pos = Array.from({ length: width(positiveSpans) }, read);
  const neg = Array.from({ length: width(negativeSpans) }, read);
  for (let i = 0; i < m; i++) {
    const h: FloatHistogram = {
      counterResetHint: hints[i]!,
      schema,
      zeroThreshold,
      zeroCount: zero[i]!,
      count: 0,
      sum: sum[i]!,
      positiveSpans,
      negativeSpans,
      positiveBuckets: pos.map((c) => c[i]!),
      negativeBuckets: neg.map((c) => c[i]!),
      ...(schema === CUSTOM_BUCKETS_SCHEMA || customCount > 0 ? { customValues: custom } : {}),
    };
    out.push({ ...h, count: count ? count[i]! : bucketTotal(h) });
  }
}
