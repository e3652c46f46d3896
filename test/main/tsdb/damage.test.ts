// A missing or altered row is an error naming workspace, file and item, never fewer series:
// each fault is written into a real store file with SQLite (or by flipping bytes), then reopened.
import Database from 'better-sqlite3';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTsdb, StoreDamaged, verifyTsdb, type Tsdb } from '../../../main/tsdb/index';
import { lbl, queryValue, tempDir, TestKeys, type TempDir } from './helpers';
import { trackStores } from './track-stores';

const T0 = 1_700_000_000_000;
const WS = 'ws-damage';
const { dirs, dbs } = trackStores();

/** A store with series pages, chunk rows over several buckets, a head state and log records. */
function build(headPartBytes?: number): { dir: TempDir; keys: TestKeys; path: string } {
  const dir = tempDir();
  dirs.push(dir);
  const keys = new TestKeys();
  const path = dir.file('tsdb.db');
  const db = openTsdb({ path, workspaceId: WS, keys, bucketMs: 3600_000, seriesPerPart: 4, ...(headPartBytes ? { headPartBytes } : {}) });
  const app = db.appender();
  for (let i = 0; i < 300; i++) for (let s = 0; s < 10; s++) app.append(0, lbl({ __name__: 'd_metric', s: String(s) }), T0 + i * 30_000, s * 1000 + i);
  app.commit();
  db.compact();
  for (let k = 0; k < 3; k++) {
    const a = db.appender();
    a.append(0, lbl({ __name__: 'd_late', k: String(k) }), T0 + 10_000_000 + k, k);
    a.commit();
  }
  db.close();
  return { dir, keys, path };
}

function open(path: string, keys: TestKeys): Tsdb {
  const db = openTsdb({ path, workspaceId: WS, keys });
  dbs.push(db);
  return db;
}

function sql(path: string, statement: string): number {
  const raw = new Database(path);
  try {
    return raw.prepare(statement).run().changes;
  } finally {
    raw.close();
  }
}

function damage(path: string, keys: TestKeys): StoreDamaged {
  try {
    open(path, keys);
  } catch (e) {
    expect(e).toBeInstanceOf(StoreDamaged);
    expect((e as StoreDamaged).workspaceId).toBe(WS);
    expect((e as Error).message).toMatch(new RegExp(`^Workspace ${WS}: the store file .*tsdb\\.db is damaged: `));
    return e as StoreDamaged;
  }
  throw new Error('the damaged store opened');
}

const everything = (db: Tsdb) => db.querier().select([], -Infinity, Infinity);

describe('tsdb damage', () => {
  it('refuses to open without a chunk row, a log record or a series page, or with an altered sample count or layout', () => {
    const cases: [string, RegExp][] = [
      ['DELETE FROM chunks WHERE rowid = (SELECT max(rowid) FROM chunks)', /chunk row for .*: 1 chunk row\(s\) missing/],
      ['DELETE FROM log WHERE seq = (SELECT max(seq) FROM log)', /log records: 1 of \d+ record\(s\) missing \(newest record \d+, manifest says \d+\)/],
      ['DELETE FROM series_pages', /series page 1: missing/],
      ['UPDATE chunks SET samples = samples + 1 WHERE rowid = (SELECT min(rowid) FROM chunks)', /chunk row .*: its sample count \d+ differs from the manifest's/],
      ['UPDATE log SET max_bucket = max_bucket - 1 WHERE seq = (SELECT min(seq) FROM log)', /log records: a record or its bucket column differs/],
      ["UPDATE meta SET value = '7200000' WHERE name = 'bucket_ms'", /meta: the layout in clear .* differs from the sealed one/],
      ["UPDATE meta SET value = '7' WHERE name = 'format'", /meta: store format "7" is not one this version reads/],
      ['UPDATE log SET tag = tag + 1 WHERE seq = (SELECT min(seq) FROM log)', /log records: a record or its bucket column differs/],
      ['DELETE FROM manifest WHERE name = \'log\'', /manifest \(log\): it is missing/],
      ['DELETE FROM head_state', /head state \d+: missing/],
    ];
    for (const [statement, expected] of cases) {
      const { path, keys } = build();
      expect(sql(path, statement), statement).toBeGreaterThan(0);
      expect(damage(path, keys).message, statement).toMatch(expected);
    }
  });

  it('names a column whose kind changed (a flipped bit in a record header can leave text where bytes or a number were written) instead of tripping over it', () => {
    const cases: [string, RegExp][] = [
      ['UPDATE log SET data = CAST(data AS TEXT) WHERE seq = (SELECT max(seq) FROM log)', /log records: its data column holds string where the store writes bytes/],
      ['UPDATE chunks SET data = CAST(data AS TEXT) WHERE rowid = (SELECT min(rowid) FROM chunks)', /chunk rows: its data column holds string where the store writes bytes/],
      ['UPDATE series_pages SET data = CAST(data AS TEXT)', /series pages: its data column holds string where the store writes bytes/],
      ['UPDATE head_state SET data = CAST(data AS TEXT)', /head state: its data column holds string where the store writes bytes/],
      ["UPDATE chunks SET samples = 'x' WHERE rowid = (SELECT min(rowid) FROM chunks)", /chunk rows: its samples column holds string where the store writes a number/],
    ];
    for (const [statement, expected] of cases) {
      const { path, keys } = build();
      expect(sql(path, statement), statement).toBeGreaterThan(0);
      // Chunk rows are read by a select, the rest on open.
      expect(() => everything(open(path, keys)), statement).toThrow(StoreDamaged);
      expect(() => everything(open(path, keys)), statement).toThrow(expected);
    }
  });

  it('finds an old sealed copy put back in place of a chunk row, on read and in verifyTsdb', () => {
    const { path, keys } = build();
    const raw = new Database(path);
    const old = raw.prepare('SELECT bucket, part, data FROM chunks ORDER BY bucket, part LIMIT 1').get() as { bucket: number; part: number; data: Buffer };
    raw.close();
    const db = openTsdb({ path, workspaceId: WS, keys, outOfOrderWindowMs: 10 ** 12 });
    const a = db.appender(); // a late sample into the same bucket and series group: the row is rewritten
    a.append(0, lbl({ __name__: 'd_metric', s: '0' }), T0 + 1, -1);
    a.commit();
    db.compact({ all: true });
    db.close();
    const put = new Database(path);
    put.prepare('UPDATE chunks SET data = ? WHERE bucket = ? AND part = ?').run(old.data, old.bucket, old.part); // authentic ciphertext, older version
    put.close();
    const again = open(path, keys);
    expect(() => everything(again)).toThrow(/chunk row for .*\(part 0\): it is not the version the manifest lists/);
    expect(() => verifyTsdb({ path, workspaceId: WS, keys })).toThrow(StoreDamaged);
  });

  it('refuses a write-ahead log whose frame was flipped, before SQLite would drop the frame and later ones, and leaves the files untouched', () => {
    const { dir, keys, path } = build();
    const db = open(path, keys);
    for (let k = 0; k < 3; k++) {
      const a = db.appender();
      a.append(0, lbl({ __name__: 'd_wal', k: String(k) }), T0 + 20_000_000 + k, k);
      a.commit();
    }
    // A copy taken while open, as kill -9 leaves the files.
    copyFileSync(path, dir.file('copy.db'));
    copyFileSync(`${path}-wal`, dir.file('copy.db-wal'));
    const wal = readFileSync(dir.file('copy.db-wal'));
    const frame = 24 + 4096;
    wal[32 + frame + 24 + 100]! ^= 0x04; // inside the second frame's page
    writeFileSync(dir.file('copy.db-wal'), wal);
    expect(() => open(dir.file('copy.db'), keys)).toThrow(/write-ahead log .*copy\.db-wal: frame 2 fails its checksum/);
    expect(readFileSync(dir.file('copy.db-wal')).equals(wal)).toBe(true);
    wal[32 + frame + 24 + 100]! ^= 0x04; // undone: the copy opens with every commit
    writeFileSync(dir.file('copy.db-wal'), wal);
    expect(open(dir.file('copy.db'), keys).querier().select([{ type: '=', name: '__name__', value: 'd_wal' }], -Infinity, Infinity)).toHaveLength(3);
  });

  it('names SQLite corruption (quick_check on open) instead of a bare SqliteError', () => {
    const { path, keys } = build();
    const bytes = readFileSync(path);
    const pageSize = bytes.readUInt16BE(16);
    bytes[pageSize * 2 + 3]! ^= 0x40; // the cell count of page 3's b-tree header
    writeFileSync(path, bytes);
    expect(damage(path, keys).message).toMatch(/(SQLite structure: quick_check|SQLite SQLITE_CORRUPT)/);
  });

  it('gives a store of format 1 (before the manifest) its manifest on open, with the same answers', () => {
    const { path, keys } = build();
    const before = everything(open(path, keys));
    dbs.pop()!.close();
    sql(path, 'DROP TABLE manifest');
    untagLog(path);
    sql(path, "UPDATE meta SET value = '1' WHERE name = 'format'");
    const db = open(path, keys);
    expect(everything(db)).toEqual(before);
    db.close();
    dbs.pop();
    expect(verifyTsdb({ path, workspaceId: WS, keys })).toMatchObject({ series: 13 });
    sql(path, 'DELETE FROM series_pages');
    expect(damage(path, keys).message).toMatch(/series page 1: missing/);
  });

  it('gives a store of format 2 its log digests on open (read off the rows before that, read-only), with the same answers', () => {
    const { path, keys } = build();
    const before = everything(open(path, keys));
    dbs.pop()!.close();
    untagLog(path);
    sql(path, "UPDATE meta SET value = '2' WHERE name = 'format'");
    expect(verifyTsdb({ path, workspaceId: WS, keys })).toMatchObject({ series: 13 }); // the self-test before the first open
    const db = open(path, keys);
    expect(everything(db)).toEqual(before);
    db.close();
    dbs.pop();
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare('SELECT count(*) AS n FROM log WHERE tag IS NULL').get()).toEqual({ n: 0 });
    expect((raw.prepare('SELECT count(*) AS n FROM log').get() as { n: number }).n).toBeGreaterThan(0);
    raw.close();
    expect(verifyTsdb({ path, workspaceId: WS, keys })).toMatchObject({ series: 13 });
  });

  it('marks a store of format 3 as 6 (chunks may pack deltas, the head state may be in numbered parts) when it first opens to write, not when read-only', () => {
    const { path, keys } = build();
    const before = everything(open(path, keys));
    dbs.pop()!.close();
    sql(path, "UPDATE meta SET value = '3' WHERE name = 'format'");
    expect(verifyTsdb({ path, workspaceId: WS, keys })).toMatchObject({ series: 13 });
    expect(format(path)).toBe('3');
    const db = open(path, keys);
    expect(everything(db)).toEqual(before);
    db.close();
    dbs.pop();
    expect(format(path)).toBe('6');
  });

  it('gives a store of format 4 its table of head state parts on the first open to write; read-only, it reads without one', () => {
    // Format 4 wrote no parts: a store whose head is only in the log, as such a file can be.
    const dir = tempDir();
    dirs.push(dir);
    const keys = new TestKeys();
    const path = dir.file('tsdb.db');
    const first = open(path, keys);
    const app = first.appender();
    for (let i = 0; i < 50; i++) app.append(0, lbl({ __name__: 'd_four', s: String(i % 5) }), T0 + i * 15_000, i);
    app.commit();
    const before = everything(first);
    first.close();
    dbs.pop();
    expect(headParts(path)).toBe(0); // nothing a format 4 file could not hold
    sql(path, 'DROP TABLE head_parts');
    sql(path, "UPDATE meta SET value = '4' WHERE name = 'format'");
    expect(verifyTsdb({ path, workspaceId: WS, keys })).toMatchObject({ series: 5 });
    expect(format(path)).toBe('4');
    const db = open(path, keys);
    expect(everything(db)).toEqual(before);
    expect(format(path)).toBe('6');
    db.compact({ checkpoint: true });
    db.close();
    dbs.pop();
    expect(headParts(path)).toBe(2); // its samples, and its series' states
    expect(everything(open(path, keys))).toEqual(before);
  });

  it('writes a head of many parts that reopens with the same answers, and names a part that is missing, swapped, extra or altered', () => {
    const { path, keys } = build(40);
    const parts = headParts(path);
    expect(parts).toBeGreaterThan(5);
    const before = everything(open(path, keys));
    expect(before.length).toBe(13);
    dbs.pop()!.close();
    expect(verifyTsdb({ path, workspaceId: WS, keys })).toMatchObject({ series: 13 });
    // The parts are numbered from the first of the range this checkpoint wrote to.
    const p0 = queryValue(path, 'SELECT min(part) FROM head_parts');
    const cases: [string, RegExp][] = [
      [`DELETE FROM head_parts WHERE part = ${p0 + 1}`, new RegExp(`head state \\d+: it has ${parts} parts of samples from number ${p0}, the file holds ${parts - 1} of them and ${parts - 1} in all`)],
      [`UPDATE head_parts SET data = (SELECT data FROM head_parts WHERE part = ${p0}) WHERE part = ${p0 + 1}`, new RegExp(`head state \\d+, samples part ${p0 + 1}: it is not the one the manifest lists`)],
      // An extra row the manifest does not list, in the range or outside it (where an unfinished checkpoint's are).
      [`INSERT INTO head_parts (part, key_id, data) SELECT ${p0 + parts}, key_id, data FROM head_parts WHERE part = ${p0}`, new RegExp(`the file holds ${parts} of them and ${parts + 1} in all \\(numbered ${p0} to ${p0 + parts}\\), the manifest lists ${parts}`)],
      [`INSERT INTO head_parts (part, key_id, data) SELECT ${p0 ? 0 : 2 ** 19}, key_id, data FROM head_parts WHERE part = ${p0}`, new RegExp(`the file holds ${parts} of them and ${parts + 1} in all`)],
    ];
    for (const [i, [statement, expected]] of cases.entries()) {
      const copy = join(dirname(path), `case-${i}`, 'tsdb.db');
      mkdirSync(dirname(copy));
      copyFileSync(path, copy);
      expect(sql(copy, statement), statement).toBeGreaterThan(0);
      expect(damage(copy, keys).message, statement).toMatch(expected);
    }
    // A byte flipped inside a part (its digest, the tag's end, unchanged): GCM refuses it.
    const raw = new Database(path);
    const row = raw.prepare('SELECT data FROM head_parts WHERE part = ?').get(p0 + 2) as { data: Buffer };
    row.data[20] = row.data[20]! ^ 0x40;
    raw.prepare('UPDATE head_parts SET data = ? WHERE part = ?').run(row.data, p0 + 2);
    raw.close();
    expect(damage(path, keys).message).toMatch(new RegExp(`head state \\d+, samples part ${p0 + 2}: .*altered`));
  });

  it('finds a log record the checkpoint does not cover swapped for another one, by the digest beside it', () => {
    const { path, keys } = build();
    const raw = new Database(path);
    const [a, b] = raw.prepare('SELECT seq, data FROM log ORDER BY seq DESC LIMIT 2').all() as { seq: number; data: Buffer }[];
    raw.prepare('UPDATE log SET data = ? WHERE seq = ?').run(b!.data, a!.seq);
    raw.close();
    expect(damage(path, keys).message).toMatch(new RegExp(`log record ${a!.seq}: it differs from the digest beside it`));
  });
});

const format = (path: string): string => queryValue(path, "SELECT value FROM meta WHERE name = 'format'");
const headParts = (path: string): number => queryValue(path, 'SELECT count(*) FROM head_parts');

/** Makes the log as format 2 and earlier kept it: no digest column, no index over it. */
function untagLog(path: string): void {
  const raw = new Database(path);
  try {
    raw.exec('DROP INDEX log_tags; ALTER TABLE log DROP COLUMN tag;');
  } finally {
    raw.close();
  }
}
