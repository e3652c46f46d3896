// Remote write's Histogram message (1.0 prometheus.Histogram and 2.0 io.prometheus.write.v2.Histogram
// share the field numbers) decoded into the store's FloatHistogram: integer histograms' delta-coded
// buckets become absolute counts. `decodeHistogram` refuses malformed wire data (a ProtoError: the
// whole body is refused); `histogramProblem` then checks the histogram as Prometheus's
// model/histogram Validate does (a refusal of that sample only, naming the rule).
import { CUSTOM_BUCKETS_SCHEMA, MAX_EXPONENTIAL_SCHEMA, MIN_EXPONENTIAL_SCHEMA, type CounterResetHint, type FloatHistogram, type Span } from '../tsdb/histogram';
import { ProtoError, ProtoReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './proto';

const COUNT_INT = 1;
const COUNT_FLOAT = 2;
const SUM = 3;
const SCHEMA = 4;
const ZERO_THRESHOLD = 5;
const ZERO_COUNT_INT = 6;
const ZERO_COUNT_FLOAT = 7;
const NEGATIVE_SPANS = 8;
const NEGATIVE_DELTAS = 9;
const NEGATIVE_COUNTS = 10;
const POSITIVE_SPANS = 11;
const POSITIVE_DELTAS = 12;
const POSITIVE_COUNTS = 13;
const RESET_HINT = 14;
const TIMESTAMP = 15;
const CUSTOM_VALUES = 16;
const SPAN_OFFSET = 1;
const SPAN_LENGTH = 2;

const HINTS: readonly CounterResetHint[] = ['unknown', 'reset', 'not_reset', 'gauge'];
/** Longest span a histogram may claim: far beyond any real schema's bucket range, and it bounds memory. */
const MAX_SPAN_LENGTH = 1 << 16;

export interface DecodedHistogram {
  readonly t: number;
  readonly h: FloatHistogram;
  /** Sent as an integer histogram (count_int): its count must match its buckets. */
  readonly integer: boolean;
}

interface Raw {
  countInt: number | null;
  countFloat: number | null;
  sum: number;
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  negativeSpans: Span[];
  positiveSpans: Span[];
  negativeDeltas: number[];
  positiveDeltas: number[];
  negativeCounts: number[];
  positiveCounts: number[];
  hint: number;
  t: number;
  customValues: number[];
}

function zigzag64(r: ProtoReader, end: number, what: string): number {
  const z = r.varint(end);
  if (z > Number.MAX_SAFE_INTEGER) throw new ProtoError(`${what} is out of range`);
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

function uint64(r: ProtoReader, end: number, what: string): number {
  const v = r.varint(end);
  if (v > Number.MAX_SAFE_INTEGER) throw new ProtoError(`${what} ${v} is beyond 2^53`);
  return v;
}

/** A repeated scalar, packed or not. */
function repeated(r: ProtoReader, end: number, out: number[], wire: number, read: (e: number) => number, what: string): void {
  if (r.wire === WIRE_LEN) {
    const e = r.lenEnd(end, what);
    while (r.pos < e) out.push(read(e));
    if (r.pos !== e) throw new ProtoError(`${what} packed field ends inside a value`);
    return;
  }
  r.expect(wire, what);
  out.push(read(end));
}

function span(r: ProtoReader, end: number, what: string): Span {
  r.expect(WIRE_LEN, what);
  const e = r.lenEnd(end, what);
  let offset = 0;
  let length = 0;
  while (r.pos < e) {
    r.tag(e);
    if (r.field === SPAN_OFFSET) {
      r.expect(WIRE_VARINT, `${what}.offset`);
      const z = r.varint(e);
      if (z > 0xffffffff) throw new ProtoError(`${what}.offset is out of range`);
      offset = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    } else if (r.field === SPAN_LENGTH) {
      r.expect(WIRE_VARINT, `${what}.length`);
      length = r.varint(e);
      if (length > MAX_SPAN_LENGTH) throw new ProtoError(`${what}.length ${length} is over ${MAX_SPAN_LENGTH}`);
    } else r.skip(e);
  }
  return { offset, length };
}

/** Decodes one Histogram message occupying [r.pos, end). */
export function decodeHistogram(r: ProtoReader, end: number): DecodedHistogram {
  const raw: Raw = {
    countInt: null, countFloat: null, sum: 0, schema: 0, zeroThreshold: 0, zeroCount: 0,
    negativeSpans: [], positiveSpans: [], negativeDeltas: [], positiveDeltas: [], negativeCounts: [], positiveCounts: [],
    hint: 0, t: 0, customValues: [],
  };
  let zeroCountFloat: number | null = null;
  let zeroCountInt = 0;
  const dbl = (e: number) => r.double(e);
  while (r.pos < end) {
    r.tag(end);
    switch (r.field) {
      case COUNT_INT:
        r.expect(WIRE_VARINT, 'Histogram.count_int');
        raw.countInt = uint64(r, end, 'Histogram.count_int');
        raw.countFloat = null;
        break;
      case COUNT_FLOAT:
        r.expect(WIRE_FIXED64, 'Histogram.count_float');
        raw.countFloat = r.double(end);
        raw.countInt = null;
        break;
      case SUM:
        r.expect(WIRE_FIXED64, 'Histogram.sum');
        raw.sum = r.double(end);
        break;
      case SCHEMA: {
        r.expect(WIRE_VARINT, 'Histogram.schema');
        const z = r.varint(end);
        if (z > 0xffffffff) throw new ProtoError('Histogram.schema is out of range');
        raw.schema = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
        break;
      }
      case ZERO_THRESHOLD:
        r.expect(WIRE_FIXED64, 'Histogram.zero_threshold');
        raw.zeroThreshold = r.double(end);
        break;
      case ZERO_COUNT_INT:
        r.expect(WIRE_VARINT, 'Histogram.zero_count_int');
        zeroCountInt = uint64(r, end, 'Histogram.zero_count_int');
        zeroCountFloat = null;
        break;
      case ZERO_COUNT_FLOAT:
        r.expect(WIRE_FIXED64, 'Histogram.zero_count_float');
        zeroCountFloat = r.double(end);
        break;
      case NEGATIVE_SPANS:
        raw.negativeSpans.push(span(r, end, 'Histogram.negative_spans'));
        break;
      case POSITIVE_SPANS:
        raw.positiveSpans.push(span(r, end, 'Histogram.positive_spans'));
        break;
      case NEGATIVE_DELTAS:
        repeated(r, end, raw.negativeDeltas, WIRE_VARINT, (e) => zigzag64(r, e, 'Histogram.negative_deltas'), 'Histogram.negative_deltas');
        break;
      case POSITIVE_DELTAS:
        repeated(r, end, raw.positiveDeltas, WIRE_VARINT, (e) => zigzag64(r, e, 'Histogram.positive_deltas'), 'Histogram.positive_deltas');
        break;
      case NEGATIVE_COUNTS:
        repeated(r, end, raw.negativeCounts, WIRE_FIXED64, dbl, 'Histogram.negative_counts');
        break;
      case POSITIVE_COUNTS:
        repeated(r, end, raw.positiveCounts, WIRE_FIXED64, dbl, 'Histogram.positive_counts');
        break;
      case RESET_HINT:
        r.expect(WIRE_VARINT, 'Histogram.reset_hint');
        raw.hint = r.varint(end);
        break;
      case TIMESTAMP:
        r.expect(WIRE_VARINT, 'Histogram.timestamp');
        raw.t = r.int64(end, 'Histogram.timestamp');
        break;
      case CUSTOM_VALUES:
        repeated(r, end, raw.customValues, WIRE_FIXED64, dbl, 'Histogram.custom_values');
        break;
      default:
        // Unknown fields (2.0's start timestamp among them) are skipped, as protobuf requires.
        r.skip(end);
    }
  }
  const integer = raw.countFloat === null;
  raw.zeroCount = integer ? zeroCountInt : (zeroCountFloat ?? zeroCountInt);
  return { t: raw.t, h: toFloatHistogram(raw, integer), integer };
}

function absolute(deltas: readonly number[]): number[] {
  const out: number[] = [];
  let c = 0;
  for (const d of deltas) out.push((c += d));
  return out;
}

function toFloatHistogram(raw: Raw, integer: boolean): FloatHistogram {
  const h: FloatHistogram = {
    counterResetHint: HINTS[raw.hint] ?? 'unknown',
    schema: raw.schema,
    zeroThreshold: raw.zeroThreshold,
    zeroCount: raw.zeroCount,
    count: integer ? (raw.countInt ?? 0) : raw.countFloat!,
    sum: raw.sum,
    positiveSpans: raw.positiveSpans,
    negativeSpans: raw.negativeSpans,
    positiveBuckets: integer ? absolute(raw.positiveDeltas) : raw.positiveCounts,
    negativeBuckets: integer ? absolute(raw.negativeDeltas) : raw.negativeCounts,
  };
  return raw.schema === CUSTOM_BUCKETS_SCHEMA || raw.customValues.length > 0 ? { ...h, customValues: raw.customValues } : h;
}

function spansProblem(spans: readonly Span[], buckets: number, custom: boolean): string | null {
  let need = 0;
  for (let n = 0; n < spans.length; n++) {
    const s = spans[n]!;
    if ((n > 0 || custom) && s.offset < 0) return `span number ${n + 1} with offset ${s.offset}: histogram has a span whose offset is negative`;
    need += s.length;
  }
  if (need !== buckets) return `spans need ${need} buckets, have ${buckets} buckets: histogram spans specify different number of buckets than provided`;
  return null;
}

function bucketsProblem(buckets: readonly number[]): string | null {
  for (let i = 0; i < buckets.length; i++) {
    if (buckets[i]! < 0) return `bucket number ${i + 1} has observation count of ${buckets[i]}: histogram has a bucket whose observation count is negative`;
  }
  return null;
}

/**
 * Why Prometheus would refuse this histogram (the rule, in its words), or null. Integer histograms
 * must count exactly what their buckets hold (at least that when the sum is NaN); float
 * histograms are not held to it (rounding), as in Prometheus.
 */
export function histogramProblem({ h, integer }: DecodedHistogram): string | null {
  const custom = h.schema === CUSTOM_BUCKETS_SCHEMA;
  if (!custom && (h.schema < MIN_EXPONENTIAL_SCHEMA || h.schema > MAX_EXPONENTIAL_SCHEMA)) {
    return `histogram has an invalid schema ${h.schema}: it must be between ${MIN_EXPONENTIAL_SCHEMA} and ${MAX_EXPONENTIAL_SCHEMA}, or ${CUSTOM_BUCKETS_SCHEMA} (custom buckets)`;
  }
  if (custom) {
    const bounds = h.customValues ?? [];
    let prev = -Infinity;
    for (const b of bounds) {
      if (!(b > prev)) return `custom buckets: previous bound is ${prev} and current is ${b}: histogram custom bounds must be in strictly increasing order`;
      prev = b;
    }
    if (prev === Infinity) return 'custom buckets: last +Inf bound must not be explicitly defined: histogram custom bounds must be finite';
    const p = spansProblem(h.positiveSpans, h.positiveBuckets.length, true);
    if (p) return `custom buckets: ${p}`;
    const total = h.positiveSpans.reduce((n, s) => n + s.offset + s.length, 0);
    if (bounds.length + 1 < total) return `custom buckets: only ${bounds.length} custom bounds defined which is insufficient to cover total span length of ${total}: histogram custom bounds are too few`;
    if (h.zeroCount !== 0) return 'custom buckets: histogram must have a zero count of 0';
    if (h.zeroThreshold !== 0) return 'custom buckets: histogram must have a zero threshold of 0';
    if (h.negativeSpans.length > 0 || h.negativeBuckets.length > 0) return 'custom buckets: histogram must not have negative buckets';
  } else {
    const p = spansProblem(h.positiveSpans, h.positiveBuckets.length, false);
    if (p) return `positive side: ${p}`;
    const n = spansProblem(h.negativeSpans, h.negativeBuckets.length, false);
    if (n) return `negative side: ${n}`;
    if ((h.customValues?.length ?? 0) > 0) return 'histogram with exponential schema must not have custom bounds';
    const nb = bucketsProblem(h.negativeBuckets);
    if (nb) return `negative side: ${nb}`;
  }
  const pb = bucketsProblem(h.positiveBuckets);
  if (pb) return `positive side: ${pb}`;
  if (integer) {
    let inBuckets = h.zeroCount;
    for (const b of h.positiveBuckets) inBuckets += b;
    for (const b of h.negativeBuckets) inBuckets += b;
    if (Number.isNaN(h.sum)) {
      if (inBuckets > h.count) return `${inBuckets} observations found in buckets, but the Count field is ${h.count}: histogram's observation count should be at least the number of observations found in the buckets`;
    } else if (inBuckets !== h.count) {
      return `${inBuckets} observations found in buckets, but the Count field is ${h.count}: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)`;
    }
  } else {
    if (h.count < 0) return `observation count ${h.count}: histogram's observation count is negative`;
    if (h.zeroCount < 0) return `zero bucket count ${h.zeroCount}: histogram has a bucket whose observation count is negative`;
  }
  return null;
}

/** The Histogram message's field numbers, for the forwarder's encoder (one definition for both directions). */
export const HISTOGRAM_FIELDS = Object.freeze({
  COUNT_INT, COUNT_FLOAT, SUM, SCHEMA, ZERO_THRESHOLD, ZERO_COUNT_INT, ZERO_COUNT_FLOAT,
  NEGATIVE_SPANS, NEGATIVE_DELTAS, NEGATIVE_COUNTS, POSITIVE_SPANS, POSITIVE_DELTAS, POSITIVE_COUNTS,
  RESET_HINT, TIMESTAMP, CUSTOM_VALUES, SPAN_OFFSET, SPAN_LENGTH,
});
/** Remote write's reset_hint enum, by its number. */
export const RESET_HINTS = HINTS;
