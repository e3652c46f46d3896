// Off-thread reads: a head snapshot from the writing store plus the rows read through a second,
// read-only connection give exactly what the store's own querier gives, also when the head was cut
// into rows, or new samples arrived and were cut, between the snapshot and the row read.
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { openTsdb, type Tsdb } from '../../../main/tsdb/index';
import type { HeadQuerier } from '../../../main/tsdb/querier';
import { SnapshotReader } from '../../../main/tsdb/snapshot-reader';
import { onStoreReleased, type HeadSnapshot } from '../../../main/tsdb/head-snapshot';
import { unpackLabelSets } from '../../../main/tsdb/label-sets-wire';
import type { FloatHistogram } from '../../../main/tsdb/histogram';
import type { Matcher, SeriesData } from '../../../main/tsdb/types';
import { formatLabels, labelsKey } from '../../../shared/labels';
import { lbl, tempDir, TestKeys } from './helpers';
import { trackStores } from './track-stores';

const T0 = 1_700_000_000_000;
const STEP = 15_000;
const { dirs, dbs } = trackStores();

function open(keys = new TestKeys()): { db: Tsdb; path: string; keys: TestKeys } {
  const dir = tempDir();
  dirs.push(dir);
  const path = dir.file('ws.db');
  const db = openTsdb({ path, workspaceId: 'ws-snap1', keys, bucketMs: 3600_000, seriesPerPart: 4 });
  dbs.push(db);
  return { db, path, keys };
}

/** Samples [from, to) of `series` series, one every STEP. */
function fill(db: Tsdb, series: number, from: number, to: number): void {
  const app = db.appender();
  for (let i = from; i < to; i++) {
    for (let s = 0; s < series; s++) app.append(0, lbl({ __name__: s % 2 ? 'up' : 'load', instance: `h-${s}`, job: s % 3 ? 'api' : 'node' }), T0 + i * STEP, s * 1000 + i);
    if (i % 40 === 39) app.commit();
  }
  app.commit();
}

/** A counter histogram of schema 3 after `i` scrapes. */
function histogram(i: number, seed: number): FloatHistogram {
  const positiveBuckets = [i + seed, 2 * i, i % 7, 3 * i + 1];
  return {
    counterResetHint: 'unknown',
    schema: 3,
    zeroThreshold: 1e-128,
    zeroCount: i,
    count: i + positiveBuckets.reduce((a, b) => a + b, 0),
    sum: i * 0.25 + seed,
    positiveSpans: [{ offset: -1, length: 2 }, { offset: 3, length: 2 }],
    negativeSpans: [],
    positiveBuckets,
    negativeBuckets: [],
  };
}

/** Native-histogram samples [from, to) of `series` series `lat` (same instances as fill's), one every STEP. */
function fillHistograms(db: Tsdb, series: number, from: number, to: number): void {
  const app = db.appender();
  for (let i = from; i < to; i++) {
    for (let s = 0; s < series; s++) app.appendHistogram(0, lbl({ __name__: 'lat', instance: `h-${s}`, job: s % 3 ? 'api' : 'node' }), T0 + i * STEP, histogram(i, s));
    if (i % 40 === 39) app.commit();
  }
  app.commit();
}

const m = (name: string, type: Matcher['type'], value: string): Matcher => ({ name, type, value });
const plain = (r: SeriesData[]) =>
  r.map((s) => ({ labels: formatLabels(s.labels), t: [...s.timestamps], v: [...s.values], ht: s.histograms ? [...s.histograms.timestamps] : [], hv: s.histograms?.values ?? [] }));
const offThread = (db: Tsdb) => (db.querier() as HeadQuerier).offThread;

/** A reader on its own connection; records which data keys it asked for. */
/** Every part of a snapshot. */
function snapshot(db: Tsdb, ms: Matcher[], mint: number, maxt: number): HeadSnapshot[] {
  const cursor = offThread(db).snapshot(ms, mint, maxt);
  const parts = [cursor.next()];
  while (parts[parts.length - 1]!.more) parts.push(cursor.next());
  return parts;
}

function reader(db: Tsdb, snap: HeadSnapshot[]): { r: SnapshotReader; asked: number[] } {
  const asked: number[] = [];
  const r = new SnapshotReader(snap[0]!.store, (id) => (asked.push(id), offThread(db).dataKey(id)));
  return { r, asked };
}

/**
 * More series than one snapshot part takes (4,100 with 40 head samples), ten of them with `samples`
 * head samples, and two histogram series as long; returns what the querier selects of it all.
 */
function largeHead(db: Tsdb, samples: number): ReturnType<typeof plain> {
  fill(db, 4100, 0, 40);
  fill(db, 10, 40, samples);
  fillHistograms(db, 2, 0, samples);
  return plain(db.querier().select([], -Infinity, Infinity));
}

/** What the ingest thread may do between two parts: cut every head sample into rows, then take samples [from, to) of the long series. */
function cutAndWrite(db: Tsdb, from: number, to: number): void {
  db.compact({ all: true });
  fill(db, 10, from, to);
  fillHistograms(db, 2, from, to);
}

const QUERIES: [Matcher[], number, number][] = [
  [[], -Infinity, Infinity],
  [[m('job', '=', 'api')], T0 + 1000 * STEP, T0 + 1500 * STEP],
  [[m('__name__', '=~', 'up|load'), m('instance', '!=', 'h-3')], T0 + 239 * STEP, T0 + 241 * STEP], // a bucket boundary
  [[m('instance', '=', 'h-5')], T0 + 1700 * STEP, T0 + 1700 * STEP], // one instant
  [[m('instance', '=', 'nope')], -Infinity, Infinity],
];

describe('head snapshot and snapshot reader', () => {
  it('give what the querier gives, rows and head alike, over windows across buckets and the head', () => {
    const { db } = open();
    fill(db, 10, 0, 1800); // 7.5 h: 7 buckets cut, the rest in the head
    fillHistograms(db, 4, 0, 1800);
    db.compact();
    fill(db, 10, 1800, 1850);
    fillHistograms(db, 4, 1800, 1850);
    for (const [ms, mint, maxt] of QUERIES) {
      const want = plain(db.querier().select(ms, mint, maxt));
      const snap = snapshot(db, ms, mint, maxt);
      const { r } = reader(db, snap);
      expect(plain(r.select(snap, mint, maxt))).toEqual(want);
      r.close();
    }
    // A reader answering again (a dashboard's next refresh) hands out the label sets it made before, the same answer.
    const snap = snapshot(db, [], -Infinity, Infinity);
    const { r } = reader(db, snap);
    const first = r.select(snap, -Infinity, Infinity);
    const again = r.select(snapshot(db, [], -Infinity, Infinity), -Infinity, Infinity);
    expect(again.every((s, i) => s.labels === first[i]!.labels)).toBe(true);
    expect(plain(again)).toEqual(plain(db.querier().select([], -Infinity, Infinity)));
    // Label sets dropped between queries (past the reader's cache) take the order kept of them along:
    // a series new since, sorting last, then selected with only some of the old ones.
    r.forgetLabels();
    const app = db.appender();
    app.append(0, lbl({ __name__: 'zzz', instance: 'h-new', job: 'node' }), T0 + 1850 * STEP, 1);
    app.commit();
    const node = [m('job', '=', 'node')];
    expect(plain(r.select(snapshot(db, node, -Infinity, Infinity), -Infinity, Infinity))).toEqual(plain(db.querier().select(node, -Infinity, Infinity)));
    r.close();
    const all = plain(db.querier().select([], -Infinity, Infinity));
    expect(all.filter((s) => s.t.length === 1850 && s.ht.length === 0).length).toBe(10);
    expect(all.filter((s) => s.ht.length === 1850 && s.t.length === 0).length).toBe(4); // histograms from rows and the head
  });

  it('neither loses nor repeats a sample cut into a row between the snapshot and the row read', () => {
    const { db } = open();
    fill(db, 10, 0, 700);
    fillHistograms(db, 3, 0, 700);
    db.compact(); // some rows exist, so the cut below merges into them too
    fill(db, 10, 700, 1000);
    fillHistograms(db, 3, 700, 1000);
    let next = 1000;
    for (const [ms, mint, maxt] of QUERIES) {
      const want = plain(db.querier().select(ms, mint, maxt));
      const snap = snapshot(db, ms, mint, maxt);
      const { r } = reader(db, snap); // opened before the cut: it reads the manifest again
      db.compact({ all: true }); // every head sample now lies in a row
      expect(plain(r.select(snap, mint, maxt))).toEqual(want);
      r.close();
      fill(db, 10, next, next + 10); // a fresh head for the next query
      fillHistograms(db, 3, next, next + 10);
      next += 10;
    }
  });

  it('takes a large head in parts, compressed; a cut and new samples between the parts change nothing', () => {
    const { db } = open();
    const want = largeHead(db, 16_000); // lists of merged chunks
    const cursor = offThread(db).snapshot([], -Infinity, Infinity);
    const parts = [cursor.next()];
    expect(parts[0]!.more).toBe(true);
    cutAndWrite(db, 16_000, 16_100);
    while (parts[parts.length - 1]!.more) parts.push(cursor.next());
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.reduce((n, p) => n + p.ids.length, 0)).toBe(4102);
    const { r } = reader(db, parts);
    expect(plain(r.select(parts, -Infinity, Infinity))).toEqual(want);
    r.close();
  });

  it('decodes parts of short head series whole in a lazy select up to its cap of samples, and keeps the later ones coded', () => {
    const { db } = open();
    fill(db, 4100, 0, 40); // 40 head samples a series: short enough to decode a part whole
    const want = plain(db.querier().select([], -Infinity, Infinity));
    const snap = snapshot(db, [], -Infinity, Infinity);
    expect(snap.length).toBeGreaterThan(2);
    const whole = new Set(unpackLabelSets(snap[0]!.labels).map((l) => labelsKey(l!))); // the first part, decoded whole, reaches the cap
    const r = new SnapshotReader(snap[0]!.store, (id) => offThread(db).dataKey(id), { eagerSamples: 1 });
    const got = r.select(snap, -Infinity, Infinity, { lazy: true });
    const decoded = got.filter((s) => typeof (s as { coded?: unknown }).coded !== 'function');
    expect(decoded.length).toBe(whole.size);
    expect(decoded.every((s) => whole.has(labelsKey(s.labels)))).toBe(true);
    expect(plain(got)).toEqual(want);
    r.close();
  });

  it('reads each part as it comes (as a query worker does); a cut and new samples after one part’s rows were read change nothing', () => {
    const { db } = open();
    const want = largeHead(db, 2_000);
    const cursor = offThread(db).snapshot([], -Infinity, Infinity);
    const first = cursor.next();
    let taken = 1;
    // The ingest thread's side between two parts: the reader has read the last part's rows by now.
    function* parts(): Generator<HeadSnapshot> {
      for (let part = first; ; part = cursor.next(), taken++) {
        yield part;
        if (!part.more) return;
        cutAndWrite(db, 2_000 + taken * 10, 2_010 + taken * 10);
      }
    }
    const { r } = reader(db, [first]);
    expect(plain(r.select(parts(), -Infinity, Infinity))).toEqual(want);
    expect(taken).toBeGreaterThan(2);
    r.close();
  });

  it('copies only the head chunks that reach into the window', () => {
    const { db } = open();
    fill(db, 4, 0, 4000); // 4,000 head samples a series: chunks of 1,024, 128 and 16
    const last = T0 + 3999 * STEP;
    const whole = snapshot(db, [], -Infinity, Infinity)[0]!.lists.length;
    for (const [mint, maxt] of [[last - 300_000, last], [T0 + 1000 * STEP, T0 + 1010 * STEP], [T0, T0]] as const) {
      const snap = snapshot(db, [], mint, maxt);
      const { r } = reader(db, snap);
      expect(plain(r.select(snap, mint, maxt))).toEqual(plain(db.querier().select([], mint, maxt)));
      r.close();
      expect(snap[0]!.lists.length).toBeLessThan(whole / 3);
    }
  });

  it('decodes an unsorted head (out-of-order arrivals) as the querier does', () => {
    const dir = tempDir();
    dirs.push(dir);
    const db = openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-snap1', keys: new TestKeys(), outOfOrderWindowMs: 3600_000 });
    dbs.push(db);
    fill(db, 4, 0, 100);
    const app = db.appender();
    for (let i = 0; i < 100; i += 7) app.append(0, lbl({ __name__: 'load', instance: 'h-0', job: 'node' }), T0 + i * STEP + 1, -i);
    app.commit();
    const want = plain(db.querier().select([], T0 + 10 * STEP, T0 + 90 * STEP));
    expect(want[0]!.t.length).toBe(80 + 12);
    const snap = snapshot(db, [], T0 + 10 * STEP, T0 + 90 * STEP);
    const { r } = reader(db, snap);
    expect(plain(r.select(snap, T0 + 10 * STEP, T0 + 90 * STEP))).toEqual(want);
    r.close();
  });

  it('leaves out samples that arrived after the snapshot, even once they are cut into rows', () => {
    const { db } = open();
    fill(db, 6, 0, 500);
    fillHistograms(db, 2, 0, 500);
    const want = plain(db.querier().select([], -Infinity, Infinity));
    const snap = snapshot(db, [], -Infinity, Infinity);
    fill(db, 6, 500, 900);
    fillHistograms(db, 2, 500, 900);
    db.compact({ all: true });
    const { r } = reader(db, snap);
    expect(plain(r.select(snap, -Infinity, Infinity))).toEqual(want);
    r.close();
  });

  it('opens rows sealed with an older data key after a rotation, asking for each key once', () => {
    const keys = new TestKeys({ 1: randomBytes(32), 2: randomBytes(32) }, 1);
    const { db } = open(keys);
    fill(db, 6, 0, 300);
    db.compact({ all: true });
    keys.current = 2;
    fill(db, 6, 300, 600);
    db.compact({ all: true });
    const snap = snapshot(db, [], -Infinity, Infinity);
    const { r, asked } = reader(db, snap);
    expect(plain(r.select(snap, -Infinity, Infinity))).toEqual(plain(db.querier().select([], -Infinity, Infinity)));
    expect([...asked].sort()).toEqual([1, 2]);
    r.close();
  });

  it('tells the query workers to let go of a store when it is re-keyed and when it closes', async () => {
    const keys = new TestKeys({ 1: randomBytes(32), 2: randomBytes(32) }, 1);
    const { db, path } = open(keys);
    const released: string[] = [];
    const off = onStoreReleased((p) => released.push(p));
    try {
      fill(db, 2, 0, 100);
      db.compact({ all: true });
      keys.current = 2;
      await db.reencrypt(); // every row now under key 2: a worker must not keep key 1
      expect(released).toEqual([path]);
      db.close();
      expect(released).toEqual([path, path]);
    } finally {
      off();
    }
  });

  it('checks the deadline while reading rows: a check that throws stops the select', () => {
    const { db } = open();
    fill(db, 10, 0, 1800);
    db.compact({ all: true });
    const snap = snapshot(db, [], -Infinity, Infinity);
    const { r } = reader(db, snap);
    let calls = 0;
    const check = () => {
      if (++calls === 2) throw new Error('query timed out');
    };
    expect(() => r.select(snap, -Infinity, Infinity, { check })).toThrow('query timed out');
    expect(calls).toBe(2); // thrown from the row read, before any series was merged
    r.close();
  });

  it("does not make the writer wait for a reader's transaction: the WAL fold is owed, then done", () => {
    const { db, path } = open();
    fill(db, 6, 0, 300);
    db.compact({ all: true });
    const reader = new Database(path, { readonly: true });
    try {
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM chunks').get(); // holds a snapshot of the file
      fill(db, 6, 300, 600);
      const started = Date.now();
      db.compact({ all: true }); // a TRUNCATE checkpoint would wait for the reader (busy timeout 5 s)
      expect(Date.now() - started).toBeLessThan(4000);
      expect(statSync(`${path}-wal`).size).toBeGreaterThan(0); // not folded: the reader is in the way
      reader.exec('COMMIT');
      db.compact(); // nothing to cut: only the owed fold
      expect(statSync(`${path}-wal`).size).toBe(0);
    } finally {
      reader.close();
    }
  });

  it('refuses a file that is not the workspace the snapshot names', () => {
    const { db } = open();
    fill(db, 2, 0, 10);
    const snap = snapshot(db, [], -Infinity, Infinity);
    expect(() => new SnapshotReader({ ...snap[0]!.store, workspaceId: 'ws-other' }, (id) => offThread(db).dataKey(id))).toThrow(/belongs to workspace ws-snap1/);
  });
});
