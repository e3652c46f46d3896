// Heavy store work waits for a gap between remote-write requests, at most a bounded time, and is
// dropped when its store closed meanwhile (real timers, short spans).
import { describe, expect, it } from 'vitest';
import { inIngestGap, type GapTiming } from '../../../main/core/ingest-gap';

const TIMING: GapTiming = { quietMs: 20, pollMs: 2, maxWaitMs: 400 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('inIngestGap', () => {
  it('runs at once when no request has been in progress for the quiet span', () => {
    let ran = 0;
    inIngestGap(() => 1000, () => ran++, () => false, TIMING);
    expect(ran).toBe(1);
  });

  it('waits while a request is in progress and runs once it has been quiet long enough', async () => {
    let busy = true;
    let quietSince = 0;
    let ranAt = 0;
    inIngestGap(() => (busy ? 0 : performance.now() - quietSince), () => (ranAt = performance.now()), () => false, TIMING);
    await sleep(60);
    expect(ranAt).toBe(0);
    busy = false;
    quietSince = performance.now();
    await sleep(100);
    expect(ranAt - quietSince).toBeGreaterThanOrEqual(TIMING.quietMs);
    expect(ranAt - quietSince).toBeLessThan(90);
  });

  it('runs after the longest wait when requests never pause, and not at all once cancelled', async () => {
    const start = performance.now();
    let ranAt = 0;
    inIngestGap(() => 0, () => (ranAt = performance.now()), () => false, TIMING);
    let cancelled = false;
    let ranCancelled = false;
    inIngestGap(() => 0, () => (ranCancelled = true), () => cancelled, TIMING);
    await sleep(100);
    expect(ranAt).toBe(0);
    cancelled = true;
    await sleep(500);
    expect(ranAt - start).toBeGreaterThanOrEqual(TIMING.maxWaitMs);
    expect(ranCancelled).toBe(false);
  });
});
