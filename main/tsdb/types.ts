// The store's two small interfaces, after Prometheus's tsdb: ingestion only knows the Appender,
// the query engine only knows the Querier.
import type { Labels } from '../../shared/labels';
import type { FloatHistogram, HistogramSamples } from './histogram';

export type MatchType = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  readonly type: MatchType;
  readonly name: string;
  /** For regex types: the pattern, fully anchored as in Prometheus (`^(?:pattern)$`). */
  readonly value: string;
  /** Optional precompiled test of a label value (the query engine's RE2 regex); used instead of compiling `value`. */
  readonly matches?: (value: string) => boolean;
}

/** Opaque in-memory reference to a series; valid for the lifetime of an open store. */
export type SeriesRef = number;

/** Bit pattern Prometheus uses to mark a series stale; must survive storage bit-exact. */
export const STALE_NAN_BITS = 0x7ff0000000000002n;

export type AppendErrorKind = 'out_of_order' | 'duplicate' | 'too_old' | 'invalid_labels' | 'series_limit';

/** A sample the store refuses; ingestion maps the kind to HTTP 400/429. */
export class AppendError extends Error {
  constructor(
    readonly kind: AppendErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'AppendError';
  }
}

export interface Appender {
  /**
   * Adds one sample. `ref` is a previously returned ref for the same labels, or 0 to look the
   * series up by `labels` (sorted, validated by the caller). Throws AppendError for a sample
   * the store refuses; the rest of the batch is unaffected.
   */
  append(ref: SeriesRef, labels: Labels, t: number, v: number): SeriesRef;
  /**
   * Adds one native-histogram sample (absolute counts, validated by the caller). Floats and
   * histograms of a series share one timeline: the same order and duplicate rules apply across both.
   */
  appendHistogram(ref: SeriesRef, labels: Labels, t: number, h: FloatHistogram): SeriesRef;
  /** The store's labels of a series (interned strings), so a cache of series need not keep its own copy. */
  labelsOf?(ref: SeriesRef): Labels | undefined;
  /** Makes every sample appended since the last commit durable (survives kill -9) before returning. */
  commit(): void;
  /**
   * Where offered: commits as commit() does, but the promise says when the samples are durable
   * (the fsync runs off the event loop, shared by the commits made meanwhile).
   */
  commitAsync?(): Promise<void>;
  /** Drops every sample appended since the last commit. */
  rollback(): void;
}

/** One series' samples in [mint, maxt], timestamps ascending. */
export interface SeriesData {
  readonly labels: Labels;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  /** Native-histogram samples, kept apart from the floats (as Prometheus's promql.Series does); absent when none. */
  readonly histograms?: HistogramSamples;
  /**
   * Present on a select with `lazy`: decodes the float samples on every call (into views of `into`
   * when it is large enough, else new arrays), so a caller that reads series one at a time holds
   * one series' samples at a time. Reading `timestamps`/`values` instead decodes once and keeps them.
   */
  readonly samples?: (into?: FloatSamples) => FloatSamples;
  /** Present with `samples`: the same samples still coded, to decode on another thread (packed-series.ts). */
  readonly coded?: () => CodedSamples;
}

/** A series' float samples in [mint, maxt] as stored: coded chunks (chunkenc) and head samples. */
export interface CodedSamples {
  readonly chunks: readonly CodedChunk[];
  readonly head: FloatSamples;
  readonly mint: number;
  readonly maxt: number;
}

/** A chunk (chunkenc) at bytes [at, at + length) of buf, which stays readable PAD_BYTES past it (the decoder peeks). */
export interface CodedChunk {
  readonly buf: Uint8Array;
  readonly at: number;
  readonly length: number;
  /** Chunk timestamps are relative to it. */
  readonly bucketStart: number;
}

export interface FloatSamples {
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  /** True when the values are known to hold no NaN, so no staleness marker either (readers skip looking). */
  readonly nanFree?: boolean;
  /** True when the values are known never to decrease (from their coding), so no counter reset either. */
  readonly rising?: boolean;
}

/** What a query asks of one select beyond matchers and window. */
export interface SelectHints {
  /** Called between chunk rows and between series while reading; throws to abort (query timeout). */
  check?(): void;
  /**
   * Float samples decoded only when asked for (SeriesData.samples); histograms are read at once.
   * The samples may still refer to the head's own arrays (no copy of each series' head window,
   * whose allocation alone triggered full garbage collections): read them before anything is
   * appended to the store, as the query engine does within one synchronous evaluation.
   */
  lazy?: boolean;
}

export interface Querier {
  /** Series matching every matcher, with their samples in [mint, maxt] (ms, inclusive). */
  select(matchers: readonly Matcher[], mint: number, maxt: number, hints?: SelectHints): SeriesData[];
  /** Label names present on series matching `matchers` (all series when empty), distinct, sorted. */
  labelNames(matchers?: readonly Matcher[]): string[];
  /** Values of label `name` on series matching `matchers`, distinct, sorted. */
  labelValues(name: string, matchers?: readonly Matcher[]): string[];
  /** Label sets of series matching, with any sample in [mint, maxt]. */
  series(matchers: readonly Matcher[], mint: number, maxt: number): Labels[];
}
