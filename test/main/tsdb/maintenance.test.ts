// Retention, deletion for good, and data-key rotation.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTsdb, type Tsdb } from '../../../main/tsdb/index';
import { lbl, tempDir, TestKeys, type TempDir } from './helpers';
import { trackStores } from './track-stores';

const HOUR = 3600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % HOUR);
const { dirs, dbs } = trackStores();

function setup(opts: { retentionMs?: number } = {}): { db: Tsdb; dir: TempDir; keys: TestKeys } {
  const dir = tempDir();
  dirs.push(dir);
  const keys = new TestKeys();
  const db = openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-maint', keys, bucketMs: HOUR, seriesPerPart: 2, ...opts });
  dbs.push(db);
  return { db, dir, keys };
}

/** 4 series (a, b, c, d) with one sample a minute for `hours` hours; value = series * 1e6 + minute. */
function fill(db: Tsdb, hours: number, perMinute = 1): void {
  const app = db.appender();
  const step = 60_000 / perMinute;
  for (let i = 0; i < hours * 60 * perMinute; i++) {
    // Fractions make the values incompressible enough for rows to span several SQLite pages.
    ['a', 'b', 'c', 'd'].forEach((n, k) => app.append(0, lbl({ __name__: 'm', s: n }), T0 + i * step, (k + 1) * 1e6 + Math.floor(i / perMinute) + (perMinute > 1 ? Math.random() / 2 : 0)));
    if (i % 600 === 599) app.commit();
  }
  app.commit();
}

function rawRows(path: string): { table: string; data: Buffer; keyId: number }[] {
  const raw = new Database(path, { readonly: true });
  try {
    return ['series_pages', 'log', 'head_state', 'head_parts', 'chunks'].flatMap((table) =>
      (raw.prepare(`SELECT key_id, data FROM ${table}`).all() as { key_id: number; data: Buffer }[]).map((r) => ({ table, data: r.data, keyId: r.key_id })),
    );
  } finally {
    raw.close();
  }
}

function filesBytes(dir: string): Buffer {
  return Buffer.concat(readdirSync(dir).map((f) => readFileSync(join(dir, f))));
}

describe('tsdb maintenance', () => {
  it('retention deletes whole old buckets and drops series left empty', () => {
    const { db, dir, keys } = setup({ retentionMs: 3 * HOUR });
    fill(db, 6);
    const app = db.appender();
    for (let i = 0; i < 60; i++) app.append(0, lbl({ __name__: 'old' }), T0 + i * 60_000, i);
    app.commit();
    db.compact();
    const before = db.stats().samples;
    const deleted = db.applyRetention(T0 + 6 * HOUR + 30 * 60_000); // keeps buckets from T0+3h
    expect(deleted).toBe(4 * 3 * 60 + 60);
    expect(db.stats().samples).toBe(before - deleted);
    const s = db.querier().select([], -Infinity, Infinity);
    expect(s.map((x) => x.labels[1]?.value)).toEqual(['a', 'b', 'c', 'd']);
    for (const x of s) expect(x.timestamps[0]).toBe(T0 + 3 * HOUR);
    expect(db.querier().labelValues('__name__')).toEqual(['m']);
    // The same after a reopen (the head state was not written again: no head sample was that old).
    db.close();
    const again = openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-maint', keys, bucketMs: HOUR, seriesPerPart: 2 });
    dbs.push(again);
    expect(again.querier().select([], -Infinity, Infinity)).toEqual(s);
    expect(again.stats().samples).toBe(before - deleted);
  });

  it('deleteSeries removes the data for good: not in the store, not in the file, not even with the key', async () => {
    const { db, dir, keys } = setup();
    fill(db, 3, 20);
    db.compact({ all: true });
    // Remember every sealed row now: none that holds series b may survive on disk.
    const before = rawRows(dir.file('ws.db'));
    const deleted = await db.deleteSeries([{ type: '=', name: 's', value: 'b' }], -Infinity, Infinity);
    expect(deleted).toBe(3 * 60 * 20);
    const partial = await db.deleteSeries([{ type: '=', name: 's', value: 'c' }], T0 + HOUR, T0 + 2 * HOUR - 1);
    expect(partial).toBe(60 * 20);
    const q = db.querier();
    expect(q.labelValues('s')).toEqual(['a', 'c', 'd']);
    const c = q.select([{ type: '=', name: 's', value: 'c' }], -Infinity, Infinity)[0]!;
    expect(c.values.length).toBe(120 * 20);
    expect(c.timestamps.some((t) => t >= T0 + HOUR && t < T0 + 2 * HOUR)).toBe(false);
    db.close();

    // No sealed row that held the deleted data is left anywhere in the files (free pages, -wal)…
    const after = rawRows(dir.file('ws.db'));
    const bytes = filesBytes(dir.path);
    const replaced = before.filter((old) => !after.some((r) => r.data.equals(old.data)));
    expect(replaced.filter((r) => r.table === 'chunks').length).toBeGreaterThanOrEqual(3); // part 1 (series b, c) in each bucket
    for (const old of replaced) expect(bytes.includes(old.data.subarray(0, 48)), `old ${old.table} ciphertext left in the files`).toBe(false);
    // …and every row still there, opened with the key, holds none of it.
    const reopened = openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-maint', keys });
    dbs.push(reopened);
    const all = reopened.querier().select([], -Infinity, Infinity);
    expect(all.map((s) => s.labels[1]!.value)).toEqual(['a', 'c', 'd']);
    for (const s of all) for (const v of s.values) expect(v >= 2e6 && v < 3e6).toBe(false);
    const cAgain = all.find((s) => s.labels[1]!.value === 'c')!;
    for (const v of cAgain.values) expect(v - 3e6 >= 60 && v - 3e6 < 120).toBe(false);
    expect(reopened.stats().samples).toBe((4 * 3 * 60 - 180 - 60) * 20);
  });

  it('deleteSeries rewrites only the series pages that held the deleted series, after a reopen too', async () => {
    const { db, dir, keys } = setup();
    const app = db.appender();
    for (let k = 0; k < 5000; k++) app.append(0, lbl({ __name__: 'w', i: String(k) }), T0, k); // two pages: 4,096 series a page
    app.commit();
    db.compact({ checkpoint: true });
    db.close();
    const open = () => {
      const s = openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-maint', keys, bucketMs: HOUR, seriesPerPart: 2 });
      dbs.push(s);
      return s;
    };
    const pages = () => {
      const raw = new Database(dir.file('ws.db'), { readonly: true });
      try {
        return new Map((raw.prepare('SELECT page, data FROM series_pages').all() as { page: number; data: Buffer }[]).map((r) => [r.page, r.data]));
      } finally {
        raw.close();
      }
    };
    const reopened = open(); // the pages' ids come from the file now
    const before = pages();
    expect(before.size).toBe(2);
    expect(await reopened.deleteSeries([{ type: '=', name: 'i', value: '4500' }], -Infinity, Infinity)).toBe(1);
    const after = pages();
    const [first, second] = [...before.keys()].sort((a, b) => a - b);
    expect(after.get(first!)!.equals(before.get(first!)!)).toBe(true); // the page of ids 1–4,096 was left alone
    expect(after.get(second!)!.equals(before.get(second!)!)).toBe(false);
    // The rewritten page's ids, and the other page's, still lead to the right pages.
    expect(await reopened.deleteSeries([{ type: '=~', name: 'i', value: '4501|10' }], -Infinity, Infinity)).toBe(2);
    reopened.close();
    const values = open().querier().labelValues('i');
    expect(values).toHaveLength(4997);
    for (const gone of ['10', '4500', '4501']) expect(values).not.toContain(gone);
  });

  it('reencrypt takes turns while the store keeps working, and writes back no row as it was before a change', async () => {
    const { db, dir, keys } = setup();
    fill(db, 3);
    db.compact();
    // 70 series made one commit each, then 70 log records: series pages and the head state's job come after the first transactions of 32 rows.
    for (let i = 0; i < 70; i++) {
      const a = db.appender();
      a.append(0, lbl({ __name__: 'paged', n: String(i) }), T0 + 3 * HOUR, i);
      a.commit();
      db.compact({ checkpoint: true });
    }
    for (let i = 0; i < 70; i++) {
      const a = db.appender();
      a.append(0, lbl({ __name__: 'm', s: 'a' }), T0 + 3 * HOUR + i * 60_000, i);
      a.commit();
    }
    expect(new Set(rawRows(dir.file('ws.db')).filter((r) => r.table === 'series_pages').map((r) => r.data)).size).toBeGreaterThan(64);
    const before = db.stats().samples;
    keys.raw.set(2, randomBytes(32));
    keys.current = 2;
    let turns = 0;
    await db.reencrypt(undefined, async () => {
      turns++;
      // Between two transactions: a new series (its page changes), then a checkpoint that
      // replaces the head state and its parts and drops the log records it covers.
      const a = db.appender();
      a.append(0, lbl({ __name__: 'during', turn: String(turns) }), T0 + 4 * HOUR + turns * 60_000, turns);
      a.commit();
      db.compact({ checkpoint: true });
      // and a series deleted for good: its page goes (a page written back as it was would bring its labels back)
      if (turns === 1) expect(await db.deleteSeries([{ type: '=', name: 'n', value: '69' }], -Infinity, Infinity)).toBe(1);
    });
    expect(turns).toBeGreaterThanOrEqual(2);
    expect(new Set(rawRows(dir.file('ws.db')).map((r) => r.keyId))).toEqual(new Set([2]));
    db.close();
    keys.raw.delete(1);
    const again = openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-maint', keys, bucketMs: HOUR, seriesPerPart: 2 });
    dbs.push(again);
    expect(again.stats().samples).toBe(before + turns - 1);
    expect(again.querier().select([{ type: '=', name: '__name__', value: 'during' }], -Infinity, Infinity)).toHaveLength(turns);
    expect(again.querier().labelValues('n')).toHaveLength(69);
  });

  it('reencrypt moves every row to the current key, resumably, and the old key is no longer needed', async () => {
    const { db, dir, keys } = setup();
    fill(db, 3);
    db.compact();
    const app = db.appender();
    app.append(0, lbl({ __name__: 'late' }), T0 + 5 * HOUR, 1);
    app.commit();
    const rows = rawRows(dir.file('ws.db'));
    expect(new Set(rows.map((r) => r.keyId))).toEqual(new Set([1]));
    expect(new Set(rows.map((r) => r.table))).toEqual(new Set(['series_pages', 'log', 'head_state', 'head_parts', 'chunks']));
    keys.raw.set(2, randomBytes(32));
    keys.current = 2;
    const progress: [number, number][] = [];
    await db.reencrypt((done, total) => progress.push([done, total]));
    expect(progress.at(-1)).toEqual([rows.length, rows.length]);
    expect(new Set(rawRows(dir.file('ws.db')).map((r) => r.keyId))).toEqual(new Set([2]));
    const raw = new Database(dir.file('ws.db'), { readonly: true });
    expect(raw.prepare('SELECT name, key_id FROM manifest ORDER BY name').all()).toEqual([{ name: 'index', key_id: 2 }, { name: 'log', key_id: 2 }]);
    raw.close();
    const second: number[] = [];
    await db.reencrypt((_done, total) => second.push(total));
    expect(second).toEqual([0]); // nothing left to do
    db.close();
    keys.raw.delete(1);
    const again = openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-maint', keys });
    dbs.push(again); // opening checks every row but chunk data against the manifest
    expect(again.stats().samples).toBe(4 * 3 * 60 + 1);
    expect(again.querier().select([], -Infinity, Infinity).reduce((n, s) => n + s.values.length, 0)).toBe(4 * 3 * 60 + 1);
  });
});
