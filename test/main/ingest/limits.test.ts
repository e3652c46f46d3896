import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, limitsEqual, newTokenBucket, takeTokens } from '../../../main/ingest/limits';

describe('ingestion limits', () => {
  it('defaults follow AMP where a machine-local value makes sense', () => {
    expect(DEFAULT_LIMITS).toMatchObject({ ingestionRate: 170_000, ingestionBurst: 3_500_000, labelsPerSeries: 70, labelNameLength: 1024, labelValueLength: 2048, outOfOrderWindowMs: 0 });
    expect(DEFAULT_LIMITS.maxDecompressedBytes).toBeGreaterThan(DEFAULT_LIMITS.maxBodyBytes);
    expect(Object.isFrozen(DEFAULT_LIMITS)).toBe(true);
    expect(limitsEqual(DEFAULT_LIMITS, { ...DEFAULT_LIMITS })).toBe(true);
    expect(limitsEqual(DEFAULT_LIMITS, { ...DEFAULT_LIMITS, activeSeries: 1 })).toBe(false);
  });

  it('token bucket: starts full, refills at the rate, never above the burst, tolerates a clock going back', () => {
    const b = newTokenBucket();
    expect(takeTokens(b, 100, 0, 10, 100)).toBe(0);
    expect(takeTokens(b, 1, 0, 10, 100)).toBe(1);
    expect(takeTokens(b, 35, 1000, 10, 100)).toBe(3); // 10 refilled, 25 missing at 10/s
    expect(takeTokens(b, 10, 1000, 10, 100)).toBe(0);
    expect(takeTokens(b, 100, 1_000_000, 10, 100)).toBe(0); // capped at the burst
    expect(takeTokens(b, 1, 500_000, 10, 100)).toBe(1); // clock went back: no refill, no crash
    expect(takeTokens(b, 101, 2_000_000, 10, 100)).toBe(Infinity);
  });

  it('token bucket: a raised burst is usable at once, a lowered one caps the tokens', () => {
    const b = newTokenBucket();
    expect(takeTokens(b, 100, 0, 10, 100)).toBe(0);
    expect(takeTokens(b, 500, 0, 10, 1000)).toBe(0); // +900 from the raise
    expect(takeTokens(b, 401, 0, 10, 1000)).toBeGreaterThan(0);
    expect(takeTokens(b, 60, 0, 10, 50)).toBe(Infinity);
    expect(takeTokens(b, 50, 0, 10, 50)).toBe(0); // 400 left, capped to 50
    expect(takeTokens(b, 1, 0, 10, 50)).toBe(1);
  });
});
