// The write-ahead log check against SQLite's own files. A process killed in a transaction too large
// for its page cache leaves frames SQLite rewrote in place with stale checksums, and later frames
// after them, none committed: not damage (a 1 M-series restart benchmark found the store refused
// after kill -9). A committed frame that fails its checksum still is, where a commit marker or the
// -shm's record of the last commit shows it.
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { walDamage } from '../../../main/tsdb/wal-file';
import { tempDirs } from '../../temp-dirs';

const dirs = tempDirs('ampule-wal-');
afterAll(() => dirs.removeAll());

const FRAME = 24 + 4096;
const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');

/** Three committed transactions, then one killed (SIGKILL) after it spilled frames and changed their pages again. */
function killedInTransaction(): string {
  const path = join(dirs.make(), 'db.sqlite');
  const script = `
    const Database = require(${JSON.stringify(sqlite)});
    const db = new Database(${JSON.stringify(path)});
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)');
    const put = db.prepare('INSERT OR REPLACE INTO t (k, v) VALUES (?, ?)');
    for (let i = 0; i < 3; i++) put.run(i, Buffer.alloc(100, i + 1));
    db.pragma('cache_size = 4');
    db.exec('BEGIN');
    for (let i = 0; i < 300; i++) put.run(1000 + i, Buffer.alloc(900, 7));
    for (let i = 0; i < 300; i++) put.run(1000 + i, Buffer.alloc(900, 8));
    process.kill(process.pid, 'SIGKILL');
  `;
  const r = spawnSync(process.execPath, ['-e', script]);
  expect(r.signal).toBe('SIGKILL');
  return path;
}

/** Frames of the header's generation, each: whether its checksum holds, and its commit marker. */
function frames(wal: Buffer): { ok: boolean; commit: number }[] {
  // Checksums read the log in the byte order its magic names (0x377f0683: big-endian).
  const word = wal.readUInt32BE(0) === 0x377f0683 ? (i: number) => wal.readUInt32BE(i) : (i: number) => wal.readUInt32LE(i);
  const sum = (at: number, end: number, s: [number, number]): [number, number] => {
    let [a, b] = s;
    for (let i = at; i < end; i += 8) {
      a = (a + word(i) + b) >>> 0;
      b = (b + word(i + 4) + a) >>> 0;
    }
    return [a, b];
  };
  const out: { ok: boolean; commit: number }[] = [];
  let seed = sum(0, 24, [0, 0]);
  for (let at = 32; at + FRAME <= wal.length && wal.readUInt32BE(at + 8) === wal.readUInt32BE(16); at += FRAME) {
    const [c0, c1] = sum(at + 24, at + FRAME, sum(at, at + 8, seed));
    seed = [wal.readUInt32BE(at + 16), wal.readUInt32BE(at + 20)];
    out.push({ ok: c0 === seed[0] && c1 === seed[1], commit: wal.readUInt32BE(at + 4) });
  }
  return out;
}

describe('walDamage', () => {
  it('takes a transaction killed after SQLite rewrote its spilled frames in place for what it is: uncommitted, not damage', () => {
    const path = killedInTransaction();
    const wal = readFileSync(`${path}-wal`);
    const seen = frames(wal);
    const firstBad = seen.findIndex((f) => !f.ok);
    // The state the kill left: a stale frame, later frames of the same generation after it, no commit marker from it on.
    expect(firstBad).toBeGreaterThan(0);
    expect(seen.length).toBeGreaterThan(firstBad + 1);
    expect(seen.slice(firstBad).every((f) => f.commit === 0)).toBe(true);
    expect(walDamage(`${path}-wal`)).toBeNull();
    // A -shm whose header was altered (its last commit moved past the stale frame) is not trusted.
    const shm = readFileSync(`${path}-shm`);
    for (const copy of [0, 48]) shm[copy + 19]! ^= 0x40;
    writeFileSync(`${path}-shm`, shm);
    expect(walDamage(`${path}-wal`)).toBeNull();
    // SQLite's recovery keeps the three commits and drops the transaction.
    const db = new Database(path);
    expect(db.prepare('SELECT k FROM t ORDER BY k').pluck().all()).toEqual([0, 1, 2]);
    db.close();
  });

  it('still finds a committed frame that fails its checksum, before and among the killed transaction’s frames', () => {
    const path = killedInTransaction();
    const wal = readFileSync(`${path}-wal`);
    const seen = frames(wal);
    const lastCommit = seen.map((f) => f.commit).findLastIndex((c) => c !== 0);
    expect(lastCommit).toBeGreaterThan(0);
    // A bit flipped in the page of the first committed frame.
    const flipped = Buffer.from(wal);
    flipped[32 + 24 + 200]! ^= 0x10;
    writeFileSync(`${path}-wal`, flipped);
    expect(walDamage(`${path}-wal`)).toMatch(/^frame 1 fails its checksum, so SQLite would drop it and every later frame, committed ones included$/);
    // The last commit's marker cleared: no marker from it on, but the -shm records that commit.
    const unmarked = Buffer.from(wal);
    unmarked.writeUInt32BE(0, 32 + lastCommit * FRAME + 4);
    writeFileSync(`${path}-wal`, unmarked);
    expect(walDamage(`${path}-wal`)).toMatch(new RegExp(`^frame ${lastCommit + 1} fails its checksum`));
  });

  it('finds no damage in a log another process is writing (a frame read between its header and its page)', async () => {
    // A real SQLite writer committing in a loop, as a server does while a second process opens
    // control.db: before a damaged-looking log was read again, 12 checks of 173 in one run called it
    // damaged.
    const path = join(dirs.make(), 'db.sqlite');
    const script = `
      const Database = require(${JSON.stringify(sqlite)});
      const db = new Database(${JSON.stringify(path)});
      db.pragma('journal_mode = WAL');
      db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)');
      const put = db.prepare('INSERT INTO t (v) VALUES (?)');
      process.stdout.write('ready\\n');
      for (;;) db.transaction(() => { for (let i = 0; i < 5; i++) put.run(Buffer.alloc(3000, i)); })();
    `;
    const writer = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve) => writer.stdout.once('data', resolve));
      let checks = 0;
      const found: string[] = [];
      for (const end = Date.now() + 2000; Date.now() < end; checks++) {
        const damage = walDamage(`${path}-wal`);
        if (damage) found.push(damage);
      }
      expect(checks).toBeGreaterThan(20);
      expect(found).toEqual([]);
    } finally {
      writer.kill('SIGKILL');
    }
  });
});
