// PromQL off the ingest thread: the Prometheus HTTP API (parsing, evaluation, JSON shaping) runs
// on worker threads sized to the cores, so a heavy query_range no longer holds the event loop that
// answers remote write for its whole evaluation. The store is still read on the ingest thread: a
// worker's Querier calls block it (Atomics.wait) while the ingest thread serves the select from the
// workspace's store and posts the series back (receiveMessageOnPort). A query whose client went
// away is stopped by ending its worker (a fresh one takes its place).
//
// Step 1 of issue 9's item 3: select and decoding still run on the ingest thread (about 40% of a
// heavy query's time, measured); reading sealed rows through the worker's own SQLite connection and
// a head snapshot needs the tsdb to open a read-only replica, which it does not yet.
import { availableParallelism } from 'node:os';
import { isMainThread, MessageChannel, parentPort, receiveMessageOnPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import { handlePromApi, type PromApiOptions, type PromApiResponse } from '../query/api';
import type { Matcher, Querier } from '../tsdb/types';
import { instantQuery, storeMatcher, type EngineOptions, type QueryValue } from '../query/engine';
import { StoreError } from '../tsdb/errors';

/** A store call's arguments with its matchers compiled again (RE2) on this side. */
function withMatchers(call: StoreCall): unknown[] {
  const at = call.op === 'labelValues' ? 1 : 0;
  return call.args.map((a, i) => (i === at && Array.isArray(a) ? (a as Matcher[]).map(storeMatcher) : a));
}

type StoreOp = 'select' | 'series' | 'labelNames' | 'labelValues';
interface StoreCall {
  readonly op: StoreOp;
  readonly args: unknown[];
}
/** A failed store call carries a damaged store's message (it names workspace, file and item); other errors stay here. */
type StoreReply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly damage?: string };
interface Job {
  readonly id: number;
  readonly apiPath: string;
  readonly params: string;
  readonly limits: Pick<PromApiOptions, 'maxSamples' | 'timeoutMs'>;
}
type JobReply = { readonly id: number; readonly ok: true; readonly response: PromApiResponse } | { readonly id: number; readonly ok: false };
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
}

/** Refused or lost queries: the caller answers 503 (retry) or nothing (client gone). */
export class QueryPoolError extends Error {
  constructor(
    message: string,
    readonly reason: 'aborted' | 'crashed' | 'closed',
  ) {
    super(message);
    this.name = 'QueryPoolError';
  }
}

// ---- worker side

function serveQueries(data: WorkerData): void {
  const flag = new Int32Array(data.signal);
  const call = (op: StoreOp, args: unknown[]): never => {
    Atomics.store(flag, 0, 0);
    data.port.postMessage({ op, args } satisfies StoreCall);
    Atomics.wait(flag, 0, 0);
    const reply = receiveMessageOnPort(data.port)?.message as StoreReply | undefined;
    if (!reply?.ok) throw new Error(reply?.damage ?? 'the store could not be read');
    return reply.value as never;
  };
  // Only data crosses threads: matchers lose their compiled test (the ingest thread compiles its
  // own) and select hints stay here (the deadline is checked again between store calls).
  const plain = (ms?: readonly Matcher[]) => ms?.map(({ type, name, value }) => ({ type, name, value }));
  const querier: Querier = {
    select: (ms, mint, maxt, hints) => (hints?.check?.(), call('select', [plain(ms), mint, maxt])),
    series: (ms, ...rest) => call('series', [plain(ms), ...rest]),
    labelNames: (ms) => call('labelNames', ms ? [plain(ms)] : []),
    labelValues: (name, ms) => call('labelValues', ms ? [name, plain(ms)] : [name]),
  };
  parentPort!.on('message', (job: Job | InstantJob) => {
    if ('kind' in job) {
      let reply: InstantReply;
      try {
        reply = { id: job.id, ok: true, value: instantQuery(querier, job.expr, job.time, job.limits).value };
      } catch (e) {
        reply = { id: job.id, ok: false, error: e instanceof Error ? e.message : 'the query failed' };
      }
      parentPort!.postMessage(reply);
      return;
    }
    handlePromApi(job.apiPath, new URLSearchParams(job.params), querier, job.limits).then(
      (response) => parentPort!.postMessage({ id: job.id, ok: true, response } satisfies JobReply),
      () => parentPort!.postMessage({ id: job.id, ok: false } satisfies JobReply),
    );
  });
}

if (!isMainThread && (workerData as Partial<WorkerData> | null)?.ampuleQueryWorker === true) serveQueries(workerData as WorkerData);

// ---- ingest-thread side

interface Pending {
  readonly job: Job | InstantJob;
  readonly querier: Querier;
  /** Settle once; each also stops listening for the client going away. */
  resolve(r: PromApiResponse | QueryValue): void;
  reject(e: unknown): void;
}

interface Slot {
  worker: Worker;
  port: MessagePort;
  flag: Int32Array;
  running: Pending | null;
}

/**
 * This module as a worker: the bundle itself when running from dist/ (serve, desktop), the
 * TypeScript source through tsx when running from source (tests, benchmarks).
 */
function spawnWorker(data: WorkerData, transfer: MessagePort[]): Worker {
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    const code = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(self)}); })`;
    return new Worker(code, { eval: true, workerData: data, transferList: transfer });
  }
  return new Worker(new URL(self), { workerData: data, transferList: transfer });
}

export class QueryPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;

  /** `size` workers; default: one per core beside the ingest thread's, at least one. */
  constructor(readonly size: number = Math.max(1, availableParallelism() - 1)) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** Answers one Prometheus API request (see handlePromApi) on a worker, reading through `querier`. */
  run(apiPath: string, params: URLSearchParams, querier: Querier, signal?: AbortSignal, limits: Job['limits'] = {}): Promise<PromApiResponse> {
    if (this.closed) return Promise.reject(new QueryPoolError('the query pool is closed', 'closed'));
    if (signal?.aborted) return Promise.reject(new QueryPoolError('the client went away', 'aborted'));
    return new Promise((resolve, reject) => {
      const onAbort = () => this.abort(p);
      const settled = () => signal?.removeEventListener('abort', onAbort);
      const p: Pending = {
        job: { id: this.nextId++, apiPath, params: params.toString(), limits },
        querier,
        resolve: (r) => (settled(), resolve(r as PromApiResponse)),
        reject: (e) => (settled(), reject(e)),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(p);
      this.dispatch();
    });
  }

  /**
   * Evaluates `expr` at `time` (ms) on a worker, reading through `querier`, and returns its raw
   * value (rule evaluation). A query error (parse, timeout, samples limit) rejects with its
   * message; a lost worker with QueryPoolError.
   */
  instant(expr: string, time: number, querier: Querier, limits: InstantJob['limits'] = {}): Promise<QueryValue> {
    if (this.closed) return Promise.reject(new QueryPoolError('the query pool is closed', 'closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { id: this.nextId++, kind: 'instant', expr, time, limits }, querier, resolve: (v) => resolve(v as QueryValue), reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new QueryPoolError('the query pool is closed', 'closed'));
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => this.stop(s, new QueryPoolError('the query pool is closed', 'closed'))));
  }

  private spawn(): Slot {
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(4);
    const worker = spawnWorker({ ampuleQueryWorker: true, port: port2, signal }, [port2]);
    const slot: Slot = { worker, port: port1, flag: new Int32Array(signal), running: null };
    // The worker waits until its store call is answered: answer every one, even with a failure.
    port1.on('message', (call: StoreCall) => {
      let reply: StoreReply;
      try {
        const q = slot.running?.querier;
        if (!q) throw new Error('no query running');
        reply = { ok: true, value: (q[call.op] as (...a: unknown[]) => unknown)(...withMatchers(call)) };
      } catch (e) {
        reply = e instanceof StoreError ? { ok: false, damage: e.message } : { ok: false };
      }
      port1.postMessage(reply);
      Atomics.store(slot.flag, 0, 1);
      Atomics.notify(slot.flag, 0);
    });
    worker.on('message', (reply: JobReply | InstantReply) => {
      const p = slot.running;
      if (!p || p.job.id !== reply.id) return;
      this.finish(slot);
      if (reply.ok) p.resolve('value' in reply ? reply.value : reply.response);
      else if ('error' in reply) p.reject(new Error(reply.error));
      else p.reject(new QueryPoolError('the query failed on its worker', 'crashed'));
    });
    worker.on('error', () => this.replace(slot, new QueryPoolError('the query worker failed', 'crashed')));
    worker.on('exit', () => {
      if (!this.closed && this.slots.includes(slot)) this.replace(slot, new QueryPoolError('the query worker ended', 'crashed'));
    });
    worker.unref();
    port1.unref();
    return slot;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.running) continue;
      const next = this.queue.shift();
      if (!next) return;
      slot.running = next;
      slot.worker.ref(); // a query under way keeps the process up; an idle pool does not
      slot.worker.postMessage(next.job);
    }
  }

  private finish(slot: Slot): void {
    slot.running = null;
    slot.worker.unref();
    queueMicrotask(() => this.dispatch());
  }

  private abort(p: Pending): void {
    const queued = this.queue.indexOf(p);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      p.reject(new QueryPoolError('the client went away', 'aborted'));
      return;
    }
    const slot = this.slots.find((s) => s.running === p);
    if (slot) this.replace(slot, new QueryPoolError('the client went away', 'aborted'));
  }

  /** Ends a slot's worker (its running query gets `err`) and starts a fresh one in its place. */
  private replace(slot: Slot, err: QueryPoolError): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    if (this.closed) this.slots.splice(i, 1);
    else this.slots[i] = this.spawn();
    void this.stop(slot, err);
    this.dispatch();
  }

  private async stop(slot: Slot, err: QueryPoolError): Promise<void> {
    const p = slot.running;
    slot.running = null;
    p?.reject(err);
    // A worker waiting for a store answer is woken (it then fails its query) so it can end.
    Atomics.store(slot.flag, 0, 1);
    Atomics.notify(slot.flag, 0);
    slot.port.close();
    await slot.worker.terminate();
  }
}
