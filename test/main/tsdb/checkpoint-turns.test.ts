// A head checkpoint written in turns (Tsdb.checkpointIfDue): its parts go a transaction a turn while
// commits go on, the head state last. A reopen gives every committed sample once, whether the
// checkpoint committed, stopped between parts, or gave way to a compaction or a key rotation.
// Maintenance's cut in turns (Tsdb.maintain): a series group's complete buckets a turn, every
// sample read once at every turn, and kept once across a stop or a reopen.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openTsdb, verifyTsdb, type Tsdb } from '../../../main/tsdb/index';
import { Storage } from '../../../main/tsdb/storage';
import { lbl, logSinceCheckpoint, queryValue, tempDir, TestKeys, type TempDir } from './helpers';

const T0 = 1_700_000_000_000;
const SERIES = 300;
const WINDOW_MS = 10 * 60_000;
/** Buckets of 20 min, so that a compaction cuts some before the checkpoints (a checkpoint in turns cuts none). */
const BUCKET_MS = 20 * 60_000;
/** Series a chunk row (a cut's group): many groups, so many turns. */
const SERIES_PER_GROUP = 16;
/** Where a checkpoint's part numbers start: one of two ranges (head-checkpoint's PART_RANGE). */
const SECOND_RANGE = 2 ** 19;
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));
let dir: TempDir | undefined;
/** The store a test has open (each test opens its own; a reopen replaces it); closed after each. */
let db!: Tsdb;
afterEach(() => {
  db.close();
  dir?.remove();
});

/** A store, opened as `db`, and a model of what it was given: series key → timestamp → value. */
function setup(): {
  path: string;
  keys: TestKeys;
  open(): Tsdb;
  /** Closes `db`, opens the store again and checks it against the model. */
  reopen(db: Tsdb): Tsdb;
  model: Map<string, Map<number, number>>;
  round(db: Tsdb, i: number): void;
  lagging(db: Tsdb, i: number): void;
} {
  dir = tempDir();
  const path = dir.file('ws.db');
  const keys = new TestKeys();
  const model = new Map<string, Map<number, number>>();
  const add = (app: ReturnType<Tsdb['appender']>, labels: Record<string, string>, t: number, v: number): void => {
    app.append(0, lbl(labels), t, v);
    const key = JSON.stringify(labels);
    if (!model.has(key)) model.set(key, new Map());
    model.get(key)!.set(t, v);
  };
  const open = (): Tsdb => openTsdb({ path, workspaceId: 'ws-turns', keys, headPartBytes: 16 * 1024, cutScanSeries: 40, outOfOrderWindowMs: WINDOW_MS, bucketMs: BUCKET_MS, seriesPerPart: SERIES_PER_GROUP });
  db = open();
  return {
    path,
    keys,
    model,
    open,
    reopen(db) {
      db.close();
      const again = open();
      expectModel(again, model);
      return again;
    },
    /** Round i: a sample for every series 5 s apart, an out-of-order one between two earlier ones and one repeated as it was for a few, and a new series. */
    round(db, i) {
      const app = db.appender();
      for (let k = 0; k < SERIES; k++) add(app, { __name__: 'turns', k: String(k) }, T0 + i * 5_000, i * 1000 + k);
      if (i >= 4) {
        for (let k = 0; k < SERIES; k += 37) add(app, { __name__: 'turns', k: String(k) }, T0 + (i - 3) * 5_000 + 2_500, -i);
        add(app, { __name__: 'turns', k: '5' }, T0 + (i - 2) * 5_000, (i - 2) * 1000 + 5);
      }
      add(app, { __name__: 'turns_new', n: String(i) }, T0 + i * 5_000, i);
      app.commit();
    },
    /** A record of one sample of a series hours behind the rest: a bucket the checkpoint's cut is past, so the record is not one a checkpoint may delete unless it covers it. */
    lagging(db, i) {
      const app = db.appender();
      add(app, { __name__: 'turns_lagging' }, T0 - 4 * 3600_000 + i * 5_000, i);
      app.commit();
    },
  };
}

function contents(db: Tsdb): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  for (const s of db.querier().select([{ type: '=~', name: '__name__', value: 'turns.*' }], -Infinity, Infinity)) {
    const labels: Record<string, string> = {};
    for (const l of s.labels) labels[l.name] = l.value;
    out.set(JSON.stringify(labels), new Map([...s.timestamps].map((t, i) => [t, s.values[i]!])));
  }
  return out;
}

/** Fails with the first series and timestamp where the store differs from the model. */
function expectModel(db: Tsdb, model: Map<string, Map<number, number>>): void {
  const got = contents(db);
  expect(got.size).toBe(model.size);
  for (const [key, want] of model) {
    const have = got.get(key);
    expect(have?.size, key).toBe(want.size);
    for (const [t, v] of want) if (have!.get(t) !== v) expect.fail(`${key} at ${t}: ${have!.get(t)} instead of ${v}`);
  }
}

const parts = (path: string): { rows: number; min: number; max: number; keys: number[] } => ({
  rows: queryValue(path, 'SELECT count(*) FROM head_parts'),
  min: queryValue(path, 'SELECT min(part) FROM head_parts'),
  max: queryValue(path, 'SELECT max(part) FROM head_parts'),
  keys: (queryValue(path, "SELECT group_concat(DISTINCT key_id) FROM head_parts") as unknown as string).split(',').map(Number),
});

describe('head checkpoint in turns', () => {
  it('writes a part a turn while commits go on, and a reopen gives every committed sample once (out of order, repeated and new series too)', async () => {
    const { path, keys, reopen, model, round, lagging } = setup();
    let i = 0;
    while (i < 400) round(db, i++);
    db.compact(); // cuts the first buckets
    expect(queryValue(path, 'SELECT count(*) FROM chunks')).toBeGreaterThan(0);
    while (i < 750) round(db, i++); // 105,000 samples of log since: due
    let turns = 0;
    const checkpoint = db.checkpointIfDue(async () => {
      turns++;
      round(db, i);
      lagging(db, i++); // before the cut bucket, in no chunk row: its record stays
      await nextTurn();
    });
    await checkpoint;
    // Two commits before each part and before the head state: those records stay for replay.
    expect(turns).toBeGreaterThan(5);
    expect(logSinceCheckpoint(path)).toBe(2 * turns);
    const p = parts(path);
    expect(p.min).toBe(0); // beside the compaction's, in the second range
    expect(p.rows).toBe(turns - 1); // a part a turn (samples, then the series' states), then the head state
    expectModel(db, model);
    while (i < 800) round(db, i++);
    db = reopen(db);
    expect(verifyTsdb({ path, workspaceId: 'ws-turns', keys }).series).toBe(SERIES + 800 + 1);
    // The next one goes to the second range and the first's parts go with its head state.
    while (i < 1200) round(db, i++);
    await db.checkpointIfDue();
    expect(parts(path)).toMatchObject({ min: SECOND_RANGE });
    db = reopen(db);
  });

  it('stopped between parts (the store closed before its head state), reopens from the last checkpoint; the next deletes the unfinished parts', async () => {
    const { path, keys, open, reopen, model, round } = setup();
    let i = 0;
    while (i < 400) round(db, i++);
    db.compact({ checkpoint: true });
    const before = parts(path);
    while (i < 1000) round(db, i++);
    let turns = 0;
    await db.checkpointIfDue(async () => {
      if (++turns === 4) db.close();
      else round(db, i++);
      await nextTurn();
    });
    const after = parts(path);
    expect(after.rows).toBeGreaterThan(before.rows); // the unfinished checkpoint's parts are there
    expect(verifyTsdb({ path, workspaceId: 'ws-turns', keys }).series).toBe(SERIES + i);
    db = open();
    expectModel(db, model);
    db.compact({ checkpoint: true });
    const next = parts(path);
    expect(next.max - next.min + 1).toBe(next.rows); // one checkpoint's range, nothing beside it
    db = reopen(db);
  });

  it('gives way to a compaction written meanwhile, and to a key rotation, whose rows are all sealed with the new key', async () => {
    const { path, keys, open, model, round } = setup();
    let i = 0;
    while (i < 400) round(db, i++);
    let turns = 0;
    await db.checkpointIfDue(async () => {
      round(db, i++);
      if (++turns === 3) db.compact({ checkpoint: true });
      await nextTurn();
    });
    expect(turns).toBe(3); // it stopped once the compaction's head state took its place
    let p = parts(path);
    expect(p.max - p.min + 1).toBe(p.rows);
    expectModel(db, model);

    while (i < 1000) round(db, i++);
    turns = 0;
    let rotation: Promise<void> | undefined;
    await db.checkpointIfDue(async () => {
      round(db, i++);
      if (++turns === 3) {
        keys.raw.set(2, randomBytes(32));
        keys.current = 2;
        rotation = db.reencrypt();
      }
      await nextTurn();
    });
    await rotation;
    expect(turns).toBe(3);
    p = parts(path);
    expect(p.keys).toEqual([2]);
    // Then the next checkpoint, and a reopen without the old key: nothing is left sealed with it.
    while (i < 1400) round(db, i++);
    await db.checkpointIfDue();
    db.close();
    keys.raw.delete(1);
    db = open();
    expectModel(db, model);
  });
});


describe('cut in turns', () => {
  const rows = (path: string): number => queryValue(path, 'SELECT count(*) FROM chunks');
  const logRows = (path: string): number => queryValue(path, 'SELECT count(*) FROM log');
  /** 100 rounds and a checkpoint in parts (nothing is due a cut yet), then 700 more: 66 minutes, the first buckets complete. Returns the next round. */
  const dueACut = (db: Tsdb, round: (db: Tsdb, i: number) => void, path: string): number => {
    let i = 0;
    while (i < 100) round(db, i++);
    db.compact({ checkpoint: true });
    expect(rows(path)).toBe(0);
    while (i < 800) round(db, i++);
    return i;
  };

  it('cuts a series group a turn while commits go on, every sample read once at every turn, then checkpoints; a reopen keeps them once', async () => {
    const { path, keys, reopen, model, round, lagging } = setup();
    let i = dueACut(db, round, path);
    const logBefore = logRows(path);
    const stateBefore = queryValue(path, 'SELECT seq FROM head_state');
    let turns = 0;
    await db.maintain(async () => {
      turns++;
      expectModel(db, model); // each sample once, from the rows or the head, whichever holds it now
      round(db, i);
      if (turns === 10) lagging(db, i); // before the cut bucket, in a group cut already: the last step cuts it
      i++;
      await nextTurn();
    });
    expect(turns).toBeGreaterThan(SERIES / SERIES_PER_GROUP); // a group a turn, then the checkpoint's parts
    expect(rows(path)).toBeGreaterThan(SERIES / SERIES_PER_GROUP);
    expect(logRows(path)).toBeLessThan(logBefore); // records whose samples are all cut
    expect(queryValue(path, 'SELECT seq FROM head_state')).toBeGreaterThan(stateBefore); // the checkpoint that followed
    expectModel(db, model);
    db = reopen(db);
    expect(verifyTsdb({ path, workspaceId: 'ws-turns', keys }).series).toBe(SERIES + i + 1);
  });

  it("commits maintenance's cut groups and checkpoint parts unsynced and the head state synced, which makes every step before it durable; a deletion's groups synced", async () => {
    const { round, path } = setup();
    let i = dueACut(db, round, path);
    // The synchronous mode of each of maintenance's own commits (the remote writes between them left out).
    const modes: unknown[] = [];
    let between = false;
    const transaction = Storage.prototype.transaction;
    const spy = vi.spyOn(Storage.prototype, 'transaction').mockImplementation(function <T>(this: Storage, fn: () => T): T {
      if (!between && !this.db.inTransaction) modes.push(this.db.pragma('synchronous', { simple: true }));
      return transaction.call(this, fn) as T;
    });
    const turn = async (): Promise<void> => {
      between = true;
      round(db, i++);
      between = false;
      await nextTurn();
    };
    try {
      await db.maintain(turn);
      expect(modes.length).toBeGreaterThan(SERIES / SERIES_PER_GROUP); // a group a turn, then the parts
      expect(modes.at(-1)).toBe(2); // FULL: the head state
      expect(modes.slice(0, -1)).toEqual(modes.slice(0, -1).map(() => 1)); // NORMAL: every step before it
      // A deletion's cut keeps each group synced (its one transaction's stall grew when it synced them all).
      modes.length = 0;
      await db.deleteSeries([{ type: '=', name: 'k', value: '7' }], -Infinity, Infinity, turn);
      expect(modes.length).toBeGreaterThan(SERIES / SERIES_PER_GROUP);
      expect(modes).toEqual(modes.map(() => 2));
    } finally {
      spy.mockRestore();
    }
  });

  it('stopped between groups (the store closed), reopens with every sample once; the next maintenance cuts the rest', async () => {
    const { path, open, reopen, model, round } = setup();
    let i = dueACut(db, round, path);
    const before = rows(path);
    let groupsCut = 0;
    await db.maintain(async () => {
      // Two groups after the first (the cut first looks for its bucket, 40 series a turn).
      if (rows(path) > before && ++groupsCut === 3) db.close();
      else round(db, i++);
      await nextTurn();
    });
    const cutSoFar = rows(path);
    expect(cutSoFar).toBeGreaterThan(before);
    db = open(); // the cut groups' samples are in their rows and back in the head from the log: read once
    expectModel(db, model);
    await db.maintain(nextTurn);
    expect(rows(path)).toBeGreaterThan(cutSoFar);
    expectModel(db, model);
    db = reopen(db);
  });

  it('keeps the log record of what arrived before the cut bucket meanwhile, for a forwarder reading the log (the rows do not hold it)', async () => {
    const { path, round, lagging } = setup();
    let i = dueACut(db, round, path);
    let turns = 0;
    let laggingSeq = 0;
    let laggingT = 0;
    await db.maintain(async () => {
      if (++turns === 3) {
        laggingSeq = db.committed().nextSeq();
        laggingT = T0 - 4 * 3600_000 + i * 5_000;
        lagging(db, i);
      }
      round(db, i++);
      await nextTurn();
    });
    const read = db.committed().read(laggingSeq, 1);
    expect(read.truncatedBefore).toBeUndefined();
    expect(read.records[0]?.seq).toBe(laggingSeq);
    expect([...read.records[0]!.samples.timestamps.subarray(0, read.records[0]!.samples.count)]).toEqual([laggingT]);
  });

  it('deletes a series after cutting the head a group a turn (commits between), for good: gone after a reopen, the other series whole', async () => {
    const { path, reopen, model, round } = setup();
    let i = dueACut(db, round, path);
    let turns = 0;
    const deleted = await db.deleteSeries([{ type: '=', name: 'k', value: '3' }], -Infinity, Infinity, async () => {
      turns++;
      round(db, i++);
      await nextTurn();
    });
    expect(turns).toBeGreaterThan(SERIES / SERIES_PER_GROUP); // the cut's groups, then the vacuum's turns
    // Every sample committed before the deletion went, those of the cut's turns too; only the
    // newest, committed while the freed pages went back, are left.
    const target = JSON.stringify({ __name__: 'turns', k: '3' });
    const all = [...model.get(target)!.keys()].sort((a, b) => a - b);
    const left = [...(contents(db).get(target)?.keys() ?? [])];
    expect(deleted).toBeGreaterThan(800);
    expect(left).toEqual(all.slice(deleted));
    for (const t of all.slice(0, deleted)) model.get(target)!.delete(t);
    expectModel(db, model);
    expect(queryValue(path, 'SELECT count(*) FROM log WHERE seq <= (SELECT seq FROM head_state)')).toBe(0); // every record went with the cut
    db = reopen(db);
  });

  it('gives way to a compaction meanwhile, which cuts what it left', async () => {
    const { path, reopen, model, round } = setup();
    let i = dueACut(db, round, path);
    let turns = 0;
    await db.maintain(async () => {
      round(db, i++);
      if (++turns === 4) db.compact();
      await nextTurn();
    });
    expect(turns).toBe(4);
    expectModel(db, model);
    db = reopen(db);
  });
});

describe('maintenance in turns, interleaved at random', () => {
  /** mulberry32: a seeded generator, so a failing seed can be run again. */
  const random = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };

  it.each([1, 2, 3, 4, 5, 6])('seed %i: commits, out-of-order and lagging samples, cuts, checkpoints, compactions and stops between their steps keep every sample once', async (seed) => {
    const rnd = random(seed);
    dir = tempDir();
    const path = dir.file('ws.db');
    const keys = new TestKeys();
    const open = (): Tsdb => openTsdb({ path, workspaceId: 'ws-random', keys, headPartBytes: 2048, cutScanSeries: 12, outOfOrderWindowMs: 2 * 60_000, bucketMs: 5 * 60_000, seriesPerPart: 8 });
    const model = new Map<string, Map<number, number>>();
    db = open();
    let now = T0;
    let lagT = T0 - 3600_000;
    let stopped = false;
    const add = (app: ReturnType<Tsdb['appender']>, labels: Record<string, string>, t: number, v: number): void => {
      try {
        app.append(0, lbl(labels), t, v);
      } catch {
        return; // refused (a repeated timestamp, or older than the window): not stored
      }
      const key = JSON.stringify(labels);
      if (!model.has(key)) model.set(key, new Map());
      model.get(key)!.set(t, v);
    };
    const round = (): void => {
      const app = db.appender();
      now += 10_000;
      for (let k = 0; k < 40; k++) {
        if (rnd() < 0.8) add(app, { __name__: 'turns', k: String(k) }, now, Math.round(rnd() * 1000));
        if (rnd() < 0.05) add(app, { __name__: 'turns', k: String(k) }, now - 1000 * Math.floor(rnd() * 120), -Math.round(rnd() * 1000));
      }
      if (rnd() < 0.1) add(app, { __name__: 'turns_lagging' }, (lagT += 10_000), 1);
      app.commit();
    };
    /** What runs between the steps of a cut or checkpoint: commits, at times a compaction, at times a stop. */
    let steps = 0;
    const between = async (): Promise<void> => {
      steps++;
      const r = rnd();
      if (r < 0.05) {
        stopped = true;
        db.close();
      } else if (r < 0.1) db.compact();
      else if (r < 0.8) round();
      await nextTurn();
    };
    const check = (what: string): void => {
      const got = contents(db);
      for (const [key, want] of model) {
        const have = got.get(key);
        for (const [t, v] of want) if (have?.get(t) !== v) expect.fail(`seed ${seed}, ${what}: ${key} at ${t}: ${have?.get(t)} instead of ${v}`);
        if (have?.size !== want.size) expect.fail(`seed ${seed}, ${what}: ${key} holds ${have?.size} samples instead of ${want.size}`);
      }
    };
    for (let op = 0; op < 400; op++) {
      const r = rnd();
      if (r < 0.6) round();
      else if (r < 0.75) await db.maintain(between);
      else if (r < 0.8) await db.checkpointIfDue(between);
      else if (r < 0.85) db.compact();
      else if (r < 0.9) {
        db.close();
        stopped = true;
      }
      if (stopped) {
        stopped = false;
        db = open();
        check(`reopened at step ${op}`);
      } else if (op % 20 === 0) check(`step ${op}`);
    }
    check('the end');
    db.close();
    expect(verifyTsdb({ path, workspaceId: 'ws-random', keys }).series).toBe(model.size);
    db = open();
    check('the end, reopened');
    expect(queryValue(path, 'SELECT count(*) FROM chunks')).toBeGreaterThan(0);
    expect(steps).toBeGreaterThan(50); // cuts and checkpoints took turns
  });
});
