// What is on disk: only ciphertext for label sets, values and timestamps, bound to its place.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTsdb, StoreDamaged, type Tsdb } from '../../../main/tsdb/index';
import { lbl, tempDir, TestKeys, type TempDir } from './helpers';
import { trackStores } from './track-stores';

const T0 = 1_700_000_000_000;
const NAME = 'zebrafish_secret_metric_total';
const LABEL_VALUE = 'customer-purple-otter-7731';
const VALUES = [123456.789012, 98765.432109, 31415926.535897]; // too many decimals for the log's short codes: stored as float64 unless sealed
const { dirs, dbs } = trackStores();

function newDir(): TempDir {
  const d = tempDir();
  dirs.push(d);
  return d;
}

function track(db: Tsdb): Tsdb {
  dbs.push(db);
  return db;
}

function float64(v: number, le: boolean): Buffer {
  const b = Buffer.alloc(8);
  if (le) b.writeDoubleLE(v);
  else b.writeDoubleBE(v);
  return b;
}

const markers: Buffer[] = [
  ...[NAME, LABEL_VALUE].flatMap((s) => [Buffer.from(s, 'utf8'), Buffer.from(s, 'utf16le')]),
  ...VALUES.flatMap((v) => [float64(v, true), float64(v, false)]),
];

/** Every marker found in any file of the directory (db, -wal, -shm…). */
function scan(dir: string): string[] {
  const hits: string[] = [];
  for (const f of readdirSync(dir)) {
    const bytes = readFileSync(join(dir, f));
    for (const m of markers) if (bytes.includes(m)) hits.push(`${f}: ${m.toString('hex')}`);
  }
  return hits;
}

function writeSecrets(db: Tsdb, n = 200): void {
  const app = db.appender();
  for (let i = 0; i < n; i++) {
    app.append(0, lbl({ __name__: NAME, customer: LABEL_VALUE }), T0 + i * 15_000, VALUES[i % VALUES.length]!);
    app.append(0, lbl({ __name__: 'plain_gauge', host: `h${i % 3}` }), T0 + i * 15_000, i);
    if (i % 10 === 9) app.commit();
  }
  app.commit();
}

describe('tsdb on disk', () => {
  it('holds no label, metric name or value in clear, before and after compaction', () => {
    const control = newDir();
    const plain = track(openTsdb({ path: control.file('ws.db'), workspaceId: 'ws-plain', keys: null }));
    writeSecrets(plain);
    // The scanner finds names, label values and values when the store is not encrypted.
    const controlHits = scan(control.path).join('\n');
    for (const m of [Buffer.from(NAME), Buffer.from(LABEL_VALUE), ...VALUES.map((v) => float64(v, true))]) expect(controlHits).toContain(m.toString('hex'));

    const dir = newDir();
    const db = track(openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-secret', keys: new TestKeys() }));
    writeSecrets(db);
    expect(scan(dir.path)).toEqual([]);
    db.compact({ all: true });
    expect(scan(dir.path)).toEqual([]);
    const app = db.appender(); // and with both chunk rows and log records present
    app.append(0, lbl({ __name__: NAME, customer: LABEL_VALUE }), T0 + 10_000_000, VALUES[0]!);
    app.commit();
    expect(scan(dir.path)).toEqual([]);
    expect(db.querier().select([{ type: '=', name: 'customer', value: LABEL_VALUE }], 0, Infinity)[0]!.values[1]).toBe(VALUES[1]);
  });

  it('refuses a chunk row or series page copied from another workspace, and a row moved inside one', () => {
    const keys = new TestKeys({ 1: randomBytes(32) }); // same key for both: only the AAD tells them apart
    const a = newDir();
    const b = newDir();
    const dbA = openTsdb({ path: a.file('ws.db'), workspaceId: 'ws-aaaa', keys, seriesPerPart: 1 });
    writeSecrets(dbA);
    dbA.compact({ all: true });
    dbA.close();
    const dbB = openTsdb({ path: b.file('ws.db'), workspaceId: 'ws-bbbb', keys, seriesPerPart: 1 });
    const app = dbB.appender();
    for (let i = 0; i < 200; i++) {
      app.append(0, lbl({ __name__: 'b_metric', n: '1' }), T0 + i * 15_000, 1);
      app.append(0, lbl({ __name__: 'b_metric', n: '2' }), T0 + i * 15_000, 2);
    }
    app.commit();
    dbB.compact({ all: true });
    dbB.close();

    const rawA = new Database(a.file('ws.db'), { readonly: true });
    const rowA = rawA.prepare('SELECT bucket, part, key_id, samples, data FROM chunks WHERE part = 1 ORDER BY bucket LIMIT 1').get() as Record<string, unknown>;
    const pageA = rawA.prepare('SELECT key_id, data FROM series_pages LIMIT 1').get() as Record<string, unknown>;
    rawA.close();
    const rawB = new Database(b.file('ws.db'));
    rawB.prepare('INSERT OR REPLACE INTO chunks (bucket, part, key_id, samples, data) VALUES (?, ?, ?, ?, ?)').run(rowA.bucket, rowA.part, rowA.key_id, rowA.samples, rowA.data);
    rawB.prepare('INSERT INTO series_pages (page, key_id, data) VALUES (99, ?, ?)').run(pageA.key_id, pageA.data);
    rawB.close();

    // A page the manifest does not list: the store refuses to open rather than serve a different index.
    expect(() => openTsdb({ path: b.file('ws.db'), workspaceId: 'ws-bbbb', keys })).toThrow(StoreDamaged);
    expect(() => openTsdb({ path: b.file('ws.db'), workspaceId: 'ws-bbbb', keys })).toThrow(/Workspace ws-bbbb: the store file .*ws\.db is damaged: series page 99: the manifest does not list it/);
    const fix = new Database(b.file('ws.db'));
    fix.prepare('DELETE FROM series_pages WHERE page = 99').run();
    fix.close();

    const reopened = track(openTsdb({ path: b.file('ws.db'), workspaceId: 'ws-bbbb', keys }));
    const q = reopened.querier();
    expect(q.labelValues('__name__')).toEqual(['b_metric']);
    // Series 1 of B shares the row identity the copied row came from: it must fail, not show A's data.
    let err: unknown;
    try {
      q.select([{ type: '=', name: 'n', value: '1' }], 0, Infinity);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreDamaged);
    expect(err).toMatchObject({ workspaceId: 'ws-bbbb', item: expect.stringMatching(/chunk row .*bucket.*part 1/) });
    expect((err as Error).message).toMatch(/ws-bbbb.*ws\.db is damaged: chunk row .*bucket.*part 1/);
    // The other series stays readable.
    const other = q.select([{ type: '=', name: 'n', value: '2' }], 0, Infinity);
    expect(other[0]!.values.length).toBe(200);
    expect(scan(b.path)).toEqual([]);
  });

  it('reports a flipped byte with workspace and item while everything else stays readable', () => {
    const dir = newDir();
    const keys = new TestKeys();
    const db = openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-flip', keys, seriesPerPart: 1 });
    writeSecrets(db);
    db.compact({ all: true });
    const app = db.appender();
    app.append(0, lbl({ __name__: 'in_log' }), T0, 5);
    app.commit();
    db.close();
    const raw = new Database(dir.file('ws.db'));
    const row = raw.prepare('SELECT bucket, part, data FROM chunks WHERE part = 1 LIMIT 1').get() as { bucket: number; part: number; data: Buffer };
    row.data[row.data.length >> 1]! ^= 0x01;
    raw.prepare('UPDATE chunks SET data = ? WHERE bucket = ? AND part = ?').run(row.data, row.bucket, row.part);
    raw.close();
    const again = track(openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-flip', keys }));
    const q = again.querier();
    expect(() => q.select([{ type: '=', name: '__name__', value: NAME }], 0, Infinity)).toThrow(/Workspace ws-flip: the store file .* is damaged: chunk row for .* \(bucket \d+\), series ids 1-1 \(part 1\): ciphertext failed authentication/);
    expect(q.select([{ type: '=', name: 'host', value: 'h1' }], 0, Infinity)[0]!.values.length).toBeGreaterThan(0);
    expect(q.select([{ type: '=', name: '__name__', value: 'in_log' }], 0, Infinity)[0]!.values[0]).toBe(5);
  });
});
