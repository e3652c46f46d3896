// The decrypted-row cache between queries (main/tsdb/row-cache.ts): a row is served from memory
// only while the sealed manifest still lists that version of it, and a closed store's rows go.
import { describe, expect, it } from 'vitest';
import { openTsdb, type Tsdb } from '../../../main/tsdb/index';
import { RowCache, rowCache } from '../../../main/tsdb/row-cache';
import type { Matcher } from '../../../main/tsdb/types';
import { lbl, tempDir, TestKeys } from './helpers';
import { trackStores } from './track-stores';

const HOUR = 3600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % HOUR);
const { dirs, dbs } = trackStores();
const ALL: Matcher[] = [{ type: '=', name: '__name__', value: 'm' }];

/** 4 series over 4 hours (one sample a minute), cut into chunk rows of 2 series × 1 hour. */
function store(): { db: Tsdb; keys: TestKeys; path: string } {
  const dir = tempDir();
  dirs.push(dir);
  const keys = new TestKeys();
  const db = openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-rows', keys, bucketMs: HOUR, seriesPerPart: 2 });
  dbs.push(db);
  const app = db.appender();
  for (let i = 0; i < 4 * 60; i++) ['a', 'b', 'c', 'd'].forEach((s, k) => app.append(0, lbl({ __name__: 'm', s }), T0 + i * 60_000, k * 1000 + i));
  app.commit();
  db.compact({ all: true });
  return { db, keys, path: dir.file('ws.db') };
}

/** Every selected sample as `series@minute=value`, both through timestamps/values and through a lazy select. */
function answer(db: Tsdb): string[] {
  const out: string[] = [];
  for (const lazy of [false, true]) {
    for (const s of db.querier().select(ALL, T0, T0 + 4 * HOUR, { lazy })) {
      const d = lazy ? s.samples!() : s;
      for (let i = 0; i < d.timestamps.length; i++) out.push(`${lazy ? 'lazy ' : ''}${s.labels.find((l) => l.name === 's')!.value}@${(d.timestamps[i]! - T0) / 60_000}=${d.values[i]}`);
    }
  }
  return out;
}

describe('row cache', () => {
  it('serves the same answers from cached rows, and the rewritten row after a deletion, never the cached one', async () => {
    const { db } = store();
    const first = answer(db);
    expect(first).toHaveLength(2 * 4 * 4 * 60);
    expect(rowCache.size).toBeGreaterThan(0);
    expect(answer(db)).toEqual(first); // from the cache
    // Deleting rewrites the rows of series b's group: the cached versions must not answer.
    expect(await db.deleteSeries([...ALL, { type: '=', name: 's', value: 'b' }], T0, T0 + 90 * 60_000)).toBe(91);
    const after = answer(db);
    expect(after.filter((x) => x.startsWith('b@') && Number(x.slice(2).split('=')[0]) <= 90)).toEqual([]);
    expect(after).toEqual(first.filter((x) => !/^(lazy )?b@/.test(x) || Number(x.replace(/^(lazy )?b@/, '').split('=')[0]) > 90));
  });

  it('gives the same answers after a data-key rotation re-sealed every row', async () => {
    const { db, keys } = store();
    const first = answer(db);
    keys.raw.set(2, Buffer.alloc(32, 9));
    keys.current = 2;
    await db.reencrypt();
    expect(answer(db)).toEqual(first);
  });

  it('drops a store’s rows when it is closed', () => {
    const { db } = store();
    answer(db);
    const before = rowCache.size;
    expect(before).toBeGreaterThan(0);
    db.close();
    dbs.splice(dbs.indexOf(db), 1);
    expect(rowCache.size).toBeLessThan(before);
  });

  it('keeps to its budget, least recently used rows going first, and finds a row only with the listed digest and count', () => {
    const cache = new RowCache(1000);
    const owner = {};
    const row = {} as never;
    for (const bucket of [1, 2, 3, 4]) cache.put(owner, bucket, 0, 7, 10, row, 240);
    expect(cache.get(owner, 1, 0, 7, 10)).toBe(row); // 1 is now the most recent
    cache.put(owner, 5, 0, 7, 10, row, 240); // over budget: 2 goes
    expect(cache.get(owner, 2, 0, 7, 10)).toBeUndefined();
    expect(cache.get(owner, 1, 0, 7, 10)).toBe(row);
    expect(cache.size).toBe(960);
    cache.put(owner, 6, 0, 7, 10, row, 251); // more than a quarter of the budget: not kept
    expect(cache.get(owner, 6, 0, 7, 10)).toBeUndefined();
    expect(cache.get(owner, 3, 0, 8, 10)).toBeUndefined(); // another digest: a rewritten row
    expect(cache.get(owner, 1, 0, 7, 11)).toBeUndefined(); // another sample count
    expect(cache.size).toBe(480); // both stale entries dropped
    expect(cache.get({}, 1, 0, 7, 10)).toBeUndefined(); // another store
  });
});
