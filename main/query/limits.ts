// Per-workspace query concurrency, as Prometheus's --query.max-concurrency (default 20): queries
// past the limit wait in arrival order; one still waiting when its timeout ends is answered with
// Prometheus's "query timed out in query queue". Whoever owns a workspace (its tenant) keeps one
// QueryLimiter and hands it to handlePromApi.

export const DEFAULT_MAX_CONCURRENCY = 20;

export class QueryLimiter {
  private running = 0;
  private readonly waiting: { admit: () => void }[] = [];

  constructor(readonly maxConcurrency = DEFAULT_MAX_CONCURRENCY) {
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) throw new RangeError(`query concurrency must be a positive integer, got ${maxConcurrency}`);
  }

  /** Queries running now, and waiting. */
  get load(): { running: number; queued: number } {
    return { running: this.running, queued: this.waiting.length };
  }

  /** Resolves true once a slot is free (call release() after), false when `timeoutMs` passed first. */
  acquire(timeoutMs: number): Promise<boolean> {
    if (this.running < this.maxConcurrency) {
      this.running++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const entry = {
        admit: () => {
          clearTimeout(timer);
          this.running++;
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(false);
      }, Math.max(0, timeoutMs));
      this.waiting.push(entry);
    });
  }

  release(): void {
    this.running--;
    this.waiting.shift()?.admit();
  }
}
