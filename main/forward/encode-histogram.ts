// One native-histogram sample as remote write's Histogram message (1.0 and 2.0 share it). The
// integer form (count_int, delta-coded buckets) is used whenever every count is a whole number,
// as Prometheus's own sender does: Prometheus 2.42's receiver reads only that form. Other
// histograms (rates from recording rules, float histograms sent to Ampule) go in the float form.
import { HISTOGRAM_FIELDS as F, RESET_HINTS } from '../ingest/histogram-proto';
import { ByteWriter } from '../tsdb/bytes';
import type { FloatHistogram, Span } from '../tsdb/histogram';

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;

function tag(w: ByteWriter, field: number, wire: number): void {
  w.varint(field * 8 + wire);
}

/** An int64 varint: a timestamp before 1970 goes as ten bytes of two's complement. */
function int64(w: ByteWriter, n: number): void {
  if (n >= 0) return w.varint(n);
  let x = BigInt.asUintN(64, BigInt(n));
  for (let i = 0; i < 9; i++, x >>= 7n) w.byte(Number(x & 0x7fn) | 0x80);
  w.byte(Number(x));
}

/** A length-delimited field whose content `body` writes (into `inner`, then copied: contents are small). */
const inner = new ByteWriter(256);
function nested(w: ByteWriter, field: number, body: (inner: ByteWriter) => void): void {
  inner.reset();
  body(inner);
  tag(w, field, WIRE_LEN);
  w.varint(inner.len);
  w.bytes(inner.written());
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** Whether Prometheus's integer histogram can carry `h` exactly. */
export function isIntegerHistogram(h: FloatHistogram): boolean {
  return isCount(h.count) && isCount(h.zeroCount) && h.positiveBuckets.every(isCount) && h.negativeBuckets.every(isCount);
}

function spans(w: ByteWriter, field: number, list: readonly Span[]): void {
  for (const s of list) {
    nested(w, field, (b) => {
      if (s.offset !== 0) {
        tag(b, F.SPAN_OFFSET, WIRE_VARINT);
        b.svarint(s.offset);
      }
      if (s.length !== 0) {
        tag(b, F.SPAN_LENGTH, WIRE_VARINT);
        b.varint(s.length);
      }
    });
  }
}

/** Bucket counts: the integer form as zigzag deltas, the float form as doubles (both packed). */
function buckets(w: ByteWriter, integer: boolean, deltasField: number, countsField: number, counts: readonly number[]): void {
  if (counts.length === 0) return;
  nested(w, integer ? deltasField : countsField, (b) => {
    let prev = 0;
    for (const c of counts) {
      if (integer) b.svarint(c - prev);
      else b.float64(c);
      prev = c;
    }
  });
}

/** A count in the integer field as a varint or in the float field as a double. */
function count(w: ByteWriter, integer: boolean, intField: number, floatField: number, v: number): void {
  if (integer) {
    tag(w, intField, WIRE_VARINT);
    w.varint(v);
  } else {
    tag(w, floatField, WIRE_FIXED64);
    w.float64(v);
  }
}

function double(w: ByteWriter, field: number, v: number): void {
  tag(w, field, WIRE_FIXED64);
  w.float64(v);
}

const writer = new ByteWriter(256);

/** The Histogram message of `h` at time `t` (ms), without its own tag and length; a fresh Buffer. */
export function encodeHistogram(h: FloatHistogram, t: number): Buffer {
  const w = writer;
  w.reset();
  const integer = isIntegerHistogram(h);
  count(w, integer, F.COUNT_INT, F.COUNT_FLOAT, h.count);
  double(w, F.SUM, h.sum);
  tag(w, F.SCHEMA, WIRE_VARINT);
  w.svarint(h.schema);
  double(w, F.ZERO_THRESHOLD, h.zeroThreshold);
  count(w, integer, F.ZERO_COUNT_INT, F.ZERO_COUNT_FLOAT, h.zeroCount);
  spans(w, F.NEGATIVE_SPANS, h.negativeSpans);
  buckets(w, integer, F.NEGATIVE_DELTAS, F.NEGATIVE_COUNTS, h.negativeBuckets);
  spans(w, F.POSITIVE_SPANS, h.positiveSpans);
  buckets(w, integer, F.POSITIVE_DELTAS, F.POSITIVE_COUNTS, h.positiveBuckets);
  const hint = RESET_HINTS.indexOf(h.counterResetHint);
  if (hint > 0) {
    tag(w, F.RESET_HINT, WIRE_VARINT);
    w.varint(hint);
  }
  tag(w, F.TIMESTAMP, WIRE_VARINT);
  int64(w, t);
  if (h.customValues && h.customValues.length > 0) {
    nested(w, F.CUSTOM_VALUES, (b) => {
      for (const v of h.customValues!) b.float64(v);
    });
  }
  return w.toBuffer();
}
