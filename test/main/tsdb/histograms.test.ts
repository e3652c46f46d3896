// Native histograms in the store: head, log replay, chunk rows, order rules, deletion, retention,
// data-key rotation, verification and nothing readable on disk. Real encrypted SQLite stores.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BitWriter, PAD_BYTES } from '../../../main/tsdb/bitstream';
import type { FloatHistogram, Span } from '../../../main/tsdb/histogram';
import { decodeHistogramChunk, encodeHistogramChunk } from '../../../main/tsdb/histogram-chunk';
import { sameHistogram } from '../../../main/tsdb/histogram-record';
import { openTsdb, verifyTsdb, type Tsdb } from '../../../main/tsdb/index';
import { AppendError, STALE_NAN_BITS } from '../../../main/tsdb/types';
import { fromBits, lbl, logSinceCheckpoint, tempDir, TestKeys, toBits, type TempDir } from './helpers';
import { trackStores } from './track-stores';

const HOUR = 3600_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % HOUR);
const { dirs, dbs } = trackStores();
const STALE = fromBits(STALE_NAN_BITS);

function open(dir: TempDir, keys: TestKeys, opts: { retentionMs?: number } = {}): Tsdb {
  const db = openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-hist', keys, bucketMs: HOUR, seriesPerPart: 2, ...opts });
  dbs.push(db);
  return db;
}

function setup(opts: { retentionMs?: number } = {}): { db: Tsdb; dir: TempDir; keys: TestKeys } {
  const dir = tempDir();
  dirs.push(dir);
  const keys = new TestKeys();
  return { db: open(dir, keys, opts), dir, keys };
}

/** A counter histogram of schema 3 after `i` scrapes: buckets grow, a new bucket appears at i = 30. */
function expHistogram(i: number, seed: number): FloatHistogram {
  const spans: Span[] = i < 30 ? [{ offset: -2, length: 3 }, { offset: 2, length: 2 }] : [{ offset: -2, length: 3 }, { offset: 2, length: 3 }];
  const buckets = spans.flatMap((s) => Array.from({ length: s.length }, () => 0)).map((_, k) => i * (k + 1) + seed + ((i * 7 + k) % 3));
  const zeroCount = i;
  const neg = [seed + i];
  const count = zeroCount + buckets.reduce((a, b) => a + b, 0) + neg[0]!;
  return {
    counterResetHint: i === 0 ? 'reset' : 'not_reset',
    schema: 3,
    zeroThreshold: 1e-128,
    zeroCount,
    count,
    sum: i * 0.123456789 + seed,
    positiveSpans: spans,
    positiveBuckets: buckets,
    negativeSpans: [{ offset: 1, length: 1 }],
    negativeBuckets: neg,
  };
}

function customHistogram(i: number): FloatHistogram {
  const b = [i * 0.5, i * 1.25, i * 0.25];
  return {
    counterResetHint: 'gauge',
    schema: -53,
    zeroThreshold: 0,
    zeroCount: 0,
    count: b[0]! + b[1]! + b[2]! + 0.5, // a float count that is not the sum of the buckets
    sum: i * 3.3,
    positiveSpans: [{ offset: 0, length: 2 }, { offset: 1, length: 1 }],
    positiveBuckets: b,
    negativeSpans: [],
    negativeBuckets: [],
    customValues: [0.1, 0.5, 1, 5],
  };
}

const staleHistogram: FloatHistogram = {
  counterResetHint: 'unknown', schema: 3, zeroThreshold: 1e-128, zeroCount: 0, count: 0, sum: STALE,
  positiveSpans: [], positiveBuckets: [], negativeSpans: [], negativeBuckets: [],
};

/** Three series: `exp` (60 per hour for 3 h, then a stale marker), `custom` (float, NHCB), `mixed` (floats, then histograms). */
function fill(db: Tsdb): void {
  const app = db.appender();
  for (let i = 0; i < 180; i++) {
    const t = T0 + i * 60_000;
    app.appendHistogram(0, lbl({ __name__: 'exp', job: 'a' }), t, expHistogram(i, 1));
    app.appendHistogram(0, lbl({ __name__: 'custom', job: 'a' }), t, customHistogram(i));
    if (i < 90) app.append(0, lbl({ __name__: 'mixed', job: 'b' }), t, i);
    else app.appendHistogram(0, lbl({ __name__: 'mixed', job: 'b' }), t, expHistogram(i, 5));
    if (i % 50 === 49) app.commit();
  }
  app.appendHistogram(0, lbl({ __name__: 'exp', job: 'a' }), T0 + 180 * 60_000, staleHistogram);
  app.commit();
}

function check(db: Tsdb): void {
  const all = db.querier().select([], -Infinity, Infinity);
  expect(all.map((s) => s.labels[0]!.value)).toEqual(['custom', 'exp', 'mixed']);
  const [custom, exp, mixed] = all as [typeof all[0], typeof all[0], typeof all[0]];
  expect(exp.timestamps.length).toBe(0);
  expect(exp.histograms!.timestamps.length).toBe(181);
  for (let i = 0; i < 180; i++) {
    expect(exp.histograms!.timestamps[i]).toBe(T0 + i * 60_000);
    expect(sameHistogram(exp.histograms!.values[i]!, expHistogram(i, 1)), `exp sample ${i}`).toBe(true);
    expect(sameHistogram(custom.histograms!.values[i]!, customHistogram(i)), `custom sample ${i}`).toBe(true);
  }
  expect(toBits(exp.histograms!.values[180]!.sum)).toBe(STALE_NAN_BITS);
  expect(custom.histograms!.values[7]!.customValues).toEqual([0.1, 0.5, 1, 5]);
  expect(Array.from(mixed.values)).toEqual(Array.from({ length: 90 }, (_, i) => i));
  expect(mixed.histograms!.timestamps[0]).toBe(T0 + 90 * 60_000);
  expect(sameHistogram(mixed.histograms!.values[89]!, expHistogram(179, 5))).toBe(true);
  const window = db.querier().select([{ type: '=', name: '__name__', value: 'exp' }], T0 + 60_000, T0 + 120_000)[0]!;
  expect(Array.from(window.histograms!.timestamps)).toEqual([T0 + 60_000, T0 + 120_000]);
  expect(db.stats().samples).toBe(181 + 180 + 180);
}

describe('native histograms in the store', () => {
  it('round-trips through the head, the log, chunk rows and reopening, bit-exact where it matters', () => {
    const { db, dir, keys } = setup();
    fill(db);
    check(db);
    db.close();
    const replayed = open(dir, keys); // from the log
    check(replayed);
    replayed.compact();
    check(replayed);
    replayed.compact({ all: true });
    check(replayed);
    replayed.close();
    const cut = open(dir, keys); // from chunk rows
    check(cut);
    expect(verifyTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-hist', keys })).toMatchObject({ series: 3, samples: 541 });
  });

  it('keeps head histograms through a checkpoint: a reopen replays none of the log it covers', () => {
    const { db, dir, keys } = setup();
    fill(db);
    const logRows = (): number => logSinceCheckpoint(dir.file('ws.db'));
    expect(logRows()).toBeGreaterThan(0);
    db.compact({ checkpoint: true }); // nothing cut yet: every sample is in the head, hence in the checkpoint
    expect(logRows()).toBe(0);
    check(db);
    db.close();
    const reopened = open(dir, keys);
    check(reopened);
    // A cut of the older buckets plus a checkpoint of the rest; then only the checkpoint and chunk rows hold the data.
    reopened.compact();
    reopened.compact({ checkpoint: true });
    expect(logRows()).toBe(0);
    reopened.close();
    const again = open(dir, keys);
    check(again); // stats().samples included: 541, chunk rows and head
    // verify counts what chunk rows hold; the rest is in the checkpoint.
    expect(verifyTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-hist', keys }).samples).toBeLessThan(541);
  });

  it('applies the float order and duplicate rules across floats and histograms', () => {
    const { db } = setup();
    const app = db.appender();
    const l = lbl({ __name__: 'h' });
    app.appendHistogram(0, l, T0 + 2000, expHistogram(2, 0));
    expect(app.appendHistogram(0, l, T0 + 2000, expHistogram(2, 0))).toBeGreaterThan(0); // same again: accepted, stored once
    expect(() => app.appendHistogram(0, l, T0 + 2000, expHistogram(3, 0))).toThrow(AppendError);
    expect(() => app.append(0, l, T0 + 2000, 1)).toThrow(/duplicate|different/);
    app.commit();
    expect(() => app.appendHistogram(0, l, T0 + 1000, expHistogram(1, 0))).toThrow(/older/);
    expect(() => app.appendHistogram(0, l, T0 + 2000, expHistogram(9, 0))).toThrow(/different histogram/);
    app.appendHistogram(0, l, T0 + 2000, expHistogram(2, 0)); // the stored one again (a resend)
    app.commit();
    const s = db.querier().select([], -Infinity, Infinity)[0]!;
    expect(s.histograms!.timestamps.length).toBe(1);
  });

  it('keeps the arrival order of a series that switches between floats and histograms inside one commit', () => {
    const { db, dir, keys } = setup();
    const app = db.appender();
    const l = lbl({ __name__: 'switch' });
    app.appendHistogram(0, l, T0 + 1000, expHistogram(1, 0));
    app.append(0, l, T0 + 2000, 5);
    app.appendHistogram(0, l, T0 + 3000, expHistogram(3, 0));
    app.append(0, l, T0 + 4000, 6);
    app.commit();
    const look = (d: Tsdb): void => {
      const s = d.querier().select([], -Infinity, Infinity)[0]!;
      expect(Array.from(s.timestamps)).toEqual([T0 + 2000, T0 + 4000]);
      expect(Array.from(s.histograms!.timestamps)).toEqual([T0 + 1000, T0 + 3000]);
    };
    look(db);
    db.close();
    look(open(dir, keys));
  });

  it('codes a chunk compactly: regular counters cost a few bytes per bucket-sample', () => {
    const n = 480;
    const ts = Float64Array.from({ length: n }, (_, i) => T0 + i * 15_000);
    const hs = Array.from({ length: n }, (_, i) => expHistogram(i, 3));
    const w = new BitWriter();
    encodeHistogramChunk(w, ts, hs, T0);
    const bytes = Buffer.concat([Buffer.from(w.finish()), Buffer.alloc(PAD_BYTES)]);
    const back = decodeHistogramChunk(bytes, 0, T0);
    expect(Array.from(back.timestamps)).toEqual(Array.from(ts));
    back.values.forEach((h, i) => expect(sameHistogram(h, hs[i]!), `sample ${i}`).toBe(true));
    // 7 buckets, a zero bucket and an incompressible sum per sample.
    expect(bytes.length / n).toBeLessThan(16);
  });

  it('deleteSeries, retention and key rotation cover histogram samples', async () => {
    const { db, dir, keys } = setup({ retentionMs: 2 * HOUR });
    fill(db);
    db.compact({ all: true });
    expect(await db.deleteSeries([{ type: '=', name: '__name__', value: 'custom' }], T0, T0 + HOUR - 1)).toBe(60);
    const custom = db.querier().select([{ type: '=', name: '__name__', value: 'custom' }], -Infinity, Infinity)[0]!;
    expect(custom.histograms!.timestamps[0]).toBe(T0 + HOUR);
    expect(db.applyRetention(T0 + 3 * HOUR + 1)).toBe(60 + 60 + 60 - 60); // bucket 0 of exp and mixed (floats); custom's went already
    const exp = db.querier().select([{ type: '=', name: '__name__', value: 'exp' }], -Infinity, Infinity)[0]!;
    expect(exp.histograms!.timestamps[0]).toBe(T0 + HOUR);
    keys.raw.set(2, randomBytes(32));
    keys.current = 2;
    await db.reencrypt();
    db.close();
    keys.raw.delete(1);
    const again = open(dir, keys);
    const back = again.querier().select([{ type: '=', name: '__name__', value: 'exp' }], -Infinity, Infinity)[0]!;
    expect(back.histograms!.timestamps.length).toBe(121);
    expect(sameHistogram(back.histograms!.values[0]!, expHistogram(60, 1))).toBe(true);
    expect(verifyTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-hist', keys }).samples).toBe(again.stats().samples);
  });

  it('stores nothing of a histogram series readable on disk', () => {
    const dir = tempDir();
    dirs.push(dir);
    const secretName = 'zebrafish_latency_seconds';
    const secretValue = 'customer-purple-otter-7731';
    const bound = 0.123456789012345;
    const sum = 98765.4321098765;
    const db = openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-hist', keys: new TestKeys() });
    dbs.push(db);
    const h = { ...customHistogram(3), customValues: [bound, 7.77777777777], sum };
    const app = db.appender();
    for (let i = 0; i < 100; i++) app.appendHistogram(0, lbl({ __name__: secretName, customer: secretValue }), T0 + i * 15_000, { ...h, positiveSpans: [{ offset: 0, length: 3 }], positiveBuckets: [1, 2, 3], count: 6.5 });
    app.commit();
    const markers = [Buffer.from(secretName), Buffer.from(secretValue), Buffer.alloc(8), Buffer.alloc(8)];
    markers[2]!.writeDoubleLE(bound);
    markers[3]!.writeDoubleLE(sum);
    const scan = (): string[] =>
      readdirSync(dir.path).flatMap((f) => {
        const bytes = readFileSync(join(dir.path, f));
        return markers.filter((m) => bytes.includes(m)).map((m) => `${f}: ${m.toString('hex')}`);
      });
    expect(scan()).toEqual([]);
    db.compact({ all: true });
    expect(scan()).toEqual([]);
    const raw = new Database(dir.file('ws.db'), { readonly: true });
    expect((raw.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n).toBeGreaterThan(0);
    raw.close();
  });
});
