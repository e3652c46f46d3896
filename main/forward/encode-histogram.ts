// One native-histogram sample as remote write's Histogram message (1.0 and 2.0 share it). The
// integer form (count_int, delta-coded buckets) is used whenever every count is a whole number,
// as Prometheus's own sender does: Prometheus 2.42's receiver reads only that form. Other
// histograms (rates from recording rules, float histograms sent to Ampule) go in the float form.
import { HISTOGRAM_FIELDS as F, RESET_HINTS } from '../ingest/histogram-proto';
import type { FloatHistogram, Span } from '../tsdb/histogram';

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;

/** A small growable protobuf writer (histograms are few next to floats; clarity over speed here). */
class Writer {
  buf = Buffer.allocUnsafe(256);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.pos + n, 2 * this.buf.length));
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** A non-negative integer up to 2^64, or a negative int64 as ten bytes of two's complement. */
  varint(n: number): void {
    this.room(10);
    if (n < 0) {
      let x = BigInt.asUintN(64, BigInt(n));
      for (let i = 0; i < 9; i++) {
        this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
        x >>= 7n;
      }
      this.buf[this.pos++] = Number(x);
      return;
    }
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  zigzag(n: number): void {
    this.varint(n >= 0 ? 2 * n : -2 * n - 1);
  }

  double(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** A length-delimited field whose content `body` writes. */
  nested(field: number, body: () => void): void {
    this.tag(field, WIRE_LEN);
    this.room(1);
    const lenAt = this.pos;
    this.pos += 1; // most contents are under 128 bytes: reserve one length byte, shift if not
    body();
    const len = this.pos - lenAt - 1;
    if (len < 0x80) {
      this.buf[lenAt] = len;
      return;
    }
    const content = Buffer.from(this.buf.subarray(lenAt + 1, this.pos));
    this.pos = lenAt;
    this.varint(len);
    this.room(len);
    content.copy(this.buf, this.pos);
    this.pos += len;
  }
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** Whether Prometheus's integer histogram can carry `h` exactly. */
export function isIntegerHistogram(h: FloatHistogram): boolean {
  return isCount(h.count) && isCount(h.zeroCount) && h.positiveBuckets.every(isCount) && h.negativeBuckets.every(isCount);
}

function spans(w: Writer, field: number, list: readonly Span[]): void {
  for (const s of list) {
    w.nested(field, () => {
      if (s.offset !== 0) {
        w.tag(F.SPAN_OFFSET, WIRE_VARINT);
        w.zigzag(s.offset);
      }
      if (s.length !== 0) {
        w.tag(F.SPAN_LENGTH, WIRE_VARINT);
        w.varint(s.length);
      }
    });
  }
}

function deltas(w: Writer, field: number, buckets: readonly number[]): void {
  if (buckets.length === 0) return;
  w.nested(field, () => {
    let prev = 0;
    for (const b of buckets) {
      w.zigzag(b - prev);
      prev = b;
    }
  });
}

function doubles(w: Writer, field: number, values: readonly number[]): void {
  if (values.length === 0) return;
  w.nested(field, () => {
    for (const v of values) w.double(v);
  });
}

const writer = new Writer();

/** The Histogram message of `h` at time `t` (ms), without its own tag and length; a fresh Buffer. */
export function encodeHistogram(h: FloatHistogram, t: number): Buffer {
  const w = writer;
  w.pos = 0;
  const integer = isIntegerHistogram(h);
  if (integer) {
    w.tag(F.COUNT_INT, WIRE_VARINT);
    w.varint(h.count);
  } else {
    w.tag(F.COUNT_FLOAT, WIRE_FIXED64);
    w.double(h.count);
  }
  w.tag(F.SUM, WIRE_FIXED64);
  w.double(h.sum);
  w.tag(F.SCHEMA, WIRE_VARINT);
  w.zigzag(h.schema);
  w.tag(F.ZERO_THRESHOLD, WIRE_FIXED64);
  w.double(h.zeroThreshold);
  if (integer) {
    w.tag(F.ZERO_COUNT_INT, WIRE_VARINT);
    w.varint(h.zeroCount);
  } else {
    w.tag(F.ZERO_COUNT_FLOAT, WIRE_FIXED64);
    w.double(h.zeroCount);
  }
  spans(w, F.NEGATIVE_SPANS, h.negativeSpans);
  if (integer) deltas(w, F.NEGATIVE_DELTAS, h.negativeBuckets);
  else doubles(w, F.NEGATIVE_COUNTS, h.negativeBuckets);
  spans(w, F.POSITIVE_SPANS, h.positiveSpans);
  if (integer) deltas(w, F.POSITIVE_DELTAS, h.positiveBuckets);
  else doubles(w, F.POSITIVE_COUNTS, h.positiveBuckets);
  const hint = RESET_HINTS.indexOf(h.counterResetHint);
  if (hint > 0) {
    w.tag(F.RESET_HINT, WIRE_VARINT);
    w.varint(hint);
  }
  w.tag(F.TIMESTAMP, WIRE_VARINT);
  w.varint(t);
  if (h.customValues && h.customValues.length > 0) doubles(w, F.CUSTOM_VALUES, h.customValues);
  return Buffer.from(w.buf.subarray(0, w.pos));
}
