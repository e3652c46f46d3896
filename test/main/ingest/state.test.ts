import { describe, expect, it } from 'vitest';
import { activeSeries, LabelStrings, ACTIVE_SERIES_GENERATION_MS, addSeries, createIngestState, hashKey, lookupSeries, nextSeen, rotateGenerations, type IngestState, type SeriesEntry } from '../../../main/ingest/state';

const entry = (key: string): SeriesEntry => ({ labels: [{ name: '__name__', value: key }], ref: 1, keyAt: -1, keyLen: 0, next: null, gen: -1, succ: null });
const bytes = (s: string) => Buffer.from(s, 'latin1');
const name = (e: SeriesEntry | null) => e?.labels[0]!.value;
/** Caches a series keyed by the bytes of `key`. */
const add = (state: IngestState, hash: number, key: string) => {
  const e = entry(key);
  addSeries(state, hash, e, bytes(key), 0, key.length);
  return e;
};

describe('series cache', () => {
  it('finds entries by key bytes, also when their hashes collide', () => {
    const state = createIngestState();
    const keys = ['a', 'b', 'c'];
    for (const k of keys) add(state, 7, k); // same hash on purpose
    for (const k of keys) expect(name(lookupSeries(state, 7, bytes(k), 0, 1))).toBe(k);
    expect(lookupSeries(state, 7, bytes('d'), 0, 1)).toBeNull();
    expect(lookupSeries(state, 8, bytes('a'), 0, 1)).toBeNull();
  });

  it('stops extending a collision chain at 8 entries (crafted collisions only lose caching)', () => {
    const state = createIngestState();
    for (let i = 0; i < 20; i++) add(state, 1, `k${i}`);
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
    add(state, ha, 'a');
    add(state, hb, 'b');
    rotateGenerations(state, t0 + ACTIVE_SERIES_GENERATION_MS);
    expect(activeSeries(state)).toBe(2);
    expect(name(lookupSeries(state, ha, bytes('a'), 0, 1))).toBe('a'); // moves a to the current generation
    rotateGenerations(state, t0 + 2 * ACTIVE_SERIES_GENERATION_MS);
    expect(activeSeries(state)).toBe(1);
    expect(lookupSeries(state, hb, bytes('b'), 0, 1)).toBeNull();
    expect(lookupSeries(state, ha, bytes('a'), 0, 1)).not.toBeNull();
  });

  it('tells keys apart that differ in any byte or in length, found inside a larger buffer, across arena growth and generation rotation', () => {
    const state = createIngestState();
    const t0 = 5_000_000;
    rotateGenerations(state, t0);
    // Keys of 1 to 300 bytes (whole words and tails), 3,000 of them: the arena grows several times.
    const keys = Array.from({ length: 3000 }, (_, i) => `series-${i}-`.padEnd(1 + (i % 300), String.fromCharCode(97 + (i % 26))));
    for (const k of keys) add(state, hashKey(bytes(k), 0, k.length), k);
    const probe = (k: string) => {
      const buf = bytes(`xyz${k}uvw`); // the key in the middle of a request body
      return name(lookupSeries(state, hashKey(buf, 3, 3 + k.length), buf, 3, 3 + k.length));
    };
    for (const k of keys) expect(probe(k)).toBe(k);
    // Keys of 16, 41, 42, 35, 44, 37, 38 and 55 bytes: compared eight bytes at a time, then byte by byte (tails of 0–7).
    for (const k of [15, 40, 41, 1234, 43, 36, 37, 54].map((i) => keys[i]!)) {
      for (let at = 0; at < k.length; at++) {
        const changed = k.slice(0, at) + String.fromCharCode(k.charCodeAt(at) ^ 1) + k.slice(at + 1);
        const buf = bytes(changed);
        expect(lookupSeries(state, hashKey(bytes(k), 0, k.length), buf, 0, buf.length), `${k.length} bytes, byte ${at}`).toBeNull(); // same hash, one byte differs
      }
      expect(probe(k.slice(0, -1))).toBeUndefined();
    }
    // Half the series are seen again in the next generation; after the one after, only they remain.
    rotateGenerations(state, t0 + ACTIVE_SERIES_GENERATION_MS);
    for (const k of keys.slice(0, 1500)) expect(probe(k)).toBe(k);
    rotateGenerations(state, t0 + 2 * ACTIVE_SERIES_GENERATION_MS);
    for (const k of keys.slice(0, 1500)) expect(probe(k)).toBe(k);
    for (const k of keys.slice(1500)) expect(probe(k)).toBeUndefined();
    expect(activeSeries(state)).toBe(1500);
  });

  it('guesses the next series from the order last seen, only while it is in the current generation and its key matches', () => {
    const state = createIngestState();
    const t0 = 9_000_000;
    rotateGenerations(state, t0);
    const a = add(state, hashKey(bytes('a'), 0, 1), 'a');
    const b = add(state, hashKey(bytes('b'), 0, 1), 'b');
    expect(nextSeen(state, a, bytes('b'), 0, 1)).toBeNull(); // nothing followed a yet
    a.succ = b;
    expect(nextSeen(state, a, bytes('b'), 0, 1)).toBe(b);
    expect(nextSeen(state, a, bytes('c'), 0, 1)).toBeNull(); // another series now follows a
    expect(nextSeen(state, a, bytes('bb'), 0, 2)).toBeNull();
    // After a rotation b sits in the previous generation: the guess declines (and drops its link),
    // so the caller's lookup moves b to the current generation and it stays active.
    rotateGenerations(state, t0 + ACTIVE_SERIES_GENERATION_MS);
    expect(nextSeen(state, a, bytes('b'), 0, 1)).toBeNull();
    expect(a.succ).toBeNull();
    expect(lookupSeries(state, hashKey(bytes('b'), 0, 1), bytes('b'), 0, 1)).toBe(b);
    a.succ = b;
    expect(nextSeen(state, a, bytes('b'), 0, 1)).toBe(b);
    rotateGenerations(state, t0 + 2 * ACTIVE_SERIES_GENERATION_MS);
    rotateGenerations(state, t0 + 4 * ACTIVE_SERIES_GENERATION_MS); // b forgotten
    expect(nextSeen(state, a, bytes('b'), 0, 1)).toBeNull();
    expect(activeSeries(state)).toBe(0);
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

describe('label strings', () => {
  it('decodes each byte string once and hands back the same string, telling apart prefixes and bad UTF-8', () => {
    const strings = new LabelStrings();
    const body = Buffer.from('jobjobsnode_cpu_seconds_totalé', 'utf8');
    const job = strings.text(body, 0, 3);
    expect(job).toBe('job');
    expect(strings.text(body, 3, 6)).toBe(job); // the same bytes elsewhere: found, not decoded again
    expect(strings.text(body, 3, 7)).toBe('jobs'); // a longer string sharing the prefix
    expect(strings.text(body, body.length - 2, body.length)).toBe('é');
    expect(strings.size).toBe(3);
    expect(strings.text(Buffer.from([0x61, 0xff]), 0, 2)).toBeNull(); // not UTF-8: refused, not kept
    expect(strings.size).toBe(3);
    const long = Buffer.from('x'.repeat(500));
    expect(strings.text(long, 0, 500)).toBe('x'.repeat(500)); // long strings are not kept
    expect(strings.size).toBe(3);
  });

  it('keeps finding every string as the table grows', () => {
    const strings = new LabelStrings();
    const keys = Array.from({ length: 20_000 }, (_, i) => Buffer.from(`10.1.${i >> 8}.${i & 255}:9100`));
    const first = keys.map((k) => strings.text(k, 0, k.length));
    expect(strings.size).toBe(20_000);
    keys.forEach((k, i) => expect(strings.text(Buffer.from(k), 0, k.length)).toBe(first[i]));
    expect(strings.size).toBe(20_000);
  });

  it('numbers strings for series keys: the same bytes the same id, never one id for two strings, not even after the table empties', () => {
    const strings = new LabelStrings(undefined, 100);
    const body = Buffer.from('jobnodejob\xff', 'latin1');
    const job = strings.id(body, 0, 3);
    expect(strings.id(body, 7, 10)).toBe(job);
    expect(strings.id(body, 3, 7)).not.toBe(job);
    expect(strings.text(body, 7, 10)).toBe('job'); // an entry made by id is decoded when asked
    expect(strings.id(body, 10, 11)).toBeGreaterThanOrEqual(0); // ids are for bytes; text refuses them
    expect(strings.text(body, 10, 11)).toBeNull();
    expect(strings.id(Buffer.alloc(500), 0, 500)).toBe(-1); // long strings are not kept
    const idOf = (s: string) => strings.id(Buffer.from(s), 0, s.length);
    const first = Array.from({ length: 150 }, (_, i) => idOf(`value-${i}`));
    expect(strings.size).toBe(100); // full: the rest are not kept, and have no id
    expect(first.filter((id) => id < 0)).toHaveLength(53);
    expect(Array.from({ length: 150 }, (_, i) => idOf(`value-${i}`))).toEqual(first); // stable while full
    expect(strings.text(Buffer.from('value-149'), 0, 9)).toBe('value-149'); // decoded, not kept
    expect(strings.size).toBe(100);
    strings.renew(); // a new generation of the series cache empties a full table
    expect(strings.size).toBe(0);
    const seen = new Set(first.filter((id) => id >= 0));
    const again = Array.from({ length: 10 }, (_, i) => idOf(`value-${140 + i}`));
    for (const id of again) expect(id >= 0 && !seen.has(id)).toBe(true); // an id is never given to other bytes
    strings.renew(); // not full: nothing changes
    expect(Array.from({ length: 10 }, (_, i) => idOf(`value-${140 + i}`))).toEqual(again);
    expect(strings.size).toBe(10);
  });

  it('stays correct and bounded when every string collides (a sender crafting collisions)', () => {
    const strings = new LabelStrings(() => 7);
    const keys = Array.from({ length: 200 }, (_, i) => Buffer.from(`value-${i}`));
    for (let round = 0; round < 2; round++) keys.forEach((k, i) => expect(strings.text(k, 0, k.length)).toBe(`value-${i}`));
    expect(strings.size).toBeLessThanOrEqual(64); // the rest decoded, not kept
    expect(strings.size).toBeGreaterThan(0);
  });
});
