import { describe, expect, it } from 'vitest';
import { desiredShards, EwmaRate, type ShardInputs } from '../../../main/forward/shards';

const base: ShardInputs = {
  inRate: 10_000,
  outRate: 10_000,
  droppedRate: 0,
  outDurationRate: 1, // one second of sending per second: 100 µs a sample
  delaySeconds: 0,
  current: 1,
  minShards: 1,
  maxShards: 200,
  secondsSinceLastSend: 1,
  batchSendDeadlineSeconds: 5,
};

describe('desired shards (Prometheus queue manager formula)', () => {
  it('keeps the count when the need is within ±30%', () => {
    expect(desiredShards(base)).toBe(1);
    expect(desiredShards({ ...base, current: 4, outDurationRate: 4 * 1.25 })).toBe(4);
  });

  it('grows with the incoming rate at the measured time per sample', () => {
    // 100 µs per sample, 50k samples/s in → 5 shards.
    expect(desiredShards({ ...base, inRate: 50_000 })).toBe(5);
  });

  it('adds 5% of the backlog per second', () => {
    // 60 s behind at 10k/s: 600k pending, 30k/s catch-up, 40k/s × 100 µs = 4 shards.
    expect(desiredShards({ ...base, delaySeconds: 60 })).toBe(4);
  });

  it('discounts samples relabelled away', () => {
    // Half are dropped: 10k/s kept of 20k/s, at 200 µs per sent sample (1 s over 5k) → 2 shards, not 4.
    expect(desiredShards({ ...base, inRate: 20_000, outRate: 5_000, droppedRate: 5_000, current: 8 })).toBe(2);
    expect(desiredShards({ ...base, inRate: 20_000, outRate: 5_000, droppedRate: 0, current: 8 })).toBe(4);
  });

  it('does not downshard while more than 10 s behind', () => {
    expect(desiredShards({ ...base, current: 10, delaySeconds: 11, inRate: 1, outRate: 10_000 })).toBe(10);
    expect(desiredShards({ ...base, current: 10, delaySeconds: 0, inRate: 10_000 })).toBe(1);
  });

  it('clamps to min and max shards', () => {
    expect(desiredShards({ ...base, inRate: 10_000_000, maxShards: 50 })).toBe(50);
    expect(desiredShards({ ...base, current: 10, inRate: 100, minShards: 3 })).toBe(3);
  });

  it('does not reshard without a recent successful send, or with nothing sent', () => {
    expect(desiredShards({ ...base, inRate: 50_000, secondsSinceLastSend: 11 })).toBe(1);
    expect(desiredShards({ ...base, inRate: 50_000, outRate: 0 })).toBe(1);
  });
});

describe('EWMA rate', () => {
  it('starts at the first interval rate, then moves 20% towards each new one', () => {
    const r = new EwmaRate();
    r.incr(1000);
    r.tick();
    expect(r.rate()).toBe(100);
    r.incr(2000);
    r.tick();
    expect(r.rate()).toBeCloseTo(120);
    r.tick();
    expect(r.rate()).toBeCloseTo(96);
  });
});
