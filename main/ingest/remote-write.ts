// Remote-write ingestion: one request body in, samples appended to a workspace's store, and the
// status the sender should act on (2xx stored and durable, 400 never retried, 429 retried later).
import type { WorkspaceLimits } from '../control/types';
import { AppendError, type Appender, type AppendErrorKind } from '../tsdb/types';
import { limitsEqual, takeTokens } from './limits';
import { ProtoError, ProtoReader } from './proto';
import { emitV1, scanV1, V1_CONTENT_TYPE, V2_CONTENT_TYPE } from './rw1';
import { emitV2, scanV2, Symbols } from './rw2';
import type { LabelSource, RequestCounts, SeriesSink } from './sink';
import { groupCommitterOf } from './group-commit';
import { decompressSnappyBlock } from './snappy';
import { activeSeries, addSeries, forgetSeries, hashKey, intern, lookupSeries, rotateGenerations, type IngestState, type SeriesEntry } from './state';
import { IngestError, type IngestRequest, type IngestResult, type IngestTarget, type Rejection } from './types';
import { checkLabels, describeSeries } from './validate';
import { applyIngestRules, type CompiledRules } from '../discovery/ingest-rules';
import type { Labels } from '../../shared/labels';

export { DEFAULT_LIMITS } from './limits';
export { createIngestState, activeSeries, type IngestState } from './state';
export { IngestError, type IngestRequest, type IngestResult, type IngestTarget, type Rejection } from './types';

export type RemoteWriteVersion = 1 | 2;

const SUPPORTED_TYPES = `${V1_CONTENT_TYPE} (remote write 1.0), ${V1_CONTENT_TYPE};proto=prometheus.WriteRequest (1.0), ${V2_CONTENT_TYPE} (2.0)`;
const MESSAGES_SHOWN = 5;
/** Retry-After for the active-series limit: idle series free up as their generation ages out. */
const SERIES_LIMIT_RETRY_SECONDS = 60;

/**
 * Decodes, validates and stores one remote-write request. `now` is the wall clock in ms (rate
 * limiting and active-series ageing). Decoding and appending run synchronously; the result comes
 * only after the samples are durable: requests appending through the same `target.appender` in
 * one event-loop turn share one `appender.commit()` (see GroupCommitter). Errors thrown by the
 * store other than AppendError reject (the caller answers 5xx) after the appender was rolled
 * back, for every request of that commit.
 */
export async function ingestRemoteWrite(req: IngestRequest, target: IngestTarget, now: number): Promise<IngestResult> {
  let appended: AppendedRequest;
  try {
    appended = append(req, target, now);
  } catch (err) {
    if (err instanceof IngestError) return refusal(err.status, err.message, err.retryAfterSeconds);
    if (err instanceof ProtoError) return refusal(400, `invalid remote-write body: ${err.message}`);
    throw err;
  }
  if (appended.written > 0) await groupCommitterOf(target.appender).commitShared();
  return appended.result;
}

interface AppendedRequest {
  readonly result: IngestResult;
  /** Samples appended, not yet committed. */
  readonly written: number;
}

/** Which remote-write version a Content-Type asks for; IngestError 415 when none. */
export function remoteWriteVersion(contentType: string | undefined, contentEncoding: string | undefined): RemoteWriteVersion {
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'snappy') {
    throw new IngestError(415, `unsupported Content-Encoding ${JSON.stringify(contentEncoding)}: only snappy (block format) is supported`);
  }
  // Absent means 1.0, as Prometheus's own receiver assumes.
  if (contentType === undefined || contentType.trim() === '') return 1;
  const [media, ...params] = contentType.split(';');
  if (media!.trim().toLowerCase() === 'application/x-protobuf') {
    let proto: string | undefined;
    for (const p of params) {
      const eq = p.indexOf('=');
      if (eq >= 0 && p.slice(0, eq).trim().toLowerCase() === 'proto') proto = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    }
    if (proto === undefined || proto === 'prometheus.WriteRequest') return 1;
    if (proto === 'io.prometheus.write.v2.Request') return 2;
  }
  throw new IngestError(415, `unsupported Content-Type ${JSON.stringify(contentType.slice(0, 200))}: supported are ${SUPPORTED_TYPES}`);
}

function append(req: IngestRequest, { appender, limits, state, rules, onNewSeries }: IngestTarget, now: number): AppendedRequest {
  const version = remoteWriteVersion(req.contentType, req.contentEncoding);
  if (req.body.length > limits.maxBodyBytes) {
    throw new IngestError(413, `request body of ${req.body.length} bytes exceeds the limit maxBodyBytes=${limits.maxBodyBytes}; send smaller batches (queue_config.max_samples_per_send)`);
  }
  const reader = new ProtoReader(decompressSnappyBlock(req.body, limits.maxDecompressedBytes));
  const symbols = version === 2 ? new Symbols() : undefined;
  const counts = symbols ? scanV2(reader, symbols) : scanV1(reader);

  const wanted = counts.samples + counts.histograms;
  const wait = takeTokens(state.bucket, wanted, now, limits.ingestionRate, limits.ingestionBurst);
  if (wait === Infinity) {
    throw new IngestError(413, `request of ${wanted} samples exceeds the limit ingestionBurst=${limits.ingestionBurst}; send smaller batches (queue_config.max_samples_per_send)`);
  }
  if (wait > 0) {
    throw new IngestError(429, `ingestion rate limit exceeded: ingestionRate=${limits.ingestionRate} samples/s, ingestionBurst=${limits.ingestionBurst}; retry in ${wait} s`, wait);
  }

  if (state.limits === undefined || !limitsEqual(state.limits, limits)) {
    forgetSeries(state); // cached series were validated against other limits
    state.limits = limits;
  }
  rotateGenerations(state, now);

  const sink = new AppendSink(appender, limits, state, version === 2, rules ?? null, onNewSeries);
  try {
    if (symbols) emitV2(reader, symbols, sink, sink.intern);
    else emitV1(reader, sink, sink.intern);
  } catch (err) {
    groupCommitterOf(appender).abandon(err);
    throw err;
  }
  return { result: sink.result(counts), written: sink.written };
}

function refusal(status: Exclude<IngestResult['status'], 204>, message: string, retryAfterSeconds?: number): IngestResult {
  return {
    status,
    message,
    samplesWritten: 0,
    histogramsWritten: 0,
    exemplarsWritten: 0,
    exemplarsReceived: 0,
    metadataReceived: 0,
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    rejected: [],
  };
}

const APPEND_REASONS: Record<AppendErrorKind, string> = {
  out_of_order: 'out_of_order',
  duplicate: 'duplicate',
  too_old: 'too_old',
  invalid_labels: 'invalid_labels',
  series_limit: 'series_limit',
};

/** Appends each decoded sample to the store, resolving series through the ingest cache. */
class AppendSink implements SeriesSink {
  private entry: SeriesEntry | null = null;
  /** Hash of a series not yet cached: it is cached once the store accepted a sample. */
  private newHash = -1;
  written = 0;
  private readonly rejections = new Map<string, number>();
  private readonly messages: string[] = [];
  private messagesDropped = 0;
  readonly intern: (s: string) => string;

  constructor(
    private readonly appender: Appender,
    private readonly limits: WorkspaceLimits,
    private readonly state: IngestState,
    private readonly utf8Names: boolean,
    private readonly rules: CompiledRules | null = null,
    private readonly onNewSeries?: (labels: Labels) => void,
  ) {
    this.intern = (s) => intern(state, s);
  }

  series(keyBuf: Buffer, keyStart: number, keyEnd: number, source: LabelSource, samples: number, histograms: number): boolean {
    this.newHash = -1;
    const hash = hashKey(keyBuf, keyStart, keyEnd);
    this.entry = lookupSeries(this.state, hash, keyBuf, keyStart, keyEnd);
    if (this.entry === null) this.entry = this.newSeries(hash, keyBuf.toString('latin1', keyStart, keyEnd), source, samples, histograms);
    else if (histograms > 0) this.rejectHistograms(this.entry, histograms);
    return this.entry !== null;
  }

  private newSeries(hash: number, key: string, source: LabelSource, samples: number, histograms: number): SeriesEntry | null {
    const count = source.labelCount();
    if (count > this.limits.labelsPerSeries) {
      // Refused before decoding thousands of strings; the first few name the series.
      const first = source.labels(3);
      this.reject('label_limit', samples + histograms, () =>
        `series ${first ? describeSeries(first) : '(not UTF-8)'}…: has ${count} labels, over the limit labelsPerSeries=${this.limits.labelsPerSeries}`,
      );
      return null;
    }
    const labels = source.labels();
    if (labels === null) {
      this.reject('invalid_labels', samples + histograms, () => 'a series has a label that is not valid UTF-8 or not a valid Label message');
      return null;
    }
    const problem = checkLabels(labels, this.utf8Names, this.limits);
    if (problem !== null) {
      this.reject(problem.reason, samples + histograms, () => problem.message);
      return null;
    }
    // Ingest rules (drop / keyed hash) apply before anything is stored or cached.
    const entry: SeriesEntry = { labels: applyIngestRules(labels, this.rules), ref: 0, key, next: null };
    if (histograms > 0) this.rejectHistograms(entry, histograms);
    if (samples === 0) return null;
    if (activeSeries(this.state) >= this.limits.activeSeries) {
      this.reject('series_limit', samples, () => `series ${describeSeries(labels)}: active series limit activeSeries=${this.limits.activeSeries} reached; new series are refused until old ones go idle, or raise the limit`);
      return null;
    }
    this.newHash = hash;
    return entry;
  }

  private rejectHistograms(entry: SeriesEntry, n: number): void {
    this.reject('native_histogram', n, () => `series ${describeSeries(entry.labels)}: native histograms are not supported yet (${n} dropped); send classic histograms (disable send_native_histograms)`);
  }

  sample(t: number, v: number): void {
    const entry = this.entry!;
    try {
      entry.ref = this.appender.append(entry.ref, entry.labels, t, v);
    } catch (err) {
      if (!(err instanceof AppendError)) throw err;
      this.reject(APPEND_REASONS[err.kind], 1, () => `series ${describeSeries(entry.labels)}: ${err.message}`);
      return;
    }
    this.written++;
    if (this.newHash >= 0) {
      addSeries(this.state, this.newHash, entry);
      this.newHash = -1;
      this.onNewSeries?.(entry.labels);
    }
  }

  private reject(reason: string, count: number, message: () => string): void {
    this.rejections.set(reason, (this.rejections.get(reason) ?? 0) + count);
    if (this.messages.length < MESSAGES_SHOWN) this.messages.push(message());
    else this.messagesDropped++;
  }

  result(counts: RequestCounts): IngestResult {
    const rejected: Rejection[] = [...this.rejections].map(([reason, count]) => ({ reason, count }));
    const base = {
      samplesWritten: this.written,
      histogramsWritten: 0,
      exemplarsWritten: 0,
      exemplarsReceived: counts.exemplars,
      metadataReceived: counts.metadata,
      rejected,
    };
    if (rejected.length === 0) return { status: 204, ...base };
    const total = rejected.reduce((n, r) => n + r.count, 0);
    const more = this.messagesDropped > 0 ? `; and ${this.messagesDropped} more` : '';
    const message = `${total} of ${counts.samples + counts.histograms} samples rejected, ${this.written} written: ${this.messages.join('; ')}${more}`;
    if (this.rejections.has('series_limit')) return { status: 429, message, retryAfterSeconds: SERIES_LIMIT_RETRY_SECONDS, ...base };
    return { status: 400, message, ...base };
  }
}
