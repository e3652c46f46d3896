// Native histograms, after Prometheus's model/histogram: the one in-memory shape that ingestion,
// the store and the query engine share. Bucket counts are absolute (remote write's integer
// histograms arrive delta-encoded and are expanded at the door).

/** A run of `length` consecutive buckets starting `offset` buckets after the previous span's end. */
export interface Span {
  readonly offset: number;
  readonly length: number;
}

export type CounterResetHint = 'unknown' | 'reset' | 'not_reset' | 'gauge';

/** Prometheus's custom-buckets schema (NHCB): bucket bounds are `customValues`. */
export const CUSTOM_BUCKETS_SCHEMA = -53;
export const MIN_EXPONENTIAL_SCHEMA = -4;
export const MAX_EXPONENTIAL_SCHEMA = 8;

export interface FloatHistogram {
  readonly counterResetHint: CounterResetHint;
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly zeroCount: number;
  readonly count: number;
  readonly sum: number;
  readonly positiveSpans: readonly Span[];
  readonly negativeSpans: readonly Span[];
  readonly positiveBuckets: readonly number[];
  readonly negativeBuckets: readonly number[];
  /** Upper bounds of the custom buckets (schema −53 only), ascending. */
  readonly customValues?: readonly number[];
}

/** One series' native-histogram samples, timestamps ascending. */
export interface HistogramSamples {
  readonly timestamps: Float64Array;
  readonly values: readonly FloatHistogram[];
}
