import { describe, expect, it } from 'vitest';
import { activeSeries, ACTIVE_SERIES_GENERATION_MS, addSeries, createIngestState, hashKey, lookupSeries, rotateGenerations, type SeriesEntry } from '../../../main/ingest/state';

const entry = (key: string): SeriesEntry => ({ labels: [{ name: '__name__', value: key }], ref: 1, key, next: null });
const bytes = (s: string) => Buffer.from(s, 'latin1');

describe('series cache', () => {
  it('finds entries by key bytes, also when their hashes collide', () => {
    const state = createIngestState();
    const keys = ['a', 'b', 'c'];
    for (const k of keys) addSeries(state, 7, entry(k)); // same hash on purpose
    for (const k of keys) expect(lookupSeries(state, 7, bytes(k), 0, 1)?.key).toBe(k);
    expect(lookupSeries(state, 7, bytes('d'), 0, 1)).toBeNull();
    expect(lookupSeries(state, 8, bytes('a'), 0, 1)).toBeNull();
  });

  it('stops extending a collision chain at 8 entries (crafted collisions only lose caching)', () => {
    const state = createIngestState();
    for (let i = 0; i < 20; i++) addSeries(state, 1, entry(`k${i}`));
    expect(activeSeries(state)).toBe(8);
    expect(lookupSeries(state, 1, bytes('k7'), 0, 2)).not.toBeNull();
    expect(lookupSeries(state, 1, bytes('k8'), 0, 2)).toBeNull();
  });

  it('ages series out after two idle generations and keeps the ones seen', () => {
    const state = createIngestState();
    const t0 = 1_000_000;
    rotateGenerations(state, t0);
    const ha = hashKey(bytes('a'), 0, 1);
    const hb = hashKey(bytes('b'), 0, 1);
    addSeries(state, ha, entry('a'));
    addSeries(state, hb, entry('b'));
    rotateGenerations(state, t0 + ACTIVE_SERIES_GENERATION_MS);
    expect(activeSeries(state)).toBe(2);
    expect(lookupSeries(state, ha, bytes('a'), 0, 1)?.key).toBe('a'); // moves a to the current generation
    rotateGenerations(state, t0 + 2 * ACTIVE_SERIES_GENERATION_MS);
    expect(activeSeries(state)).toBe(1);
    expect(lookupSeries(state, hb, bytes('b'), 0, 1)).toBeNull();
    expect(lookupSeries(state, ha, bytes('a'), 0, 1)).not.toBeNull();
  });

  it('hashes to small integers that spread', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) {
      const b = bytes(`__name__up instance=host-${i}:9100 job=node`);
      const h = hashKey(b, 0, b.length);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(2 ** 30);
      seen.add(h);
    }
    expect(seen.size).toBeGreaterThan(9_990);
    expect(hashKey(bytes('abcde'), 0, 4)).toBe(hashKey(bytes('abcdX'), 0, 4));
    expect(hashKey(bytes('abcde'), 0, 5)).not.toBe(hashKey(bytes('abcdX'), 0, 5));
  });
});
