// Delivers alerts to a workspace's notification targets, with Prometheus's notifier semantics
// (notifier/notifier.go): a bounded queue that drops the oldest alerts when full (counted),
// batches of at most 64, external labels added where the alert lacks them, and per-target
// counters of alerts sent, failed and dropped with the last error. Unlike Prometheus, a batch
// that fails for a reason a retry can fix (network, 5xx, 429, 401/403) stays queued and is retried
// with exponential backoff, so an Alertmanager that is down loses nothing while the queue holds.
// Each target has its own queue, so one target that is down never holds back another. A newer
// state of the same alert (same labels) replaces a queued one, so resends of a firing alert during
// an outage do not fill the queue.
import type { AlertManagerDefinition, Target, WebhookTarget } from './definition';
import { DEFAULT_QUEUE_CAPACITY } from './definition';
import { DeliveryError, postJson } from './https-post';
import { webhookMessages, type NotifierAlert } from './webhook';

export const MAX_BATCH = 64;

export interface TargetStatus {
  readonly kind: 'alertmanager' | 'webhook';
  readonly url: string;
  /** Alerts delivered (counted per alert, as Prometheus's notifications_total minus errors). */
  readonly sent: number;
  /** Alerts in failed delivery attempts (a retried alert counts once per failed attempt). */
  readonly failed: number;
  /** Alerts dropped because the queue was full. */
  readonly dropped: number;
  readonly queued: number;
  readonly lastError: string | null;
  readonly lastErrorAt: number | null;
  readonly lastSuccessAt: number | null;
  /** When the next retry is due (ms), or null when none is scheduled. */
  readonly retryAt: number | null;
}

export interface NotifierOptions {
  readonly externalLabels?: Readonly<Record<string, string>>;
  readonly externalURL?: string;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly now?: () => number;
}

/** Alertmanager API v2 JSON for one alert (RFC 3339 times). */
export function toApiAlert(a: NotifierAlert): Record<string, unknown> {
  return { labels: a.labels, annotations: a.annotations, startsAt: new Date(a.startsAt).toISOString(), endsAt: new Date(a.endsAt).toISOString(), generatorURL: a.generatorURL };
}

function alertKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

type Deliver = (batch: readonly NotifierAlert[]) => Promise<void>;

/** One target's queue, delivery loop and counters. */
class Channel {
  private readonly queue = new Map<string, NotifierAlert>();
  private sent = 0;
  private failed = 0;
  private dropped = 0;
  private lastError: string | null = null;
  private lastErrorAt: number | null = null;
  private lastSuccessAt: number | null = null;
  private backoffMs = 0;
  private retryAt: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly kind: 'alertmanager' | 'webhook',
    readonly url: string,
    private readonly deliver: Deliver,
    private readonly capacity: number,
    private readonly opts: Required<Pick<NotifierOptions, 'minBackoffMs' | 'maxBackoffMs' | 'now'>>,
  ) {}

  push(alerts: readonly NotifierAlert[]): void {
    if (this.stopped) return;
    for (const a of alerts) {
      const k = alertKey(a.labels);
      this.queue.delete(k); // a newer state of the same alert goes to the back
      this.queue.set(k, a);
    }
    for (const k of this.queue.keys()) {
      if (this.queue.size <= this.capacity) break;
      this.queue.delete(k);
      this.dropped++;
    }
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy || this.timer || this.stopped) return;
    this.busy = true;
    try {
      while (this.queue.size > 0 && !this.stopped) {
        const batch = [...this.queue].slice(0, MAX_BATCH);
        try {
          await this.deliver(batch.map(([, a]) => a));
        } catch (e) {
          this.failed += batch.length;
          this.lastError = e instanceof Error ? e.message : String(e);
          this.lastErrorAt = this.opts.now();
          if (e instanceof DeliveryError && !e.retry) {
            this.remove(batch); // a 4xx: the same body would be refused again
            continue;
          }
          this.backoffMs = Math.min(this.opts.maxBackoffMs, this.backoffMs ? this.backoffMs * 2 : this.opts.minBackoffMs);
          this.retryAt = this.opts.now() + this.backoffMs;
          this.timer = setTimeout(() => {
            this.timer = null;
            this.retryAt = null;
            void this.pump();
          }, this.backoffMs);
          this.timer.unref();
          return;
        }
        this.remove(batch);
        this.sent += batch.length;
        this.lastSuccessAt = this.opts.now();
        this.backoffMs = 0;
      }
    } finally {
      this.busy = false;
      if (this.queue.size === 0 || this.stopped) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Removes a delivered batch, unless a newer state of an alert replaced it meanwhile. */
  private remove(batch: [string, NotifierAlert][]): void {
    for (const [k, a] of batch) if (this.queue.get(k) === a) this.queue.delete(k);
  }

  idle(): Promise<void> {
    if ((this.queue.size === 0 && !this.busy) || this.stopped) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  status(): TargetStatus {
    return { kind: this.kind, url: this.url, sent: this.sent, failed: this.failed, dropped: this.dropped, queued: this.queue.size, lastError: this.lastError, lastErrorAt: this.lastErrorAt, lastSuccessAt: this.lastSuccessAt, retryAt: this.retryAt };
  }
}

function alertsUrl(t: Target): string {
  return `${t.url.replace(/\/+$/, '')}/api/v2/alerts`;
}

export class Notifier {
  private readonly channels: Channel[];
  private readonly externalLabels: Readonly<Record<string, string>>;

  constructor(def: AlertManagerDefinition, opts: NotifierOptions = {}) {
    const o = { minBackoffMs: opts.minBackoffMs ?? 1000, maxBackoffMs: opts.maxBackoffMs ?? 60_000, now: opts.now ?? Date.now };
    const capacity = def.queueCapacity ?? DEFAULT_QUEUE_CAPACITY;
    this.externalLabels = opts.externalLabels ?? {};
    const am = (t: Target) => new Channel('alertmanager', alertsUrl(t), (batch) => postJson(t, alertsUrl(t), batch.map(toApiAlert)), capacity, o);
    const hook = (t: WebhookTarget) =>
      new Channel(
        'webhook',
        t.url,
        async (batch) => {
          for (const m of webhookMessages(t.name, batch, opts.externalURL ?? '', o.now())) await postJson(t, t.url, m);
        },
        capacity,
        o,
      );
    this.channels = [...def.alertmanagers.map(am), ...def.webhooks.map(hook)];
  }

  /** Queues alerts for every target; returns at once (delivery is asynchronous). */
  send(alerts: readonly NotifierAlert[]): void {
    if (alerts.length === 0) return;
    const withExternal = alerts.map((a) => {
      let labels = a.labels;
      for (const [k, v] of Object.entries(this.externalLabels)) if (!(k in labels)) labels = { ...labels, [k]: v };
      return labels === a.labels ? a : { ...a, labels };
    });
    for (const c of this.channels) c.push(withExternal);
  }

  status(): TargetStatus[] {
    return this.channels.map((c) => c.status());
  }

  /** Resolves once every queue is empty (or the notifier is stopped); a target that is down keeps it pending. */
  async idle(): Promise<void> {
    await Promise.all(this.channels.map((c) => c.idle()));
  }

  /** Stops delivery; queued alerts are discarded (the next notifier resends current state). */
  stop(): void {
    for (const c of this.channels) c.stop();
  }
}
