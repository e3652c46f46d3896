// The ingestion contract: what the HTTP layer hands in and gets back.

export interface IngestRequest {
  readonly body: Buffer;
  /** Raw header values; undefined when absent. */
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
  /**
   * X-Prometheus-Remote-Write-Version. Informational: as the 2.0 spec says, the Content-Type
   * decides how the body is decoded (a body sent as the wrong version gets a 400 that says so).
   */
  readonly version: string | undefined;
}

export type IngestStatus = 204 | 400 | 413 | 415 | 429;

/**
 * Why samples were refused; `count` is in samples (float or histogram). Codes:
 * invalid_labels, label_limit, out_of_order, duplicate, too_old, too_far_in_future, series_limit,
 * invalid_histogram (a native histogram Prometheus would refuse: bad schema, span/bucket count
 * mismatch, negative counts, count not matching its buckets) (and rate_limit, for the ingestion chart only: a throttled request is refused whole).
 */
export interface Rejection {
  readonly reason: string;
  readonly count: number;
}

export interface IngestResult {
  readonly status: IngestStatus;
  /** For the sender (the workspace's own authenticated client); never log it: it may hold labels. */
  readonly message?: string;
  /** Values of the X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written headers. */
  readonly samplesWritten: number;
  readonly histogramsWritten: number;
  /** Exemplars are accepted but not stored yet, so always 0 (the header tells the sender). */
  readonly exemplarsWritten: number;
  /** Exemplars and metadata entries received (accepted, not stored). */
  readonly exemplarsReceived: number;
  readonly metadataReceived: number;
  /** For 429: the Retry-After header value. */
  readonly retryAfterSeconds?: number;
  readonly rejected: readonly Rejection[];
}

/** A whole-request refusal with its HTTP status. */
export class IngestError extends Error {
  constructor(
    readonly status: Exclude<IngestStatus, 204>,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'IngestError';
  }
}
