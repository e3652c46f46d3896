// A native histogram in a log record (and a backup payload): byte-aligned and self-contained,
// counts in the log's short integer/decimal value code, sum and bounds as raw float64 (stale
// markers stay bit-exact). Chunk rows use the column coding of ./histogram-chunk instead.
import { ByteReader, ByteWriter, readValue, writeValue } from './bytes';
import { sameBits } from './histogram-chunk';
import { CUSTOM_BUCKETS_SCHEMA, type CounterResetHint, type FloatHistogram, type Span } from './histogram';

const HINTS: readonly CounterResetHint[] = ['unknown', 'reset', 'not_reset', 'gauge'];

export function writeHistogram(w: ByteWriter, h: FloatHistogram): void {
  const custom = h.customValues;
  w.byte(HINTS.indexOf(h.counterResetHint) | (custom ? 4 : 0));
  w.svarint(h.schema);
  w.float64(h.zeroThreshold);
  writeValue(w, h.zeroCount);
  writeValue(w, h.count);
  w.float64(h.sum);
  writeSide(w, h.positiveSpans, h.positiveBuckets);
  writeSide(w, h.negativeSpans, h.negativeBuckets);
  if (custom) {
    w.varint(custom.length);
    for (const v of custom) w.float64(v);
  }
}

function writeSide(w: ByteWriter, spans: readonly Span[], buckets: readonly number[]): void {
  w.varint(spans.length);
  for (const s of spans) (w.svarint(s.offset), w.varint(s.length));
  w.varint(buckets.length);
  for (const b of buckets) writeValue(w, b);
}

export function readHistogram(r: ByteReader): FloatHistogram {
  const flags = r.byte();
  const hint = HINTS[flags & 3]!;
  const schema = r.svarint();
  const zeroThreshold = r.float64();
  const zeroCount = readValue(r);
  const count = readValue(r);
  const sum = r.float64();
  const [positiveSpans, positiveBuckets] = readSide(r);
  const [negativeSpans, negativeBuckets] = readSide(r);
  const h = { counterResetHint: hint, schema, zeroThreshold, zeroCount, count, sum, positiveSpans, positiveBuckets, negativeSpans, negativeBuckets };
  if ((flags & 4) === 0) return h;
  const customValues: number[] = [];
  for (let n = r.varint(); n > 0; n--) customValues.push(r.float64());
  return { ...h, customValues };
}

function readSide(r: ByteReader): [Span[], number[]] {
  const spans: Span[] = [];
  for (let n = r.varint(); n > 0; n--) spans.push({ offset: r.svarint(), length: r.varint() });
  const buckets: number[] = [];
  for (let n = r.varint(); n > 0; n--) buckets.push(readValue(r));
  return [spans, buckets];
}

/**
 * The same histogram (for duplicate detection): equal fields, floats by bit pattern, and the same
 * buckets once empty ones are ignored (a stored histogram may carry empty buckets of its chunk's layout).
 */
export function sameHistogram(a: FloatHistogram, b: FloatHistogram): boolean {
  if (a.schema !== b.schema || a.counterResetHint !== b.counterResetHint) return false;
  if (!sameBits(a.zeroThreshold, b.zeroThreshold) || !sameBits(a.zeroCount, b.zeroCount) || !sameBits(a.count, b.count) || !sameBits(a.sum, b.sum)) return false;
  if (a.schema === CUSTOM_BUCKETS_SCHEMA) {
    const ca = a.customValues ?? [], cb = b.customValues ?? [];
    if (ca.length !== cb.length || ca.some((v, i) => !sameBits(v, cb[i]!))) return false;
  }
  return sameSide(a.positiveSpans, a.positiveBuckets, b.positiveSpans, b.positiveBuckets) && sameSide(a.negativeSpans, a.negativeBuckets, b.negativeSpans, b.negativeBuckets);
}

function nonEmpty(spans: readonly Span[], buckets: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  let idx = 0, k = 0;
  for (const s of spans) {
    idx += s.offset;
    for (let j = 0; j < s.length; j++, k++) if (buckets[k] !== 0) out.set(idx + j, buckets[k]!);
    idx += s.length;
  }
  return out;
}

function sameSide(sa: readonly Span[], ba: readonly number[], sb: readonly Span[], bb: readonly number[]): boolean {
  const a = nonEmpty(sa, ba), b = nonEmpty(sb, bb);
  if (a.size !== b.size) return false;
  for (const [i, v] of a) if (!b.has(i) || !sameBits(v, b.get(i)!)) return false;
  return true;
}
