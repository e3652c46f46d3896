// PromQL off the ingest thread: the Prometheus HTTP API (parsing, evaluation, JSON shaping) runs
// on worker threads sized to the cores, so a heavy query_range does not hold the event loop that
// answers remote write. A select reads the store on the worker too: the ingest thread only answers
// a short call for a head snapshot (matching series and their head samples in the window; see
// tsdb/head-snapshot.ts), and the worker reads, decrypts and decodes the sealed chunk rows through
// its own read-only connection (tsdb/snapshot-reader.ts), with data keys handed over this
// process's message ports as it needs them. The connection, its keys and the rows it decrypted
// stay for the next query until idle for a minute, or until the store closes or is re-keyed.
// Series and label listings (postings, head only) come in parts, the matching series' label
// strings or the names and values themselves, and are merged and sorted on the worker. A worker's calls
// block it (Atomics.wait) until the ingest thread answers (receiveMessageOnPort). A query whose
// client went away is stopped by ending its worker (a fresh one takes its place); the query
// timeout is checked between rows and series while reading. On two cores or more, each worker has
// a helper thread of its own (started at its first large range call): a range call over many series
// hands part of them to it, still coded, and both threads compute rows until they meet
// (query/split-rows.ts), so one heavy query uses two cores with the same answer.
// On Linux the workers, helpers and the process's other threads run niced, so that on a busy machine
// the ingest thread gets a core first (./thread-priority.ts).
// A call marked `ahead` (the window's: a person waiting) that finds every worker busy runs on a
// worker of its own, started for it and ended once idle, rather than waiting for a dashboard's
// query that may run for minutes.
// Workers that cannot even load (a packaged app that refuses to load this bundle as a worker) are
// tried a few times; then the pool reports itself unavailable and callers evaluate on this thread.
import { availableParallelism } from 'node:os';
import { isMainThread, MessageChannel, parentPort, receiveMessageOnPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import { handlePromApi, sortedDistinct, type PromApiOptions } from '../query/api';
import { promApiJson } from '../query/api-json';
import type { Matcher, Querier } from '../tsdb/types';
import { LabelsSentBits, onStoreReleased, snapshotBuffers, type HeadSnapshot, type Listing, type ListingCursor, type ListingPart, type OffThreadReads, type SnapshotCursor, type StoreFile } from '../tsdb/head-snapshot';
import { compareLabels, type Labels } from '../../shared/labels';
import { labelSetBuffers, unpackLabelSets } from '../tsdb/label-sets-wire';
import { LabelsForgotten, SnapshotReader } from '../tsdb/snapshot-reader';
import { instantQuery, type EngineOptions, type QueryValue } from '../query/engine';
import type { HelperRows, RowsHelper, RowsTask } from '../query/evaluator';
import { StoreError } from '../tsdb/errors';
import { ParseError } from '../query/parser';
import { storeMatcher } from '../query/regex';
import { computeRows, RowsTimeout } from '../query/split-rows';
import { packedBuffers } from '../tsdb/packed-series';
import { yieldToIngest } from './thread-priority';
import { moduleWorker } from './module-worker';
import { encodeAnswer, type AnswerEncoding } from './answer-encoding';

/** The workers' own bundle, next to the CLI's and the desktop core's in dist/ (build/build.mjs). */
const QUERY_WORKER_BUNDLE = './query-worker.mjs';

/** Workers that end before they are ready, with none ever ready, before the pool gives up. */
const LOAD_ATTEMPTS = 3;

/** A store call's arguments with its matchers compiled again (RE2) on this side. */
function withMatchers(call: StoreCall): unknown[] {
  if (call.op === 'dataKey' || call.op === 'more') return call.args;
  const at = call.op === 'labelValues' ? 1 : 0;
  return call.args.map((a, i) => (i === at && Array.isArray(a) ? (a as Matcher[]).map(storeMatcher) : a));
}

/** `snapshot` and `listing` start a cursor (their first part); `more` asks for its next part. */
type StoreOp = 'select' | 'series' | 'labelNames' | 'labelValues' | 'snapshot' | 'listing' | 'more' | 'dataKey';
interface StoreCall {
  readonly op: StoreOp;
  readonly args: unknown[];
}
/** A store call sent from a worker; its reply once read (undefined if none came). */
interface SentCall {
  reply?: StoreReply;
}
/** A failed store call carries a damaged store's message (it names workspace, file and item); other errors stay here. */
type StoreReply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly damage?: string };
interface Job {
  readonly id: number;
  readonly apiPath: string;
  readonly params: string;
  readonly limits: Pick<PromApiOptions, 'maxSamples' | 'timeoutMs'>;
  /** How the client would take the answer compressed (the worker compresses it). */
  readonly encoding: AnswerEncoding | null;
}
/**
 * An API answer as the worker encoded it: its JSON in UTF-8, moved to the ingest thread, which
 * only writes the bytes. As an object it cost the ingest thread 20–40 ms to take in (structured
 * clone) and encode for a 20-series, 900-step range answer (600 KB): remote writes waited behind it.
 */
export interface PromApiReply {
  readonly status: number;
  /** The answer's JSON in UTF-8, compressed when `encoding` is set. */
  readonly json: Uint8Array;
  readonly encoding: AnswerEncoding | null;
}
/** How an API call runs on the pool (see QueryPool.run). */
export interface RunOptions {
  /** The client went away: the query stops, queued or running. */
  readonly signal?: AbortSignal;
  readonly limits?: Job['limits'];
  /** Queued ahead of the others (see QueryPool.run). */
  readonly ahead?: boolean;
  /** The answer compressed so (acceptedEncoding of the request), if it is large enough. */
  readonly encoding?: AnswerEncoding | null;
}
/** `split`: range calls whose series a helper thread shared (counted by the pool). */
type JobReply = { readonly id: number; readonly ok: true; readonly response: PromApiReply; readonly split: number } | { readonly id: number; readonly ok: false };
/**
 * Rule evaluation's query (main/rules): one instant query whose raw value (label sets, floats,
 * histograms) comes back instead of API JSON, and whose failure keeps its message (a rule's health shows it).
 */
interface InstantJob {
  readonly id: number;
  readonly kind: 'instant';
  readonly expr: string;
  readonly time: number;
  /** The rule evaluator's engine options: limits, lookback (plain data). */
  readonly limits: EngineOptions;
}
type InstantReply = { readonly id: number; readonly ok: true; readonly value: QueryValue } | { readonly id: number; readonly ok: false; readonly error: string };

interface WorkerData {
  readonly ampuleQueryWorker: true;
  readonly port: MessagePort;
  readonly signal: SharedArrayBuffer;
  readonly readerIdleMs: number;
  /** A range call over this many series or more shares them with the worker's helper thread; 0: no helper. */
  readonly splitMinSeries: number;
}
/** A query worker's helper thread (query/split-rows.ts): computes rows; sets the signal once each reply is posted. */
interface HelperData {
  readonly ampuleRowsHelper: true;
  readonly port: MessagePort;
  readonly signal: SharedArrayBuffer;
}
type HelperReply = { readonly ok: true; readonly rows: HelperRows } | { readonly ok: false; readonly timeout: boolean };
/** The ingest thread closed this store or re-keyed it: the worker closes its connection, keys and cached rows of it. */
interface Forget {
  readonly forget: string;
}

/**
 * How long a worker keeps a store's read connection (its data keys and decrypted rows) after the
 * last query that read it: a dashboard's next refresh finds its rows decrypted already.
 */
const READER_IDLE_MS = 60_000;

/** Series a range call selects before a worker shares them with its helper thread (a round number, not tuned: the hand-over costs a copy of the offered series' coded bytes). */
const SPLIT_MIN_SERIES = 256;
/** How long the worker started for `ahead` calls is kept once idle (its start took 0.56 s in a script, loaded through tsx). */
const INTERACTIVE_IDLE_MS = 60_000;

export interface QueryPoolOptions {
  /** Replaces this module as the workers' code (tests: a script that cannot load). */
  readonly script?: URL;
  /** How long a worker keeps an unused store's connection. */
  readonly readerIdleMs?: number;
  /** A range call over this many series or more is shared with the worker's helper thread (0: no helpers; the default on one core). */
  readonly splitMinSeries?: number;
  /** How long the worker for `ahead` calls stays once idle; 0: none, `ahead` calls wait for a worker like the others. */
  readonly interactiveIdleMs?: number;
}

/** Refused or lost queries: the caller answers 503 (retry) or nothing (client gone). */
export class QueryPoolError extends Error {
  constructor(
    message: string,
    /** `unavailable`: no worker could load; the caller evaluates on its own thread instead. */
    readonly reason: 'aborted' | 'crashed' | 'closed' | 'unavailable',
  ) {
    super(message);
    this.name = 'QueryPoolError';
  }
}

// ---- worker side

/** The helper thread: computes each task's rows and answers at once (the query's thread waits). */
function serveRowsHelper(data: HelperData): void {
  yieldToIngest();
  const flag = new Int32Array(data.signal);
  data.port.on('message', (task: RowsTask) => {
    let reply: HelperReply;
    let transfer: ArrayBuffer[] = [];
    try {
      const got = computeRows(task);
      reply = { ok: true, rows: got };
      const { values, present, windowTotals, answered } = got.rows;
      transfer = [values.buffer, present.buffer, windowTotals.buffer, answered.buffer] as ArrayBuffer[];
    } catch (e) {
      reply = { ok: false, timeout: e instanceof RowsTimeout };
    }
    data.port.postMessage(reply, transfer);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  });
  parentPort!.postMessage({ ready: true });
}

/**
 * A query worker's RowsHelper: a thread of its own, started at the first large range call and used
 * from the next one on (once loaded); one that timed out or ended is replaced the same way.
 */
function rowsHelperThread(minSeries: number): RowsHelper & { split: number } {
  let helper: { worker: Worker; port: MessagePort; flag: Int32Array; ready: boolean } | null = null;
  const spawn = () => {
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(4);
    const worker = spawnWorker({ ampuleRowsHelper: true, port: port2, signal } satisfies HelperData, [port2]);
    const h = { worker, port: port1, flag: new Int32Array(signal), ready: false };
    worker.on('message', () => (h.ready = true));
    const gone = () => {
      if (helper === h) helper = null;
    };
    worker.on('error', gone);
    worker.on('exit', gone);
    worker.unref();
    port1.unref();
    return h;
  };
  const self: RowsHelper & { split: number } = {
    minSeries,
    split: 0,
    start(makeTask) {
      helper ??= spawn();
      const h = helper;
      if (!h.ready) return null;
      const task = makeTask();
      Atomics.store(h.flag, 0, 0);
      h.port.postMessage(task, packedBuffers(task.series));
      return {
        wait: () => {
          if (Atomics.wait(h.flag, 0, 0, Math.max(0, task.deadline - Date.now()) + 50) === 'timed-out') {
            // Past the deadline: this helper may still be busy; a fresh one serves the next query.
            if (helper === h) helper = null;
            void h.worker.terminate();
            return 'timeout';
          }
          const reply = receiveMessageOnPort(h.port)?.message as HelperReply | undefined;
          if (!reply?.ok) return reply?.timeout ? 'timeout' : null;
          self.split++;
          return reply.rows;
        },
      };
    },
  };
  return self;
}

function serveQueries(data: WorkerData): void {
  yieldToIngest();
  const helper = data.splitMinSeries > 0 ? rowsHelperThread(data.splitMinSeries) : undefined;
  const flag = new Int32Array(data.signal);
  // One store call at a time is under way (they share the flag): sending the next reads the last
  // one's reply first, kept for whoever sent it.
  let unread: SentCall | null = null;
  const readReply = (): void => {
    Atomics.wait(flag, 0, 0);
    unread!.reply = receiveMessageOnPort(data.port)?.message as StoreReply | undefined;
    unread = null;
  };
  const send = (op: StoreOp, args: unknown[]): SentCall => {
    if (unread) readReply();
    const sent: SentCall = {};
    Atomics.store(flag, 0, 0);
    data.port.postMessage({ op, args } satisfies StoreCall);
    unread = sent;
    return sent;
  };
  const valueOf = (sent: SentCall): never => {
    if (sent === unread) readReply();
    const reply = sent.reply;
    if (!reply?.ok) throw new Error(reply?.damage ?? 'the store could not be read');
    return reply.value as never;
  };
  const call = (op: StoreOp, args: unknown[]): never => valueOf(send(op, args));
  // One call per part, so the ingest thread answers remote write between them; the next part is
  // asked for before this one is read, so the ingest thread copies it meanwhile.
  function* snapshotParts(first: HeadSnapshot, check?: () => void): Generator<HeadSnapshot> {
    for (let part = first; ; ) {
      const next = part.more ? send('more', []) : null;
      yield part;
      if (!next) return;
      check?.();
      part = valueOf(next);
    }
  }
  // A listing, one call a part so that the ingest thread answers remote write between them, each part given to `take` while the ingest thread makes the next; false for a store
  // read on the ingest thread (tests' in-memory stores).
  const listing = (ms: readonly Matcher[] | undefined, what: Listing, take: (part: ListingPart) => void): boolean => {
    let part = call('listing', [ms?.length ? plain(ms) : null, what]) as ListingPart | null;
    if (!part) return false;
    for (;;) {
      const next = part.more ? send('more', []) : null;
      take(part);
      if (!next) return true;
      part = valueOf(next);
    }
  };
  // Parts are distinct within themselves, not across.
  const distinct = (ms: readonly Matcher[] | undefined, what: Listing): string[] | null => {
    const parts: string[][] = [];
    return listing(ms, what, ({ items }) => parts.push(items)) ? sortedDistinct(parts.flat()) : null;
  };
  // Only data crosses threads: matchers lose their compiled test (the ingest thread compiles its
  // own) and select hints stay here (the deadline is checked again between store calls).
  const plain = (ms?: readonly Matcher[]) => ms?.map(({ type, name, value }) => ({ type, name, value }));
  // Read connections by store path, kept while queries use them: closed once idle for
  // readerIdleMs, when the ingest thread closes or re-keys the store (Forget), or when the file is another
  // opening than the reader's (deleted and made anew, reopened).
  const readers = new Map<string, { reader: SnapshotReader; used: number }>();
  const closeReader = (path: string): void => {
    readers.get(path)?.reader.close();
    readers.delete(path);
  };
  const readerFor = (file: StoreFile): SnapshotReader => {
    let r = readers.get(file.path);
    if (!r || r.reader.file.workspaceId !== file.workspaceId || r.reader.file.opening !== file.opening) {
      closeReader(file.path);
      r = { reader: new SnapshotReader(file, (id) => call('dataKey', [id])), used: 0 };
      readers.set(file.path, r);
    }
    r.used = Date.now();
    return r.reader;
  };
  // One timer at a time looks for idle readers while any are open.
  let idleTimer: NodeJS.Timeout | null = null;
  const jobDone = (): void => {
    if (readers.size > 0) idleTimer ??= setTimeout(closeIdle, data.readerIdleMs).unref();
  };
  const closeIdle = (): void => {
    idleTimer = null;
    const now = Date.now();
    for (const [path, r] of readers) if (now - r.used >= data.readerIdleMs) closeReader(path);
    jobDone();
  };
  const querier: Querier = {
    select: (ms, mint, maxt, hints) => {
      hints?.check?.();
      for (let again = false; ; again = true) {
        const held = [...readers].map(([path, r]): [string, number] => [path, r.reader.labelsHeld()]);
        const first = call('snapshot', [plain(ms), mint, maxt, held]) as HeadSnapshot | null;
        // A store without off-thread reads (tests' in-memory stores) is read on the ingest thread.
        if (first === null) return call('select', [plain(ms), mint, maxt]);
        const reader = readerFor(first.store);
        try {
          return reader.select(snapshotParts(first, hints?.check), mint, maxt, hints);
        } catch (e) {
          if (!(e instanceof LabelsForgotten) || again) throw e;
          reader.forgetLabels(); // asked again, every label set is sent
        }
      }
    },
    series: (ms, mint, maxt) => {
      const found: Labels[] = [];
      const listed = listing(ms, { of: 'labels', mint, maxt }, ({ sets }) => {
        for (const labels of unpackLabelSets(sets!)) found.push(labels!);
      });
      return listed ? found.sort(compareLabels) : call('series', [plain(ms), mint, maxt]);
    },
    labelNames: (ms) => distinct(ms, { of: 'names' }) ?? call('labelNames', ms ? [plain(ms)] : []),
    labelValues: (name, ms) => distinct(ms, { of: 'values', name }) ?? call('labelValues', ms ? [name, plain(ms)] : [name]),
  };
  parentPort!.postMessage({ ready: true });
  parentPort!.on('message', (job: Job | InstantJob | Forget) => {
    if ('forget' in job) return closeReader(job.forget);
    if ('kind' in job) {
      let reply: InstantReply;
      try {
        reply = { id: job.id, ok: true, value: instantQuery(querier, job.expr, job.time, { ...job.limits, helper }).value };
      } catch (e) {
        reply = { id: job.id, ok: false, error: e instanceof ParseError ? e.describe() : e instanceof Error ? e.message : 'the query failed' };
      } finally {
        jobDone();
      }
      parentPort!.postMessage(reply);
      return;
    }
    const splitBefore = helper?.split ?? 0;
    handlePromApi(job.apiPath, new URLSearchParams(job.params), querier, { ...job.limits, helper })
      .finally(jobDone)
      .then(
        (r) => {
          const { body, encoding } = encodeAnswer(promApiJson(r), job.encoding);
          // Bytes that own their buffer, so they can move (zlib's Buffer may share Node's pool).
          const owns = body.buffer instanceof ArrayBuffer && body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
          const json = owns ? (body as Uint8Array<ArrayBuffer>) : new Uint8Array(body);
          parentPort!.postMessage({ id: job.id, ok: true, response: { status: r.status, json, encoding }, split: (helper?.split ?? 0) - splitBefore } satisfies JobReply, [json.buffer]);
        },
        () => parentPort!.postMessage({ id: job.id, ok: false } satisfies JobReply),
      );
  });
}

if (!isMainThread && (workerData as Partial<WorkerData> | null)?.ampuleQueryWorker === true) serveQueries(workerData as WorkerData);
if (!isMainThread && (workerData as Partial<HelperData> | null)?.ampuleRowsHelper === true) serveRowsHelper(workerData as HelperData);

// ---- ingest-thread side

interface Pending {
  readonly job: Job | InstantJob;
  readonly querier: Querier;
  /** Queued ahead of the others (a person waiting at the window, not a dashboard's panel). */
  readonly ahead?: boolean;
  /** Settle once; each also stops listening for the client going away. */
  resolve(r: PromApiReply | QueryValue): void;
  reject(e: unknown): void;
}

interface Slot {
  worker: Worker;
  port: MessagePort;
  flag: Int32Array;
  running: Pending | null;
  /** The rest of the head snapshot or listing the running query is taking. */
  cursor: SnapshotCursor | ListingCursor | null;
  /** The worker has loaded this module and listens for jobs. */
  ready: boolean;
  /** Started for `ahead` calls that found every other worker busy; takes only those, and ends once idle. */
  readonly interactive: boolean;
  /** By store path: the series whose labels the worker holds, as sent (see LabelsSent). */
  readonly labelsSent: Map<string, { readonly opening: number; readonly sent: LabelsSentBits }>;
  idle?: ReturnType<typeof setTimeout>;
}

/**
 * This module as a worker: from dist/ (serve, desktop) the query workers' own bundle beside this
 * one (./query-worker.ts), or this bundle itself where there is none (a test's bundle); the
 * TypeScript source through tsx when running from source (tests, benchmarks).
 */
function spawnWorker(data: WorkerData | HelperData, transfer: MessagePort[], script?: URL): Worker {
  const options = { workerData: data, transferList: transfer };
  if (script) return new Worker(script, options);
  return moduleWorker(import.meta.url, QUERY_WORKER_BUNDLE, options) ?? new Worker(new URL(import.meta.url), options);
}

export class QueryPool {
  private readonly slots: Slot[] = [];
  /** The last LabelsSent generation given (each is new to every worker). */
  private labelsGenerations = 0;
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private everReady = false;
  private loadFailures = 0;
  /** Why no worker could load (then every call rejects with reason `unavailable`); null while usable. */
  unavailable: string | null = null;

  private readonly unsubscribe: () => void;

  private readonly script?: URL;
  private readonly readerIdleMs: number;
  private readonly splitMinSeries: number;
  private readonly interactiveIdleMs: number;
  /** Interactive workers in a row that ended before they loaded: after LOAD_ATTEMPTS, `ahead` calls only wait for the others. */
  private interactiveLoadFailures = 0;

  /** `size` workers; default: one per core beside the ingest thread's, at least one (and one more for `ahead` calls when needed). */
  constructor(
    readonly size: number = Math.max(1, availableParallelism() - 1),
    opts: QueryPoolOptions = {},
  ) {
    this.script = opts.script;
    this.readerIdleMs = opts.readerIdleMs ?? READER_IDLE_MS;
    this.splitMinSeries = opts.splitMinSeries ?? (availableParallelism() > 1 ? SPLIT_MIN_SERIES : 0);
    this.interactiveIdleMs = opts.interactiveIdleMs ?? INTERACTIVE_IDLE_MS;
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
    this.unsubscribe = onStoreReleased((path) => {
      for (const slot of this.slots) {
        slot.labelsSent.delete(path);
        slot.worker.postMessage({ forget: path } satisfies Forget);
      }
    });
  }

  /**
   * What `slot`'s worker holds of `file`'s labels, given the generation it says it holds: the
   * record kept here when that is its generation for this opening, else a new, empty one.
   */
  private labelsSent(slot: Slot, file: StoreFile, held: number): LabelsSentBits {
    const known = slot.labelsSent.get(file.path);
    if (known && known.opening === file.opening && known.sent.generation === held) return known.sent;
    const sent = new LabelsSentBits(++this.labelsGenerations);
    slot.labelsSent.set(file.path, { opening: file.opening, sent });
    return sent;
  }

  /**
   * Answers one Prometheus API request (see handlePromApi) on a worker, reading through `querier`.
   * `ahead`: queued before every waiting request that is not, and run on a worker of its own when
   * every worker is busy (the window's interactive calls: a completion should not wait behind a
   * dashboard's panels).
   */
  run(apiPath: string, params: URLSearchParams, querier: Querier, { signal, limits = {}, ahead = false, encoding = null }: RunOptions = {}): Promise<PromApiReply> {
    if (this.unavailable !== null) return Promise.reject(new QueryPoolError(this.unavailable, 'unavailable'));
    if (this.closed) return Promise.reject(new QueryPoolError('the query pool is closed', 'closed'));
    if (signal?.aborted) return Promise.reject(new QueryPoolError('the client went away', 'aborted'));
    return new Promise((resolve, reject) => {
      const onAbort = () => this.abort(p);
      const settled = () => signal?.removeEventListener('abort', onAbort);
      const p: Pending = {
        job: { id: this.nextId++, apiPath, params: params.toString(), limits, encoding },
        querier,
        ahead,
        resolve: (r) => (settled(), resolve(r as PromApiReply)),
        reject: (e) => (settled(), reject(e)),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (ahead) {
        const behind = this.queue.findIndex((q) => !q.ahead);
        this.queue.splice(behind < 0 ? this.queue.length : behind, 0, p);
      } else this.queue.push(p);
      this.dispatch();
    });
  }

  /** Queries stopped because their client went away (queued or running). */
  cancelled = 0;
  /** Range calls a worker shared with its helper thread. */
  split = 0;

  /** Workers up now: `size`, and the interactive one while it serves or waits. */
  get workers(): number {
    return this.slots.length;
  }

  /** Queries running on a worker now. */
  get running(): number {
    return this.slots.filter((s) => s.running).length;
  }

  /**
   * Evaluates `expr` at `time` (ms) on a worker, reading through `querier`, and returns its raw
   * value (rule evaluation). A query error (parse, timeout, samples limit) rejects with its
   * message; a lost worker with QueryPoolError.
   */
  instant(expr: string, time: number, querier: Querier, limits: InstantJob['limits'] = {}): Promise<QueryValue> {
    if (this.unavailable !== null) return Promise.reject(new QueryPoolError(this.unavailable, 'unavailable'));
    if (this.closed) return Promise.reject(new QueryPoolError('the query pool is closed', 'closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { id: this.nextId++, kind: 'instant', expr, time, limits }, querier, resolve: (v) => resolve(v as QueryValue), reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe();
    for (const p of this.queue.splice(0)) p.reject(new QueryPoolError('the query pool is closed', 'closed'));
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => this.stop(s, new QueryPoolError('the query pool is closed', 'closed'))));
  }

  private spawn(interactive = false): Slot {
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(4);
    // The interactive worker's calls are small: no helper thread for it.
    const splitMinSeries = interactive ? 0 : this.splitMinSeries;
    const worker = spawnWorker({ ampuleQueryWorker: true, port: port2, signal, readerIdleMs: this.readerIdleMs, splitMinSeries }, [port2], this.script);
    const slot: Slot = { worker, port: port1, flag: new Int32Array(signal), running: null, cursor: null, ready: false, interactive, labelsSent: new Map() };
    // The worker waits until its store call is answered: answer every one, even with a failure.
    port1.on('message', (call: StoreCall) => {
      let reply: StoreReply;
      let transfer: ArrayBuffer[] = [];
      let secret: Buffer | null = null;
      try {
        const q = slot.running?.querier;
        if (!q) throw new Error('no query running');
        if (call.op === 'more') {
          if (!slot.cursor) throw new Error('no snapshot or listing under way');
          const part = slot.cursor.next();
          if (!part.more) slot.cursor = null;
          if ('lists' in part) transfer = snapshotBuffers(part);
          else if (part.sets) transfer = labelSetBuffers(part.sets);
          reply = { ok: true, value: part };
        } else if (call.op === 'listing') {
          const reads = (q as Partial<{ readonly offThread: OffThreadReads }>).offThread;
          const [ms, what] = withMatchers(call) as [Matcher[] | null, Listing];
          const cursor = reads?.listing(ms, what);
          const part = cursor?.next() ?? null;
          slot.cursor = part?.more ? cursor! : null;
          if (part?.sets) transfer = labelSetBuffers(part.sets);
          reply = { ok: true, value: part };
        } else if (call.op === 'snapshot' || call.op === 'dataKey') {
          const reads = (q as Partial<{ readonly offThread: OffThreadReads }>).offThread;
          if (call.op === 'dataKey') {
            if (!reads) throw new Error('this store is read on the ingest thread');
            secret = reads.dataKey(call.args[0] as number);
            reply = { ok: true, value: secret };
          } else if (!reads) reply = { ok: true, value: null };
          else {
            const [ms, mint, maxt, held] = withMatchers(call) as [Matcher[], number, number, [string, number][]];
            const cursor = reads.snapshot(ms, mint, maxt, this.labelsSent(slot, reads.file, held.find(([path]) => path === reads.file.path)?.[1] ?? -1));
            const snap = cursor.next();
            slot.cursor = snap.more ? cursor : null;
            transfer = snapshotBuffers(snap);
            reply = { ok: true, value: snap };
          }
        } else reply = { ok: true, value: (q[call.op] as (...a: unknown[]) => unknown)(...withMatchers(call)) };
      } catch (e) {
        reply = e instanceof StoreError ? { ok: false, damage: e.message } : { ok: false };
      }
      port1.postMessage(reply, transfer);
      secret?.fill(0); // the worker has its copy
      Atomics.store(slot.flag, 0, 1);
      Atomics.notify(slot.flag, 0);
    });
    worker.on('message', (reply: JobReply | InstantReply | { ready: true }) => {
      if ('ready' in reply) {
        slot.ready = this.everReady = true;
        if (slot.interactive) this.interactiveLoadFailures = 0;
        return;
      }
      const p = slot.running;
      if (!p || p.job.id !== reply.id) return;
      this.finish(slot);
      if (reply.ok && 'split' in reply) this.split += reply.split;
      if (reply.ok) p.resolve('value' in reply ? reply.value : reply.response);
      else if ('error' in reply) p.reject(new Error(reply.error));
      else p.reject(new QueryPoolError('the query failed on its worker', 'crashed'));
    });
    worker.on('error', (e) => this.lost(slot, new QueryPoolError(`the query worker failed: ${e.message}`, 'crashed')));
    worker.on('exit', () => {
      if (!this.closed && this.slots.includes(slot)) this.lost(slot, new QueryPoolError('the query worker ended', 'crashed'));
    });
    worker.unref();
    port1.unref();
    return slot;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.running || slot.interactive) continue;
      const next = this.queue.shift();
      if (!next) return;
      this.start(slot, next);
    }
    // Every worker is busy: an `ahead` call (queued first) goes to the interactive one.
    if (!this.queue[0]?.ahead || this.interactiveIdleMs <= 0 || this.closed || this.interactiveLoadFailures >= LOAD_ATTEMPTS) return;
    let slot = this.slots.find((s) => s.interactive);
    if (!slot) this.slots.push((slot = this.spawn(true)));
    if (!slot.running) this.start(slot, this.queue.shift()!);
  }

  private start(slot: Slot, p: Pending): void {
    clearTimeout(slot.idle);
    slot.running = p;
    slot.worker.ref(); // a query under way keeps the process up; an idle pool does not
    slot.worker.postMessage(p.job);
  }

  private finish(slot: Slot): void {
    slot.running = null;
    slot.cursor = null;
    slot.worker.unref();
    if (slot.interactive) {
      slot.idle = setTimeout(() => this.retire(slot), this.interactiveIdleMs);
      slot.idle.unref();
    }
    queueMicrotask(() => this.dispatch());
  }

  /** Ends a worker that is not to be replaced (the interactive one, idle or lost). */
  private retire(slot: Slot, err = new QueryPoolError('the query worker was retired', 'closed')): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    clearTimeout(slot.idle);
    void this.stop(slot, err);
  }

  private abort(p: Pending): void {
    const queued = this.queue.indexOf(p);
    if (queued >= 0) {
      this.cancelled++;
      this.queue.splice(queued, 1);
      p.reject(new QueryPoolError('the client went away', 'aborted'));
      return;
    }
    const slot = this.slots.find((s) => s.running === p);
    if (!slot) return;
    this.cancelled++;
    this.replace(slot, new QueryPoolError('the client went away', 'aborted'));
  }

  /** A worker ended or failed: replaced, unless no worker has ever loaded after LOAD_ATTEMPTS tries. */
  private lost(slot: Slot, err: QueryPoolError): void {
    if (!this.slots.includes(slot)) return;
    // A job handed to a worker that never loaded has not started: it waits for the next worker.
    if (!slot.ready && slot.running) {
      this.queue.unshift(slot.running);
      slot.running = null;
    }
    if (slot.interactive && !slot.ready) this.interactiveLoadFailures++;
    if (slot.ready || this.everReady || ++this.loadFailures < LOAD_ATTEMPTS) return this.replace(slot, err);
    this.unavailable = `query threads could not start (${err.message})`;
    const gone = new QueryPoolError(this.unavailable, 'unavailable');
    for (const p of this.queue.splice(0)) p.reject(gone);
    for (const s of this.slots.splice(0)) void this.stop(s, gone);
  }

  /** Ends a slot's worker (its running query gets `err`) and starts a fresh one in its place (none for the interactive one: the next `ahead` call that needs it starts it). */
  private replace(slot: Slot, err: QueryPoolError): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    if (this.closed || slot.interactive) this.retire(slot, err);
    else {
      this.slots[i] = this.spawn();
      void this.stop(slot, err);
    }
    this.dispatch();
  }

  private async stop(slot: Slot, err: QueryPoolError): Promise<void> {
    const p = slot.running;
    slot.running = null;
    slot.cursor = null;
    p?.reject(err);
    // A worker waiting for a store answer is woken (it then fails its query) so it can end.
    Atomics.store(slot.flag, 0, 1);
    Atomics.notify(slot.flag, 0);
    slot.port.close();
    await slot.worker.terminate();
  }
}
