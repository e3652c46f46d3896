// Per-workspace ingestion limits: defaults, how they are shown, and the ingestion-rate token bucket.
import type { WorkspaceLimits } from '../control/types';
import { DEFAULT_MAX_EXEMPLARS } from './exemplars';
import { LIMIT_NAMES, type LimitName, type WorkspaceLimitsInfo } from '../../shared/api';

/**
 * Local defaults, after AMP's quotas (and Mimir's names):
 * - activeSeries 1,000,000: AMP allows 10M per workspace, but here every active series lives in
 *   this one machine's memory (~1 KiB each in the head), so 1M (~1 GiB) is the sane local
 *   ceiling; raise it per workspace on a big machine.
 * - ingestionRate 170,000 samples/s, burst 3,500,000: AMP's defaults.
 * - labelsPerSeries 70, labelNameLength 1024, labelValueLength 2048: AMP's defaults.
 * - maxBodyBytes 10 MiB compressed, maxDecompressedBytes 64 MiB: Prometheus sends ≤ 2,000
 *   samples (a few hundred KiB) per request by default, so these only stop abuse.
 * - outOfOrderWindowMs 0: as Prometheus and AMP by default, samples must be in order per series.
 * - maxExemplars 100,000: Prometheus's storage.exemplars.max-exemplars default.
 */
export const DEFAULT_LIMITS: WorkspaceLimits = Object.freeze({
  activeSeries: 1_000_000,
  ingestionRate: 170_000,
  ingestionBurst: 3_500_000,
  labelsPerSeries: 70,
  labelNameLength: 1024,
  labelValueLength: 2048,
  maxBodyBytes: 10 * 1024 * 1024,
  maxDecompressedBytes: 64 * 1024 * 1024,
  outOfOrderWindowMs: 0,
  maxExemplars: DEFAULT_MAX_EXEMPLARS,
} satisfies Record<LimitName, number>);

/** The limits in force for a workspace with these overrides, as the API and the CLI show them. */
export function describeLimits(overrides: Partial<WorkspaceLimits>): WorkspaceLimitsInfo {
  return {
    limits: { ...DEFAULT_LIMITS, ...overrides },
    defaults: DEFAULT_LIMITS,
    overridden: LIMIT_NAMES.filter((n) => overrides[n] !== undefined),
  };
}

export function limitsEqual(a: WorkspaceLimits, b: WorkspaceLimits): boolean {
  if (a === b) return true;
  for (const k of Object.keys(DEFAULT_LIMITS) as (keyof WorkspaceLimits)[]) if (a[k] !== b[k]) return false;
  return true;
}

/** Samples per second with a burst; starts full. */
export interface TokenBucket {
  tokens: number;
  /** ms of the last refill; NaN before first use. */
  last: number;
  /** The burst the bucket was last filled to: a raised burst is usable at once. */
  burst: number;
}

export function newTokenBucket(): TokenBucket {
  return { tokens: NaN, last: NaN, burst: NaN };
}

/**
 * Takes `n` tokens at time `now` (ms) if available and returns 0; otherwise takes none and
 * returns the seconds to wait until they will be (Infinity when `n` exceeds the burst).
 */
export function takeTokens(bucket: TokenBucket, n: number, now: number, rate: number, burst: number): number {
  if (Number.isNaN(bucket.last)) {
    bucket.tokens = burst;
    bucket.last = now;
  } else if (burst > bucket.burst) bucket.tokens += burst - bucket.burst;
  bucket.burst = burst;
  const elapsed = Math.max(0, now - bucket.last) / 1000;
  bucket.tokens = Math.min(burst, bucket.tokens + elapsed * rate);
  bucket.last = Math.max(bucket.last, now);
  if (n <= bucket.tokens) {
    bucket.tokens -= n;
    return 0;
  }
  if (n > burst) return Infinity;
  return Math.max(1, Math.ceil((n - bucket.tokens) / rate));
}
