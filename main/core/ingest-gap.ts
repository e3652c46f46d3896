// Heavy store work on the ingest thread (a head checkpoint, cutting chunk rows) holds it for tens of
// milliseconds per 10,000 series, and every remote-write request that arrives meanwhile waits.
// Senders write in bursts (a scrape's worth of requests, then quiet), so such work waits for a gap:
// no request in progress for a little while. Under a steady stream with no gap it runs anyway,
// after a bounded wait, so it is never put off for long.

export interface GapTiming {
  /** How long no request must have been in progress. */
  readonly quietMs: number;
  /** How often to look again meanwhile. */
  readonly pollMs: number;
  /** The longest wait; then the work runs regardless. */
  readonly maxWaitMs: number;
}

export const INGEST_GAP: GapTiming = { quietMs: 20, pollMs: 5, maxWaitMs: 2000 };

/**
 * Runs `work` once `idleMs()` (how long no request has been in progress) reaches `quietMs`, or
 * after `maxWaitMs` at the latest; not at all when `cancelled()` has become true by then.
 */
export function inIngestGap(idleMs: () => number, work: () => void, cancelled: () => boolean, timing: GapTiming = INGEST_GAP): void {
  const deadline = performance.now() + timing.maxWaitMs;
  const attempt = (): void => {
    if (cancelled()) return;
    if (idleMs() < timing.quietMs && performance.now() < deadline) {
      setTimeout(attempt, timing.pollMs).unref();
      return;
    }
    work();
  };
  attempt();
}
