// Remote-write ingestion: one request body in, samples appended to a workspace's store, and the
// status the sender should act on (2xx stored and durable, 400 never retried, 429 retried later).
import type { WorkspaceLimits } from '../control/types';
import { AppendError, type Appender } from '../tsdb/types';
import { limitsEqual, takeTokens } from './limits';
import { ProtoError, ProtoReader } from './proto';
import { SeriesLayout } from './layout';
import { emitV1, scanV1, V1_CONTENT_TYPE, V2_CONTENT_TYPE } from './rw1';
import { emitV2, scanV2, Symbols } from './rw2';
import type { LabelSource, LabelText, RequestCounts, SeriesSink } from './sink';
import { histogramProblem, type DecodedHistogram } from './histogram-proto';
import { GroupCommitter } from './group-commit';
import { DecompressBuffer, decompressSnappyBlock } from './snappy';
import { activeSeries, addSeries, createIngestState, forgetSeries, hashKey, lookupSeries, nextSeen, rotateGenerations, type IngestState, type SeriesEntry } from './state';
import { IngestError, type IngestRequest, type IngestResult, type Rejection } from './types';
import { checkLabels, describeSeries } from './validate';
import { applyIngestRules, type CompiledRules } from '../discovery/ingest-rules';
import type { Labels } from '../../shared/labels';
import { metadataV1, metadataV2, type MetadataTable } from './metadata';
import { EXEMPLAR_MAX_LABEL_CHARS, exemplarLabelChars, exemplarsV1, exemplarsV2, type ExemplarBatch, type ExemplarStore } from './exemplars';

export type RemoteWriteVersion = 1 | 2;

const SUPPORTED_TYPES = `${V1_CONTENT_TYPE} (remote write 1.0), ${V1_CONTENT_TYPE};proto=prometheus.WriteRequest (1.0), ${V2_CONTENT_TYPE} (2.0)`;
const MESSAGES_SHOWN = 5;
/** Retry-After for the active-series limit: idle series free up as their generation ages out. */
const SERIES_LIMIT_RETRY_SECONDS = 60;
/**
 * How far ahead of the server clock a sample may be (Mimir's creation grace period is 10 min):
 * further is a sender's broken clock, and would sit in the head until then.
 */
export const MAX_FUTURE_MS = 10 * 60_000;

/** What an Ingester tells its owner; each hook must be cheap. */
export interface IngesterHooks {
  /** The workspace's ingest rules (main/discovery), applied to a series' labels before it is stored. */
  readonly rules?: () => CompiledRules | null;
  /** Told about every new series (incremental sensitive-data discovery). */
  readonly onNewSeries?: (labels: Labels) => void;
  /** Told about refused samples, by reason, once per request (the ingestion chart). */
  readonly onRejected?: (reason: string, count: number) => void;
  /** Where metric metadata (TYPE, HELP, UNIT) is kept; without it metadata is counted only. */
  readonly metadata?: MetadataTable;
  /** Where exemplars are kept; without it exemplars are counted only. */
  readonly exemplars?: ExemplarStore;
}

/**
 * Remote-write ingestion into one store: owns the decode state (series cache, active series,
 * rate bucket), the appender and its group commit. One per open store: cached series refs are
 * only valid for the store that issued them.
 */
export class Ingester {
  readonly state: IngestState = createIngestState();
  private readonly committer: GroupCommitter;
  private readonly decompressed = new DecompressBuffer();
  /** Where the series of the body being appended lie, noted by the scan for the emit. */
  private readonly layout = new SeriesLayout();
  /** 1.0's label strings, through the state's shared copies (2.0's labels take the table itself, for its ids). */
  private readonly labelText: LabelText = (buf, start, end) => this.state.strings.text(buf, start, end);
  /** Requests being appended or awaiting their commit, and when the last one ended (performance.now()). */
  private inFlight = 0;
  private lastEnd = -Infinity;

  constructor(
    readonly appender: Appender,
    private readonly hooks: IngesterHooks = {},
  ) {
    this.committer = new GroupCommitter(appender);
  }

  /** Series received in the last one to two generations. */
  activeSeries(): number {
    return activeSeries(this.state);
  }

  /** How long no request has been in progress, in ms (0 while one is being appended or awaits its commit). */
  idleMs(): number {
    return this.inFlight > 0 ? 0 : performance.now() - this.lastEnd;
  }

  /**
   * Decodes, validates and stores one remote-write request. `now` is the wall clock in ms (rate
   * limiting, active-series ageing, the time bounds). Decoding and appending run synchronously;
   * the result comes only after the samples are durable: requests of one event-loop turn share
   * one `appender.commit()` (see GroupCommitter). Errors thrown by the store other than
   * AppendError reject (the caller answers 5xx) after the appender was rolled back, for every
   * request of that commit. The body's size is the reader's to bound (main/http/body).
   */
  async ingest(req: IngestRequest, limits: IngestLimits, now: number): Promise<IngestResult> {
    this.inFlight++;
    try {
      return await this.ingestOne(req, limits, now);
    } finally {
      this.inFlight--;
      this.lastEnd = performance.now();
    }
  }

  private async ingestOne(req: IngestRequest, limits: IngestLimits, now: number): Promise<IngestResult> {
    let appended: AppendedRequest;
    try {
      appended = this.append(req, limits, now);
    } catch (err) {
      if (err instanceof IngestError) return refusal(err.status, err.message, err.retryAfterSeconds);
      if (err instanceof ProtoError) return refusal(400, `invalid remote-write body: ${err.message}`);
      throw err;
    }
    const { result } = appended;
    if (this.hooks.onRejected) for (const r of result.rejected) this.hooks.onRejected(r.reason, r.count);
    if (appended.written > 0) await this.committer.commitShared();
    return result;
  }

  private append(req: IngestRequest, limits: IngestLimits, now: number): AppendedRequest {
    const { state } = this;
    const version = remoteWriteVersion(req.contentType, req.contentEncoding);
    // Decoding is synchronous and keeps no view of the body past this call: the output memory is reused.
    const reader = new ProtoReader(decompressSnappyBlock(req.body, limits.maxDecompressedBytes, this.decompressed));
    const symbols = version === 2 ? new Symbols() : undefined;
    const counts = symbols ? scanV2(reader, symbols, this.layout) : scanV1(reader, this.layout);

    const wanted = counts.samples + counts.histograms;
    const wait = takeTokens(state.bucket, wanted, now, limits.ingestionRate, limits.ingestionBurst);
    // Throttled samples show on the ingestion chart too: the sign that a limit needs raising.
    if (wait > 0) this.hooks.onRejected?.('rate_limit', wanted);
    if (wait === Infinity) {
      throw new IngestError(413, `request of ${wanted} samples exceeds the limit ingestionBurst=${limits.ingestionBurst}; send smaller batches (queue_config.max_samples_per_send)`);
    }
    if (wait > 0) {
      throw new IngestError(429, `ingestion rate limit exceeded: ingestionRate=${limits.ingestionRate} samples/s, ingestionBurst=${limits.ingestionBurst}; retry in ${wait} s, or raise the limit (ampule limits set --ingestion-rate N, or Limits on the workspace's page)`, wait);
    }

    if (state.limits === undefined || !limitsEqual(state.limits, limits)) {
      forgetSeries(state); // cached series were validated against other limits
      state.limits = limits;
    }
    rotateGenerations(state, now);

    const sink = new AppendSink(this.appender, limits, state, version === 2, this.hooks.rules?.() ?? null, this.hooks.onNewSeries, now);
    try {
      if (symbols) emitV2(reader, symbols, this.layout, sink, state.strings);
      else emitV1(reader, this.layout, sink, this.labelText);
    } catch (err) {
      this.committer.abandon(err);
      throw err;
    }
    // The samples are appended by now: a malformed exemplar or metadata entry refuses only itself.
    const { exemplars, metadata } = this.hooks;
    try {
      if (counts.exemplars > 0 && exemplars) {
        sink.exemplars(symbols ? exemplarsV2(reader.buf, symbols, this.layout) : exemplarsV1(reader.buf, this.layout), exemplars);
        exemplars.flush(now);
      }
    } catch (err) {
      if (!(err instanceof ProtoError)) throw this.abandon(err);
      sink.refuse('invalid_exemplar', `exemplars not kept: ${err.message}`);
    }
    try {
      if (counts.metadata > 0 && metadata) metadata.add(symbols ? metadataV2(reader.buf, symbols, this.layout) : metadataV1(reader.buf));
    } catch (err) {
      if (!(err instanceof ProtoError)) throw this.abandon(err);
      sink.refuse('invalid_metadata', `metadata not kept: ${err.message}`);
    }
    return { result: sink.result(counts), written: sink.written + sink.histogramsWritten };
  }

  /** Rolls back what this turn appended (the error is the caller's 5xx). */
  private abandon(err: unknown): unknown {
    this.committer.abandon(err);
    return err;
  }
}

/** The workspace's limits plus its retention (samples older than it are refused). */
export interface IngestLimits extends WorkspaceLimits {
  /** Default: no lower bound. */
  readonly retentionMs?: number;
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

/** Last sample time of series whose samples carry start timestamps (see AppendSink.startZero). */
const startTracked = new WeakMap<SeriesEntry, number>();

/** Appends each decoded sample to the store, resolving series through the ingest cache. */
class AppendSink implements SeriesSink {
  private entry: SeriesEntry | null = null;
  /** Hash of a series not yet cached: it is cached once the store accepted a sample. */
  private newHash = -1;
  /** The previous series of this request (nextSeen). */
  private last: SeriesEntry | null = null;
  private keyBuf: Buffer = Buffer.alloc(0);
  private keyStart = 0;
  private keyEnd = 0;
  written = 0;
  histogramsWritten = 0;
  exemplarsWritten = 0;
  private readonly rejections = new Map<string, number>();
  private readonly messages: string[] = [];
  private messagesDropped = 0;
  /** Samples outside [oldest, newest] are refused before they reach the store. */
  private readonly oldest: number;
  private readonly newest: number;

  constructor(
    private readonly appender: Appender,
    private readonly limits: IngestLimits,
    private readonly state: IngestState,
    private readonly utf8Names: boolean,
    private readonly rules: CompiledRules | null,
    private readonly onNewSeries: ((labels: Labels) => void) | undefined,
    now: number,
  ) {
    this.oldest = limits.retentionMs === undefined ? -Infinity : now - limits.retentionMs;
    this.newest = now + MAX_FUTURE_MS;
  }

  series(keyBuf: Buffer, keyStart: number, keyEnd: number, source: LabelSource, samples: number, histograms: number): boolean {
    this.newHash = -1;
    const last = this.last;
    let hash = -1;
    this.entry = last !== null ? nextSeen(this.state, last, keyBuf, keyStart, keyEnd) : null;
    if (this.entry === null) this.entry = lookupSeries(this.state, (hash = hashKey(keyBuf, keyStart, keyEnd)), keyBuf, keyStart, keyEnd);
    // Kept for addSeries: the key's bytes stay as they are until the next series().
    this.keyBuf = keyBuf;
    this.keyStart = keyStart;
    this.keyEnd = keyEnd;
    if (this.entry === null) this.entry = this.newSeries(hash, source, samples, histograms);
    if (this.entry === null) return false;
    if (last !== null) last.succ = this.entry;
    this.last = this.entry;
    return true;
  }

  private newSeries(hash: number, source: LabelSource, samples: number, histograms: number): SeriesEntry | null {
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
    const entry: SeriesEntry = { labels: applyIngestRules(labels, this.rules), ref: 0, keyAt: -1, keyLen: 0, next: null, gen: -1, succ: null };
    if (samples + histograms === 0) return null;
    if (activeSeries(this.state) >= this.limits.activeSeries) {
      this.reject('series_limit', samples + histograms, () => `series ${describeSeries(labels)}: active series limit activeSeries=${this.limits.activeSeries} reached; new series are refused until old ones go idle, or raise the limit`);
      return null;
    }
    this.newHash = hash;
    return entry;
  }

  sample(t: number, v: number, st = 0): void {
    const entry = this.entry!;
    if (t < this.oldest || t > this.newest) {
      this.rejectOutOfBounds(entry, t);
      return;
    }
    if (st !== 0 && t !== 0) this.startZero(entry, t, st);
    try {
      entry.ref = this.appender.append(entry.ref, entry.labels, t, v);
    } catch (err) {
      if (!(err instanceof AppendError)) throw err;
      this.reject(err.kind, 1, () => `series ${describeSeries(entry.labels)}: ${err.message}`);
      return;
    }
    if (st !== 0) startTracked.set(entry, t);
    this.written++;
    this.accepted(entry);
  }

  /** The store took a sample of the current series: a new series is cached and announced now. */
  private accepted(entry: SeriesEntry): void {
    if (this.newHash >= 0) {
      entry.labels = this.appender.labelsOf?.(entry.ref) ?? entry.labels;
      addSeries(this.state, this.newHash, entry, this.keyBuf, this.keyStart, this.keyEnd);
      this.newHash = -1;
      this.onNewSeries?.(entry.labels);
    }
  }

  histogram(d: DecodedHistogram): void {
    const entry = this.entry!;
    if (d.t < this.oldest || d.t > this.newest) {
      this.rejectOutOfBounds(entry, d.t);
      return;
    }
    const problem = histogramProblem(d);
    if (problem !== null) {
      this.reject('invalid_histogram', 1, () => `series ${describeSeries(entry.labels)}: histogram at ${d.t}: ${problem}`);
      return;
    }
    try {
      entry.ref = this.appender.appendHistogram(entry.ref, entry.labels, d.t, d.h);
    } catch (err) {
      if (!(err instanceof AppendError)) throw err;
      this.reject(err.kind, 1, () => `series ${describeSeries(entry.labels)}: histogram ${err.message}`);
      return;
    }
    this.histogramsWritten++;
    this.accepted(entry);
  }

  /**
   * A sample's start timestamp as Prometheus's remote-write receiver ingests it
   * (created-timestamp-zero-ingestion, AppendSTZeroSample): a 0 at the start time, so rate() and
   * increase() see the counter begin there, when that time is before the sample and after the
   * series' last sample. Anything else about it is ignored, never refused (a sender repeats a
   * counter's start with every sample). The 0 is not counted as written.
   */
  private startZero(entry: SeriesEntry, t: number, st: number): void {
    if (st >= t || st < this.oldest) return;
    const last = startTracked.get(entry);
    // Unknown last time (a new series, or since a restart): the store's order check decides; with
    // an out-of-order window it would let the 0 into the middle of the series, so none is added.
    if (last === undefined ? this.limits.outOfOrderWindowMs > 0 : st <= last) return;
    try {
      entry.ref = this.appender.append(entry.ref, entry.labels, st, 0);
      startTracked.set(entry, st);
    } catch (err) {
      if (!(err instanceof AppendError)) throw err;
    }
  }

  /**
   * Keeps each series' exemplars (labels of series and exemplar after the ingest rules). A series
   * whose labels are invalid is skipped (its samples were refused already); an exemplar whose
   * label set is over 128 characters is refused by name, as Prometheus does, the rest kept.
   */
  exemplars(batches: readonly ExemplarBatch[], store: ExemplarStore): void {
    for (const { series, exemplars } of batches) {
      if (checkLabels(series, this.utf8Names, this.limits) !== null) continue;
      const labels = applyIngestRules(series, this.rules);
      const ok = exemplars.filter((e) => {
        const chars = exemplarLabelChars(e.labels);
        if (chars <= EXEMPLAR_MAX_LABEL_CHARS) return true;
        this.reject('exemplar_labels_too_long', 0, () => `series ${describeSeries(labels)}: exemplar label set is ${chars} UTF-8 characters, over Prometheus's limit of ${EXEMPLAR_MAX_LABEL_CHARS}`);
        this.exemplarRejections++;
        return false;
      });
      this.exemplarsWritten += store.add(labels, ok.map((e) => ({ ...e, labels: applyIngestRules(e.labels, this.rules) })));
    }
  }

  private exemplarRejections = 0;

  /** A refusal that is not of samples (a malformed exemplar or metadata entry): a 400 naming it. */
  refuse(reason: string, message: string): void {
    this.reject(reason, 0, () => message);
  }

  /** Mimir's "out of bounds": older than the retention (it would be deleted at once) or from a clock far ahead. */
  private rejectOutOfBounds(entry: SeriesEntry, t: number): void {
    const at = Number.isFinite(t) && Math.abs(t) <= 8.64e15 ? new Date(t).toISOString() : String(t);
    if (t < this.oldest) {
      this.reject('too_old', 1, () => `series ${describeSeries(entry.labels)}: too old: sample at ${at} is older than the retention of ${formatDuration(this.limits.retentionMs!)}`);
    } else {
      this.reject('too_far_in_future', 1, () => `series ${describeSeries(entry.labels)}: too far in the future: sample at ${at} is more than ${formatDuration(MAX_FUTURE_MS)} ahead of the server clock; check the sender's clock`);
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
      histogramsWritten: this.histogramsWritten,
      exemplarsWritten: this.exemplarsWritten,
      exemplarsReceived: counts.exemplars,
      metadataReceived: counts.metadata,
      rejected,
    };
    if (rejected.length === 0) return { status: 204, ...base };
    const total = rejected.reduce((n, r) => n + r.count, 0);
    const more = this.messagesDropped > 0 ? `; and ${this.messagesDropped} more` : '';
    const parts: string[] = [];
    if (total > 0 || this.exemplarRejections === 0) parts.push(`${total} of ${counts.samples + counts.histograms} samples rejected, ${this.written + this.histogramsWritten} written`);
    if (this.exemplarRejections > 0) parts.push(`${this.exemplarRejections} of ${counts.exemplars} exemplars rejected, ${this.exemplarsWritten} written`);
    const message = `${parts.join('; ')}: ${this.messages.join('; ')}${more}`;
    if (this.rejections.has('series_limit')) return { status: 429, message, retryAfterSeconds: SERIES_LIMIT_RETRY_SECONDS, ...base };
    return { status: 400, message, ...base };
  }
}

/** 150d, 12h, 10m, 30s or 1500ms: the largest whole unit. */
function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
