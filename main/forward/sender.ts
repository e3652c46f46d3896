// Sends remote-write bodies to one destination over TLS, with the destination's authentication,
// and retries what a receiver asks to be retried: network errors, 5xx and (unless turned off) 429,
// with exponential backoff that honours Retry-After. 401, 403 and 404 say the destination's
// credentials or URL are wrong or expired (an AMP session token expires hourly), not the batch:
// unlike Prometheus, which drops the batch, they are retried at the longest backoff so nothing is
// lost while the user fixes them. Any other 4xx means the batch itself is refused: it is dropped and
// counted with its reason. send() never gives up
// on a retryable failure (the durable queue keeps its position); an AbortSignal ends it.
import { Agent, request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { remoteWriteHeaders, type ProtobufMessage } from './encode';
import type { SigV4Signer } from './sigv4';

export type SenderAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'sigv4'; readonly signer: SigV4Signer };

export interface SenderOptions {
  readonly url: URL;
  readonly message: ProtobufMessage;
  readonly auth: SenderAuth;
  /** Mimir/Cortex tenant, sent as X-Scope-OrgID. */
  readonly orgId?: string;
  /** Extra headers (validated by the destination definition: no Authorization). */
  readonly headers?: Readonly<Record<string, string>>;
  /** PEM of the CA(s) to trust instead of the system's. */
  readonly ca?: string;
  readonly timeoutMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly retryOn429: boolean;
  /** Concurrent connections (the most shards). */
  readonly maxConnections: number;
  /** Longest Retry-After honoured; a hostile receiver cannot park the queue for days. */
  readonly maxRetryAfterMs?: number;
  readonly userAgent?: string;
}

/** Counts in samples. */
export interface SenderCounters {
  /** Acknowledged by the receiver (2xx). */
  sent: number;
  /** In attempts that failed, whatever happened next. */
  failed: number;
  /** Sent again after a retryable failure. */
  retried: number;
  /** Given up on because the receiver refused the batch (4xx other than 429). */
  dropped: number;
  droppedByReason: Record<string, number>;
}

/** `samplesWritten`: a 2.0 receiver's X-Prometheus-Remote-Write-Samples-Written (absent: a 1.0-only receiver that took the body blind). */
export type SendOutcome = { readonly kind: 'sent'; readonly status: number; readonly samplesWritten?: number } | { readonly kind: 'dropped'; readonly status: number; readonly reason: string };

export class SendAborted extends Error {
  constructor() {
    super('send aborted');
    this.name = 'SendAborted';
  }
}

interface Attempt {
  status: number;
  body: string;
  retryAfter: string | undefined;
  samplesWritten: string | undefined;
}

const DEFAULT_MAX_RETRY_AFTER_MS = 5 * 60_000;
const ERROR_BODY_CHARS = 256;

export class RemoteWriteSender {
  readonly counters: SenderCounters = { sent: 0, failed: 0, retried: 0, dropped: 0, droppedByReason: {} };
  /** The last failure, worded for the user; never holds a credential. */
  lastError: { readonly at: number; readonly message: string } | null = null;
  private readonly agent: Agent;
  private readonly secrets: string[];

  constructor(private readonly opts: SenderOptions) {
    this.agent = new Agent({ keepAlive: true, maxSockets: opts.maxConnections, ca: opts.ca, minVersion: 'TLSv1.2' });
    const a = opts.auth;
    this.secrets = a.kind === 'basic' ? [a.password, Buffer.from(`${a.username}:${a.password}`).toString('base64')] : a.kind === 'bearer' ? [a.token] : [];
    this.secrets = this.secrets.filter((s) => s.length >= 4);
  }

  close(): void {
    this.agent.destroy();
  }

  /** Sends one compressed body holding `samples` samples until it is acknowledged or refused. */
  async send(body: Buffer, samples: number, signal?: AbortSignal): Promise<SendOutcome> {
    let backoff = this.opts.minBackoffMs;
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw new SendAborted();
      if (attempt > 0) this.counters.retried += samples;
      let result: Attempt | null = null;
      let failure: string;
      try {
        result = await this.attempt(body, signal);
      } catch (e) {
        if (signal?.aborted) throw new SendAborted();
        failure = `cannot reach ${this.opts.url.host}: ${this.redact((e as Error).message)}`;
        this.fail(samples, failure);
        await sleep(backoff, signal);
        backoff = Math.min(2 * backoff, this.opts.maxBackoffMs);
        continue;
      }
      const { status } = result;
      if (status >= 200 && status < 300) {
        this.counters.sent += samples;
        const written = result.samplesWritten === undefined ? NaN : Number(result.samplesWritten);
        return Number.isInteger(written) ? { kind: 'sent', status, samplesWritten: written } : { kind: 'sent', status };
      }
      failure = `HTTP ${status} from ${this.opts.url.host}${result.body ? `: ${this.redact(result.body)}` : ''}`;
      this.fail(samples, failure);
      const blocked = status === 401 || status === 403 || status === 404;
      const retryable = blocked || status >= 500 || (status === 429 && this.opts.retryOn429);
      if (!retryable) {
        const reason = `http_${status}`;
        this.counters.dropped += samples;
        this.counters.droppedByReason[reason] = (this.counters.droppedByReason[reason] ?? 0) + samples;
        return { kind: 'dropped', status, reason };
      }
      const wait = retryAfterMs(result.retryAfter, Date.now());
      const pause = blocked ? this.opts.maxBackoffMs : backoff;
      await sleep(wait === null ? pause : Math.min(wait, this.opts.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS), signal);
      backoff = Math.min(2 * backoff, this.opts.maxBackoffMs);
    }
  }

  private fail(samples: number, message: string): void {
    this.counters.failed += samples;
    this.lastError = { at: Date.now(), message };
  }

  private redact(text: string): string {
    let t = text.length > ERROR_BODY_CHARS ? `${text.slice(0, ERROR_BODY_CHARS)}…` : text;
    for (const s of this.secrets) t = t.split(s).join('[redacted]');
    return t.replace(/[\r\n]+/g, ' ').trim();
  }

  private async headersFor(body: Buffer): Promise<Record<string, string>> {
    const o = this.opts;
    const h: Record<string, string> = { ...o.headers, ...remoteWriteHeaders(o.message), 'User-Agent': o.userAgent ?? 'Ampule' };
    if (o.orgId) h['X-Scope-OrgID'] = o.orgId;
    const a = o.auth;
    if (a.kind === 'basic') h.Authorization = `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;
    else if (a.kind === 'bearer') h.Authorization = `Bearer ${a.token}`;
    else if (a.kind === 'sigv4') return a.signer.sign({ method: 'POST', url: o.url, headers: h, body });
    return h;
  }

  private async attempt(body: Buffer, signal?: AbortSignal): Promise<Attempt> {
    const headers = await this.headersFor(body);
    headers['Content-Length'] = String(body.length);
    return new Promise<Attempt>((resolve, reject) => {
      const req = request(this.opts.url, { method: 'POST', agent: this.agent, headers, signal, timeout: this.opts.timeoutMs }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < 4096) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => {
          const ra = res.headers['retry-after'];
          const sw = res.headers['x-prometheus-remote-write-samples-written'];
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').trim(), retryAfter: Array.isArray(ra) ? ra[0] : ra, samplesWritten: Array.isArray(sw) ? sw[0] : sw });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within remote_timeout (${this.opts.timeoutMs} ms)`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** Retry-After as delay-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now: number): number | null {
  if (value === undefined) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return null;
  return Math.max(0, t - now);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new SendAborted());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new SendAborted());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
