// Login throttling: a client that fails too often in a window must wait, and so must everyone
// when failures pile up from many addresses (a distributed guess). Successes clear a client.

export interface LimitDecision {
  readonly allowed: boolean;
  /** Seconds until another attempt is allowed, when not allowed. */
  readonly retryAfterSeconds: number;
}

export interface LoginLimiterOptions {
  readonly perClient: number;
  readonly global: number;
  readonly windowMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimiterOptions = { perClient: 5, global: 50, windowMs: 15 * 60_000 };

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  private globalFailures: number[] = [];

  constructor(private readonly opts: LoginLimiterOptions = DEFAULT_LOGIN_LIMITS) {}

  check(client: string, now: number): LimitDecision {
    const mine = this.recent(this.failures.get(client) ?? [], now);
    this.globalFailures = this.recent(this.globalFailures, now);
    const blockedBy = mine.length >= this.opts.perClient ? mine : this.globalFailures.length >= this.opts.global ? this.globalFailures : null;
    if (!blockedBy) return { allowed: true, retryAfterSeconds: 0 };
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((blockedBy[0]! + this.opts.windowMs - now) / 1000)) };
  }

  fail(client: string, now: number): void {
    const mine = this.recent(this.failures.get(client) ?? [], now);
    mine.push(now);
    this.failures.set(client, mine);
    this.globalFailures.push(now);
    if (this.failures.size > 10_000) this.prune(now);
  }

  succeed(client: string): void {
    this.failures.delete(client);
  }

  private recent(times: number[], now: number): number[] {
    const since = now - this.opts.windowMs;
    let i = 0;
    while (i < times.length && times[i]! <= since) i++;
    return i ? times.slice(i) : times;
  }

  private prune(now: number): void {
    for (const [k, v] of this.failures) if (!this.recent(v, now).length) this.failures.delete(k);
  }
}
