// Export to a remote-write receiver: the forwarder's encoder and sender (main/forward), one request
// in flight, in series order. Unlike forwarding, an export has a user waiting at a terminal: a
// receiver that refuses (4xx) or stays unreachable ends it with the receiver's status and message
// (credentials redacted by the sender) instead of retrying for ever.
import { compareLabels, type Labels } from '../../shared/labels';
import { Batch } from '../forward/batch';
import { RemoteWriteEncoder, type ProtobufMessage } from '../forward/encode';
import { RemoteWriteSender, SendAborted, type SenderAuth } from '../forward/sender';
import { ExportAborted, type ExportTarget } from './export';
import type { SeriesRun } from './series-pages';

export interface RemoteWriteExportOptions {
  readonly url: URL;
  readonly message: ProtobufMessage;
  readonly auth: SenderAuth;
  readonly orgId?: string;
  /** PEM of the CA(s) to trust instead of the system's. */
  readonly ca?: string;
  /** Samples per request (Prometheus's max_samples_per_send). */
  readonly samplesPerRequest?: number;
  /** Attempts of one request before the export gives up (5xx, 429, network). */
  readonly maxAttempts?: number;
  readonly timeoutMs?: number;
  /** The export's own abort (Ctrl-C): ends a request in flight too. */
  readonly signal?: AbortSignal;
}

export class ReceiverError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReceiverError';
  }
}

export class RemoteWriteTarget implements ExportTarget {
  readonly staleMarkersSkipped = 0;
  /** Requests acknowledged and bytes sent (compressed). */
  requests = 0;
  bytes = 0;
  private readonly batch = new Batch();
  private readonly encoder = new RemoteWriteEncoder();
  private readonly sender: RemoteWriteSender;
  private readonly perRequest: number;

  constructor(private readonly opts: RemoteWriteExportOptions) {
    this.perRequest = opts.samplesPerRequest ?? 5000;
    this.sender = new RemoteWriteSender({
      url: opts.url,
      message: opts.message,
      auth: opts.auth,
      ...(opts.orgId ? { orgId: opts.orgId } : {}),
      ...(opts.ca ? { ca: opts.ca } : {}),
      timeoutMs: opts.timeoutMs ?? 30_000,
      minBackoffMs: 100,
      maxBackoffMs: 5_000,
      retryOn429: true,
      maxConnections: 1,
      userAgent: 'Ampule-export',
    });
  }

  plan(all: Labels[]): { series: Labels[]; skipped: number } {
    return { series: all.sort(compareLabels), skipped: 0 };
  }

  async run(run: SeriesRun): Promise<void> {
    const { timestamps: ts, values: vs } = run;
    let i = 0;
    while (i < ts.length) {
      const s = this.batch.add(run.labels);
      const end = Math.min(ts.length, i + (this.perRequest - this.batch.samples));
      for (; i < end; i++) this.batch.sample(s, ts[i]!, vs[i]!);
      if (this.batch.samples >= this.perRequest) await this.flush();
    }
  }

  async end(): Promise<void> {
    try {
      if (this.batch.samples > 0) await this.flush();
    } finally {
      this.sender.close();
    }
  }

  close(): void {
    this.sender.close();
  }

  private async flush(): Promise<void> {
    const samples = this.batch.samples;
    const body = this.encoder.encode(this.batch, this.opts.message);
    this.batch.clear();
    const maxAttempts = this.opts.maxAttempts ?? 5;
    const failedBefore = this.sender.counters.failed;
    const abort = new AbortController();
    const stop = (): void => abort.abort();
    this.opts.signal?.addEventListener('abort', stop, { once: true });
    // The sender retries without end (a forwarder must not lose data); an export stops and says why.
    const watch = setInterval(() => {
      const attempts = (this.sender.counters.failed - failedBefore) / samples;
      const last = this.sender.lastError?.message ?? '';
      if (attempts >= maxAttempts || (attempts >= 1 && /^HTTP (401|403|404) /.test(last))) abort.abort();
    }, 50);
    try {
      const outcome = await this.sender.send(body, samples, abort.signal);
      if (outcome.kind === 'dropped') throw new ReceiverError(`the receiver refused the data: ${this.sender.lastError?.message ?? `HTTP ${outcome.status}`}`);
      // A 1.0-only receiver answers 2xx to a 2.0 body it could not read (it sees no series in it):
      // a 2.0 receiver must say how many samples it wrote, or the export stops before losing data.
      if (this.opts.message === 'io.prometheus.write.v2.Request' && outcome.samplesWritten === undefined)
        throw new ReceiverError(
          `${this.opts.url.host} answered HTTP ${outcome.status} without X-Prometheus-Remote-Write-Samples-Written: it does not speak remote write 2.0 and dropped the data; export without --rw2`,
        );
      this.requests++;
      this.bytes += body.length;
    } catch (e) {
      if (e instanceof SendAborted && this.opts.signal?.aborted) throw new ExportAborted();
      if (e instanceof SendAborted) throw new ReceiverError(`the receiver did not take the data: ${this.sender.lastError?.message ?? 'no answer'}`);
      throw e;
    } finally {
      this.opts.signal?.removeEventListener('abort', stop);
      clearInterval(watch);
    }
  }
}
