// The head checkpoint: after it the log holds only what was written since, a reopen gives the
// same answers (floats and native histograms), and kill -9 of a real child process at any moment of
// a checkpoint (while the head is encoded, sealed, written, or the covered log deleted: one SQLite
// transaction; or between the steps of a checkpoint or a cut written in turns) loses nothing committed.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openTsdb, verifyTsdb, type Tsdb } from '../../../main/tsdb/index';
import { lbl, logSinceCheckpoint, queryValue, tempDir, TestKeys, type TempDir } from './helpers';

const CHILD = fileURLToPath(new URL('./fixtures/checkpoint-child.ts', import.meta.url));
const T0 = 1_700_000_000_000;
let dir: TempDir | undefined;
afterEach(() => dir?.remove());

const logRows = (path: string): number => queryValue(path, 'SELECT count(*) FROM log');


function everything(db: Tsdb, name: string): Map<string, [number[], number[]]> {
  const out = new Map<string, [number[], number[]]>();
  for (const s of db.querier().select([{ type: '=', name: '__name__', value: name }], -Infinity, Infinity)) {
    out.set(JSON.stringify(s.labels), [[...s.timestamps], [...s.values]]);
  }
  return out;
}

/** A new store file in a temp dir; `open()` opens it (again) with the same key. */
/**
 * Commits rounds [from, to) of `series` series named `name`, one sample each 15 s apart, calling
 * `after` (a compaction, the appliance's checkpoint check) after each commit.
 */
async function commitRounds(db: Tsdb, name: string, series: number, from: number, to: number, after?: () => unknown): Promise<void> {
  const app = db.appender();
  for (let i = from; i < to; i++) {
    for (let k = 0; k < series; k++) app.append(0, lbl({ __name__: name, k: String(k) }), T0 + i * 15_000, i);
    app.commit();
    await after?.();
  }
}

function newStore(workspaceId: string): { path: string; keys: TestKeys; open: () => Tsdb } {
  dir = tempDir();
  const path = dir.file('ws.db');
  const keys = new TestKeys();
  return { path, keys, open: () => openTsdb({ path, workspaceId, keys }) };
}

describe('head checkpoint', () => {
  it('covers the log; a reopen decodes it and replays only the log written since; cut records go', () => {
    const { path, keys, open } = newStore('ws-cp');
    let db = open();
    const app = db.appender();
    // Values that take every chunk coding: integers, decimals, arbitrary floats, a stale-marker-like NaN.
    const value = (i: number, k: number): number => (k % 3 === 0 ? i : k % 3 === 1 ? i / 100 : Math.sin(i) * 1e6);
    for (let i = 0; i < 300; i++) {
      for (let k = 0; k < 50; k++) app.append(0, lbl({ __name__: 'cp', k: String(k) }), T0 + i * 15_000 + (k % 7), value(i, k));
      app.commit();
    }
    expect(logSinceCheckpoint(path)).toBe(300);
    db.compact({ checkpoint: true });
    expect(logSinceCheckpoint(path)).toBe(0);
    expect(logRows(path)).toBe(300); // kept for the forwarder's committed reader until their samples are cut
    for (let i = 300; i < 310; i++) {
      for (let k = 0; k < 50; k++) app.append(0, lbl({ __name__: 'cp', k: String(k) }), T0 + i * 15_000 + (k % 7), value(i, k));
      app.commit();
    }
    app.append(0, lbl({ __name__: 'cp', k: 'late' }), T0 + 310 * 15_000, 1);
    app.commit();
    const before = everything(db, 'cp');
    expect(before.size).toBe(51);
    expect(before.get(JSON.stringify(lbl({ __name__: 'cp', k: '3' })))![0].length).toBe(310);
    db.close();
    expect(logSinceCheckpoint(path)).toBe(11);
    db = open();
    try {
      expect(everything(db, 'cp')).toEqual(before);
      // Order rules hold across the checkpoint: the last sample is known, a duplicate is refused.
      const again = db.appender();
      expect(() => again.append(0, lbl({ __name__: 'cp', k: '1' }), T0 + 100 * 15_000, 0)).toThrow(/older|out_of_order|last sample/);
      again.rollback();
      db.compact({ all: true });
      expect(logRows(path)).toBe(0);
      expect(everything(db, 'cp')).toEqual(before);
    } finally {
      db.close();
    }
    expect(verifyTsdb({ path, workspaceId: 'ws-cp', keys }).series).toBe(51);
  });

  it('keeps answers through cuts and checkpoints of long heads, with samples before 1970 too', () => {
    const { path, open } = newStore('ws-cp-long');
    let db = open();
    const app = db.appender();
    // 2,000 samples a series (8 h 20 m): packed chunks merge into 128- and 1,024-sample ones, and
    // compactions cut buckets while checkpointing the rest, which cut series then keep.
    const value = (i: number, k: number): number => (k % 2 === 0 ? i * 3 : Math.cos(i) * 1e3);
    for (let i = 0; i < 2000; i++) {
      for (let k = 0; k < 20; k++) app.append(0, lbl({ __name__: 'long', k: String(k) }), T0 + i * 15_000, value(i, k));
      app.commit();
      if (i % 250 === 249) db.compact({ checkpoint: true });
    }
    // A series whose samples are all before 1970: a checkpoint that cannot code them relative to 0.
    for (let i = 0; i < 40; i++) app.append(0, lbl({ __name__: 'long', k: 'old' }), -1_000_000 + i * 15_000, i);
    app.commit();
    db.compact({ checkpoint: true });
    const before = everything(db, 'long');
    expect(before.get(JSON.stringify(lbl({ __name__: 'long', k: '1' })))![0].length).toBe(2000);
    expect(before.get(JSON.stringify(lbl({ __name__: 'long', k: 'old' })))![0][0]).toBe(-1_000_000);
    db.close();
    expect(logSinceCheckpoint(path)).toBe(0);
    db = open();
    try {
      expect(everything(db, 'long')).toEqual(before);
      const more = db.appender();
      for (let k = 0; k < 20; k++) more.append(0, lbl({ __name__: 'long', k: String(k) }), T0 + 2000 * 15_000, -1);
      more.commit();
      db.compact({ checkpoint: true });
      const after = everything(db, 'long');
      expect(after.get(JSON.stringify(lbl({ __name__: 'long', k: '4' })))![1].slice(-3)).toEqual([1998 * 3, 1999 * 3, -1]);
      db.close();
      db = open();
      expect(everything(db, 'long')).toEqual(after);
    } finally {
      db.close();
    }
  });

  it('checkpoints on its own once the log since the last one is a quarter of the head it held', async () => {
    const { path, open } = newStore('ws-cp');
    const db = open();
    try {
      await commitRounds(db, 'auto', 1000, 0, 60, () => db.compact());
      // The first compaction persists the new series (a checkpoint of 1,000 samples); the next one
      // is due at 100,000 logged samples: after commit 101 of 1,000 series, so here the log holds rows since.
      const rows = logSinceCheckpoint(path);
      expect(rows).toBeGreaterThan(0);
      expect(rows).toBeLessThan(60);
      await commitRounds(db, 'auto', 1000, 60, 300, () => db.compact());
      expect(logSinceCheckpoint(path)).toBeLessThan(150);
      // checkpointIfDue (the appliance's frequent check) writes one only once the log is due.
      db.compact({ checkpoint: true });
      const more = (from: number, to: number): Promise<void> => commitRounds(db, 'auto', 1000, from, to, () => db.checkpointIfDue());
      // Head of 300,000 samples at the checkpoint: the next falls due after the larger of 100,000
      // samples and a quarter of that head, so at commits 400 (head 400,000), 500 (500,000) and 625.
      await more(300, 550);
      expect(logSinceCheckpoint(path)).toBe(50);
      await more(550, 650);
      expect(logSinceCheckpoint(path)).toBe(25);
    } finally {
      db.close();
    }
  });

  it('keeps the quarter rule across a reopen: the next checkpoint is due at a quarter of the head it restored', async () => {
    const { path, open } = newStore('ws-reopen');
    let db = open();
    const commits = (from: number, to: number): Promise<void> => commitRounds(db, 'reopen', 1000, from, to, () => db.checkpointIfDue());
    try {
      await commits(0, 600);
      db.compact({ checkpoint: true }); // a head of 600,000 samples
      await commits(600, 620);
      db.close();
      db = open(); // restores 600,000 samples and replays 20,000
      await commits(620, 720);
      // Due at 150,000 log samples (commit 750), not at the 100,000 minimum (commit 700).
      expect(logSinceCheckpoint(path)).toBe(120);
      await commits(720, 760);
      expect(logSinceCheckpoint(path)).toBeLessThan(20);
    } finally {
      db.close();
    }
  });

  it('waits for 16 log samples a series however small the head: a checkpoint costs something per series', async () => {
    const { path, open } = newStore('ws-many');
    const db = open();
    try {
      const rounds = (from: number, to: number): Promise<void> => commitRounds(db, 'many', 10_000, from, to, () => db.checkpointIfDue());
      await rounds(0, 20);
      db.compact({ checkpoint: true }); // 200,000 samples: a quarter is 50,000, the minimum 100,000, 16 a series 160,000
      await rounds(20, 35);
      expect(logSinceCheckpoint(path)).toBe(15);
      await rounds(35, 37);
      expect(logSinceCheckpoint(path)).toBe(1);
    } finally {
      db.close();
    }
  });

  it('checkpoints a store gone quiet (nothing committed between two checks) once its log holds 100,000 samples', async () => {
    const { path, open } = newStore('ws-quiet');
    const db = open();
    try {
      const commits = (from: number, to: number): Promise<void> => commitRounds(db, 'quiet', 1000, from, to);
      await commits(0, 600);
      db.compact({ checkpoint: true }); // a head of 600,000 samples: the next is due after 150,000 more
      await commits(600, 650);
      await db.checkpointIfDue();
      await db.checkpointIfDue(); // quiet, but 50,000 samples of log: not worth one
      expect(logSinceCheckpoint(path)).toBe(50);
      await commits(650, 720);
      await db.checkpointIfDue(); // 120,000, short of a quarter of the head, and busy
      expect(logSinceCheckpoint(path)).toBe(120);
      await db.checkpointIfDue(); // quiet since the last check
      expect(logSinceCheckpoint(path)).toBe(0);
    } finally {
      db.close();
    }
  });

  it.each([
    ['in one transaction', 'once'],
    ['or a cut written in turns, commits between their steps', 'turns'],
  ])('loses no committed sample when a real process is killed (-9) inside a checkpoint %s', async (_, mode) => {
    dir = tempDir();
    const key = randomBytes(32);
    const path = dir.file('ws.db');
    const rounds = 4;
    let inside = 0;
    for (let round = 1; round <= rounds; round++) {
      const { committed, killedInside } = await killDuringCheckpoint(path, key, round / (rounds + 1), mode);
      if (killedInside) inside++;
      const db = openTsdb({ path, workspaceId: 'ws-checkpoint', keys: new TestKeys({ 1: key }) });
      try {
        const seen = new Map<number, number>();
        for (const s of db.querier().select([{ type: '=', name: '__name__', value: 'checkpoint_test' }], -Infinity, Infinity)) {
          for (let i = 0; i < s.values.length; i++) seen.set(s.values[i]!, s.timestamps[i]!);
        }
        expect(seen.size).toBeGreaterThanOrEqual(committed);
        for (let i = 0; i < committed; i++) if (seen.get(i) !== T0 + Math.floor(i / 200) * 1000) expect.fail(`sample ${i} lost or changed after kill -9 in round ${round}`);
        // One histogram per commit, its sum the floats committed by then (whole commits of 5,000).
        const sums = new Set<number>();
        for (const s of db.querier().select([{ type: '=', name: '__name__', value: 'checkpoint_hist' }], -Infinity, Infinity)) {
          s.histograms?.values.forEach((h, k) => {
            expect(s.histograms!.timestamps[k]).toBe(T0 + Math.floor((h.sum - 1) / 200) * 1000);
            expect(h.positiveBuckets).toEqual([h.sum / 2, h.sum / 2]);
            sums.add(h.sum);
          });
        }
        for (let n = 5000; n <= committed; n += 5000) if (!sums.has(n)) expect.fail(`histogram of commit ${n / 5000} lost after kill -9 in round ${round}`);
      } finally {
        db.close();
      }
    }
    // The kill is timed to land inside the checkpoint (a fraction of the last one's duration); on a
    // very loaded machine an odd one may land just after it, but not all.
    expect(inside).toBeGreaterThan(0);
  }, 180_000);
});

/** Runs the child until it has written two checkpoints, then kills it `fraction` of a checkpoint's duration into the third. */
function killDuringCheckpoint(path: string, key: Buffer, fraction: number, mode: string): Promise<{ committed: number; killedInside: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path, key.toString('hex'), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let inside = false;
    let committed = 0;
    let checkpoints = 0;
    let lastMs = 0;
    let buf = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        if (child.killed) break;
        const [what, n] = l.split(' ');
        if (what === 'committed') committed = Number(n);
        else if (what === 'checkpointed') (checkpoints++, (lastMs = Number(n)), (inside = false));
        else if (what === 'checkpoint') {
          inside = true;
          if (checkpoints >= 2) setTimeout(() => child.kill('SIGKILL'), Math.floor(lastMs * fraction));
        }
      }
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ committed, killedInside: inside });
      else reject(new Error(`child exited with ${code}: ${err}`));
    });
  });
}
