// The full collection a quiet process runs after a burst: it gives the burst's garbage back, and it
// never runs while the thread is busy. Real V8 collections, checks every 100 ms instead of 5 s.
import { afterEach, describe, expect, it } from 'vitest';
import { startIdleCollection, type IdleCollection } from '../../../main/host/idle-collection';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Old-generation garbage: buffers that lived long enough to be promoted, then dropped. */
async function burst(): Promise<void> {
  let kept: Float64Array[] = [];
  for (let i = 0; i < 2000; i++) kept.push(new Float64Array(8192)); // 128 MiB
  await sleep(50);
  kept = [];
}

let idle: IdleCollection | null = null;
afterEach(() => idle?.close());

describe('idle collection', () => {
  it('collects once a burst is over and the thread stays quiet, giving the garbage back', async () => {
    idle = startIdleCollection(100);
    expect(idle).not.toBeNull();
    await burst();
    const before = process.memoryUsage().arrayBuffers;
    expect(before).toBeGreaterThan(100 * 2 ** 20);
    await sleep(800);
    expect(idle!.collections).toBeGreaterThanOrEqual(1);
    expect(process.memoryUsage().arrayBuffers).toBeLessThan(before - 100 * 2 ** 20);
    const after = idle!.collections;
    await sleep(500); // quiet, with nothing new to give back: no further collections
    expect(idle!.collections).toBe(after);
  });

  it('does not collect while the thread is busy, however much garbage it makes', async () => {
    idle = startIdleCollection(100);
    const until = Date.now() + 800;
    let kept: Float64Array[] = [];
    while (Date.now() < until) {
      const spin = Date.now() + 5;
      while (Date.now() < spin) kept.push(new Float64Array(1024)); // most of the loop busy allocating
      if (kept.length > 20_000) kept = [];
      await sleep(1);
    }
    expect(idle!.collections).toBe(0);
  });
});
