// Remote-write 1.0 decoding on a second core: snappy decompression and the scan that checks the
// body and lays out its series (rw1.ts scanV1) run on a worker thread, so the ingest thread only
// resolves series, appends and commits (on two cores it was the busier of the two by far). The
// body goes over as a copy; the decompressed bytes and the layout come back transferred, and the
// decompressed memory goes back again once appended, for the next body. Refusals (413, corrupt
// snappy, malformed protobuf) come back as the same errors the ingest thread would have thrown.
// A thread that fails, or is not up yet, decodes nothing: callers decode on their own thread.
import { existsSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { ProtoError, ProtoReader } from './proto';
import { scanV1, SeriesLayout } from './rw1';
import type { RequestCounts } from './sink';
import { decompressSnappyBlock, type OutputMemory } from './snappy';
import { IngestError } from './types';

/** A body decoded off-thread: hand `memory` back with recycle() once nothing reads `bytes`. */
export interface DecodedBody {
  readonly bytes: Buffer;
  readonly layout: SeriesLayout;
  readonly counts: RequestCounts;
  readonly memory: ArrayBuffer;
}

interface Job {
  readonly id: number;
  readonly body: Uint8Array;
  readonly maxBytes: number;
  /** Decompressed memory handed back, reused when large enough. */
  readonly spare: ArrayBuffer | null;
}

type Reply =
  | { readonly id: number; readonly ok: true; readonly memory: ArrayBuffer; readonly length: number; readonly rows: Int32Array<ArrayBuffer>; readonly count: number; readonly counts: RequestCounts }
  | { readonly id: number; readonly ok: false; readonly kind: 'ingest' | 'proto'; readonly status: number; readonly message: string }
  /** Not a refusal (a fault of the thread's own): the caller decodes the body itself. */
  | { readonly id: number; readonly ok: false; readonly kind: 'failed' };

/** The worker's bundle beside this one in dist/ (build/build.mjs). */
export const DECODE_WORKER_BUNDLE = './decode-worker.mjs';

interface Pending {
  resolve(d: DecodedBody | null): void;
  reject(e: unknown): void;
}

export class DecodeThread {
  private readonly worker: Worker;
  private ready = false;
  private failed = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Bodies this thread decoded or refused (not those it handed back). */
  decoded = 0;
  /** Decompressed memory back from the ingest thread, sent with the next jobs. */
  private readonly spares: ArrayBuffer[] = [];

  constructor(script?: URL) {
    this.worker = spawn(script);
    this.worker.unref();
    this.worker.on('message', (m: Reply | 'ready') => (m === 'ready' ? (this.ready = true) : this.settle(m)));
    this.worker.on('error', () => this.fail());
    this.worker.on('exit', () => this.fail());
  }

  /** Whether decode() can take a body now (up, not failed). */
  get usable(): boolean {
    return this.ready && !this.failed;
  }

  /**
   * Decompresses and scans a remote-write 1.0 body of at most `maxBytes` decompressed; rejects
   * with IngestError or ProtoError as decoding on this thread would throw; null when the thread
   * failed meanwhile (decode on this thread instead).
   */
  decode(body: Buffer, maxBytes: number): Promise<DecodedBody | null> {
    if (!this.usable) return Promise.resolve(null);
    const id = this.nextId++;
    const copy = new Uint8Array(body.length);
    copy.set(body);
    const spare = this.spares.pop() ?? null;
    const job: Job = { id, body: copy, maxBytes, spare };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(job, spare ? [copy.buffer, spare] : [copy.buffer]);
    });
  }

  /** Hands decompressed memory back for reuse; the caller keeps no view of it. */
  recycle(memory: ArrayBuffer): void {
    if (this.spares.length < SPARES) this.spares.push(memory);
  }

  async close(): Promise<void> {
    this.failed = true;
    this.settleAll();
    await this.worker.terminate();
  }

  private settle(m: Reply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok || m.kind !== 'failed') this.decoded++;
    if (m.ok) {
      const layout = new SeriesLayout();
      layout.rows = m.rows;
      layout.count = m.count;
      p.resolve({ bytes: Buffer.from(m.memory, 0, m.length), layout, counts: m.counts, memory: m.memory });
    } else if (m.kind === 'failed') p.resolve(null);
    else p.reject(m.kind === 'ingest' ? new IngestError(m.status as 400 | 413, m.message) : new ProtoError(m.message));
  }

  private fail(): void {
    this.failed = true;
    this.settleAll();
  }

  private settleAll(): void {
    for (const p of this.pending.values()) p.resolve(null);
    this.pending.clear();
  }
}

/** Decompressed buffers kept for reuse: one per request in flight at once is plenty. */
const SPARES = 8;

function spawn(script?: URL): Worker {
  const data = { ampuleDecodeWorker: true };
  if (script) return new Worker(script, { workerData: data });
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    const code = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(self)}); })`;
    return new Worker(code, { eval: true, workerData: data });
  }
  const own = new URL(DECODE_WORKER_BUNDLE, self);
  return new Worker(self.startsWith('file:') && existsSync(own) ? own : new URL(self), { workerData: data });
}

// ---- the worker's side

function serveDecodes(): void {
  const port = parentPort!;
  const layout = new SeriesLayout();
  port.on('message', (job: Job) => {
    let reply: Reply;
    let transfer: ArrayBuffer[] = [];
    try {
      const memory: OutputMemory = {
        take: (n) => (job.spare && job.spare.byteLength >= n ? Buffer.from(job.spare, 0, n) : Buffer.from(new ArrayBuffer(Math.max(n, 64 * 1024)), 0, n)),
      };
      const bytes = decompressSnappyBlock(Buffer.from(job.body.buffer, job.body.byteOffset, job.body.length), job.maxBytes, memory);
      const counts = scanV1(new ProtoReader(bytes), layout);
      const rows = layout.rows.slice(0, layout.count * SeriesLayout.ROW);
      reply = { id: job.id, ok: true, memory: bytes.buffer as ArrayBuffer, length: bytes.length, rows, count: layout.count, counts };
      transfer = [bytes.buffer as ArrayBuffer, rows.buffer as ArrayBuffer];
    } catch (e) {
      if (e instanceof IngestError) reply = { id: job.id, ok: false, kind: 'ingest', status: e.status, message: e.message };
      else if (e instanceof ProtoError) reply = { id: job.id, ok: false, kind: 'proto', status: 400, message: e.message };
      else reply = { id: job.id, ok: false, kind: 'failed' };
    }
    port.postMessage(reply, transfer);
  });
  port.postMessage('ready');
}

if (!isMainThread && (workerData as { ampuleDecodeWorker?: unknown } | null)?.ampuleDecodeWorker === true) serveDecodes();
