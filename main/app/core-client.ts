// The main-process end of the core worker protocol: numbered requests, one pending promise each,
// all failed at once (as 'unavailable') if the core goes away. Transport-agnostic: the desktop
// gives it an Electron utility process, tests and plain Node a worker_threads Worker.
import { Worker } from 'node:worker_threads';
import { ApiError, type ApiMethod, type ApiResult } from '../../shared/api';
import { isCoreEvent, isCoreReply, type CoreEvent, type CoreOpened, type CoreOptions, type CoreRequest, type CoreStatus, type MessageLink } from '../worker/protocol';

type Pending = (result: ApiResult<unknown>) => void;
type RequestBody = CoreRequest extends infer R ? (R extends CoreRequest ? Omit<R, 'id'> : never) : never;

export class CoreClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private gone: string | null = null;
  private readonly eventListeners: ((e: CoreEvent) => void)[] = [];

  constructor(private readonly link: MessageLink) {
    link.onMessage((m) => {
      if (isCoreEvent(m)) {
        for (const l of this.eventListeners) l(m);
        return;
      }
      if (!isCoreReply(m)) return;
      const settle = this.pending.get(m.id);
      this.pending.delete(m.id);
      settle?.(m.result);
    });
  }

  /** Listens to what the core reports unasked (alerts that fired). */
  onEvent(listener: (e: CoreEvent) => void): void {
    this.eventListeners.push(listener);
  }

  /** Sends one request; resolves with its envelope (never rejects). */
  request(body: RequestBody): Promise<ApiResult<unknown>> {
    if (this.gone) return Promise.resolve(unavailable(this.gone));
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.link.post({ ...body, id });
    });
  }

  /** An API call from the window, answered as an envelope. */
  call(method: ApiMethod, args: readonly unknown[]): Promise<ApiResult<unknown>> {
    return this.request({ op: 'call', method, args });
  }

  async open(options: CoreOptions): Promise<CoreOpened> {
    return unwrap(await this.request({ op: 'open', options })) as CoreOpened;
  }

  async status(): Promise<CoreStatus> {
    return unwrap(await this.request({ op: 'status' })) as CoreStatus;
  }

  /** Asks the core to stop listening, flush and close its stores; resolves once it has. */
  async shutdown(): Promise<void> {
    unwrap(await this.request({ op: 'shutdown' }));
  }

  /** The core exited or crashed: every waiting call fails with a message saying so. */
  lost(reason: string): void {
    this.gone = reason;
    for (const settle of this.pending.values()) settle(unavailable(reason));
    this.pending.clear();
  }
}

function unavailable(reason: string): ApiResult<never> {
  return { ok: false, error: { kind: 'unavailable', message: `The Ampule core is not running: ${reason}`, advice: 'Restart Ampule.' } };
}

function unwrap(result: ApiResult<unknown>): unknown {
  if (result.ok) return result.value;
  throw new ApiError(result.error.kind, result.error.message, result.error.field, result.error.advice);
}

export interface CoreThread {
  readonly client: CoreClient;
  /** Waits for the shutdown reply, then for the thread to end (terminated after graceMs). */
  stop(graceMs?: number): Promise<void>;
}

/** Runs the core in a worker_threads Worker (plain Node: tests, and wherever Electron is absent). */
export function startCoreThread(workerFile: string | URL, execArgv?: string[]): CoreThread {
  const worker = new Worker(workerFile, { workerData: { ampuleCore: true }, ...(execArgv ? { execArgv } : {}) });
  const client = new CoreClient({
    post: (m) => worker.postMessage(m),
    onMessage: (l) => worker.on('message', l),
    close: () => void worker.terminate(),
  });
  const exited = new Promise<void>((resolve) => {
    worker.once('error', (e) => client.lost(`worker error: ${e.message}`));
    worker.once('exit', (code) => {
      client.lost(`worker exited with code ${code}`);
      resolve();
    });
  });
  return {
    client,
    async stop(graceMs = 5_000) {
      await client.shutdown();
      const timer = setTimeout(() => void worker.terminate(), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
