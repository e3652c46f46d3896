import { describe, expect, it } from 'vitest';
import { openTsdb, type Tsdb } from '../../../main/tsdb/index';
import { AppendError, STALE_NAN_BITS, type Matcher } from '../../../main/tsdb/types';
import { formatLabels } from '../../../shared/labels';
import { fromBits, lbl, tempDir, TestKeys, toBits, type TempDir } from './helpers';
import { trackStores } from './track-stores';

const T0 = 1_700_000_000_000;
const { dirs, dbs } = trackStores();

function open(opts: Partial<Parameters<typeof openTsdb>[0]> = {}, dir = tempDir()): { db: Tsdb; dir: TempDir; keys: TestKeys } {
  if (!dirs.includes(dir)) dirs.push(dir);
  const keys = (opts.keys as TestKeys | undefined) ?? new TestKeys();
  const db = openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-test1', ...opts, keys });
  dbs.push(db);
  return { db, dir, keys };
}

const m = (name: string, type: Matcher['type'], value: string): Matcher => ({ name, type, value });

function fill(db: Tsdb, series: number, samples: number, step = 15_000): void {
  const app = db.appender();
  for (let i = 0; i < samples; i++) {
    for (let s = 0; s < series; s++) {
      app.append(0, lbl({ __name__: s % 2 ? 'http_requests_total' : 'node_load1', instance: `host-${s}`, job: s % 3 ? 'api' : 'node' }), T0 + i * step, s * 1000 + i);
    }
    if (i % 50 === 49) app.commit();
  }
  app.commit();
}

describe('tsdb', () => {
  it('round-trips samples through the head, compaction and a reopen, with matchers', () => {
    const { db, dir, keys } = open({ bucketMs: 3600_000, seriesPerPart: 4 });
    fill(db, 12, 600); // 2.5 h: three buckets
    const check = (d: Tsdb): void => {
      const q = d.querier();
      const all = q.select([], -Infinity, Infinity);
      expect(all).toHaveLength(12);
      expect(all.map((s) => formatLabels(s.labels))).toEqual([...all.map((s) => formatLabels(s.labels))].sort());
      for (const s of all) {
        expect(s.timestamps.length).toBe(600);
        const base = Number(s.labels.find((l) => l.name === 'instance')!.value.slice(5)) * 1000;
        // Every sample, cut into rows group by group or still in the head, is the one appended.
        expect(Array.from(s.values)).toEqual(Array.from({ length: 600 }, (_, i) => base + i));
        expect(Array.from(s.timestamps)).toEqual(Array.from({ length: 600 }, (_, i) => T0 + i * 15_000));
      }
      const range = q.select([m('instance', '=', 'host-3')], T0 + 15_000, T0 + 45_000);
      expect(range).toHaveLength(1);
      expect(Array.from(range[0]!.timestamps)).toEqual([T0 + 15_000, T0 + 30_000, T0 + 45_000]);
      expect(Array.from(range[0]!.values)).toEqual([3001, 3002, 3003]);
      expect(q.select([m('__name__', '=', 'node_load1'), m('job', '!=', 'node')], T0, T0)).toHaveLength(4);
      expect(q.select([m('instance', '=~', 'host-1.*')], T0, T0).map((s) => s.labels[1]!.value)).toEqual(['host-1', 'host-11', 'host-10']); // by __name__ first
      expect(q.select([m('instance', '=~', 'host-1')], T0, T0)).toHaveLength(1); // anchored
      expect(q.select([m('instance', '!~', 'host-.*')], T0, T0)).toHaveLength(0);
      expect(q.select([m('missing', '=', '')], T0, T0)).toHaveLength(12);
      expect(q.select([m('job', '=', '')], T0, T0)).toHaveLength(0);
      expect(q.select([m('missing', '=~', 'x|')], T0, T0)).toHaveLength(12);
      expect(q.select([m('missing', '!=', '')], T0, T0)).toHaveLength(0);
      expect(q.labelNames()).toEqual(['__name__', 'instance', 'job']);
      expect(q.labelValues('job')).toEqual(['api', 'node']);
      expect(q.labelValues('instance', [m('job', '=', 'node')])).toEqual(['host-0', 'host-3', 'host-6', 'host-9']);
      expect(q.series([m('job', '=', 'node')], T0, T0 + 1)).toHaveLength(4);
      expect(d.stats().series).toBe(12);
      expect(d.stats().samples).toBe(12 * 600);
    };
    check(db);
    db.compact();
    check(db);
    db.close();
    const again = openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-test1', keys });
    dbs.push(again);
    check(again);
    again.compact({ all: true });
    check(again);
    again.close();
    const third = openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-test1', keys });
    dbs.push(third);
    check(third);
  });

  it('refuses out-of-order and duplicate samples, accepts identical ones, keeps rollback out', () => {
    const { db, dir, keys } = open();
    const app = db.appender();
    const L = lbl({ __name__: 'up', job: 'x' });
    const ref = app.append(0, L, T0, 1);
    expect(app.append(ref, L, T0 + 10, 2)).toBe(ref);
    expect(() => app.append(ref, L, T0 + 5, 3)).toThrow(expect.objectContaining({ kind: 'out_of_order' }));
    expect(() => app.append(ref, L, T0 + 10, 3)).toThrow(AppendError);
    try {
      app.append(ref, L, T0 + 10, 3);
    } catch (e) {
      expect((e as AppendError).kind).toBe('duplicate');
    }
    expect(app.append(ref, L, T0 + 10, 2)).toBe(ref); // same value: accepted silently
    app.commit();
    expect(() => app.append(ref, L, T0 + 10, 9)).toThrow(expect.objectContaining({ kind: 'duplicate' }));
    expect(() => app.append(ref, L, T0 - 1, 9)).toThrow(expect.objectContaining({ kind: 'out_of_order' }));
    app.append(ref, L, T0 + 20, 5);
    app.append(0, lbl({ __name__: 'rolled_back' }), T0, 1);
    app.rollback();
    expect(db.querier().labelValues('__name__')).toEqual(['up']);
    const s = db.querier().select([], 0, Infinity);
    expect(Array.from(s[0]!.values)).toEqual([1, 2]);
    expect(() => app.append(0, [{ name: 'a', value: 'x' }, { name: '__name__', value: 'b' }], T0, 1)).toThrow(expect.objectContaining({ kind: 'invalid_labels' }));
    db.compact({ all: true });
    db.close();
    const again = open({ keys }, dir).db;
    expect(() => again.appender().append(0, L, T0 + 10, 7)).toThrow(expect.objectContaining({ kind: 'duplicate' }));
    expect(() => again.appender().append(0, L, T0 + 9, 7)).toThrow(expect.objectContaining({ kind: 'out_of_order' }));
  });

  it('accepts samples inside the out-of-order window and merges them in time order', () => {
    const { db } = open({ outOfOrderWindowMs: 60_000, bucketMs: 3600_000 });
    const L = lbl({ __name__: 'g' });
    const app = db.appender();
    app.append(0, L, T0 + 30_000, 3);
    app.commit();
    db.compact({ all: true });
    app.append(0, L, T0 + 10_000, 1);
    app.append(0, L, T0 + 20_000, 2);
    expect(() => app.append(0, L, T0 - 40_000, 0)).toThrow(expect.objectContaining({ kind: 'out_of_order' }));
    app.commit();
    const s = db.querier().select([], -Infinity, Infinity)[0]!;
    expect(Array.from(s.timestamps)).toEqual([T0 + 10_000, T0 + 20_000, T0 + 30_000]);
    db.compact({ all: true });
    expect(Array.from(db.querier().select([], -Infinity, Infinity)[0]!.values)).toEqual([1, 2, 3]);
  });

  it('keeps the stale marker bit-exact and an ordinary NaN ordinary, in head, log and chunks', () => {
    const { db, dir, keys } = open();
    const stale = fromBits(STALE_NAN_BITS);
    const app = db.appender();
    app.append(0, lbl({ __name__: 'a' }), T0, 1);
    app.append(0, lbl({ __name__: 'a' }), T0 + 1, stale);
    app.append(0, lbl({ __name__: 'b' }), T0, NaN);
    app.append(0, lbl({ __name__: 'b' }), T0 + 1, stale);
    app.commit();
    const check = (d: Tsdb): void => {
      const [a, b] = d.querier().select([], 0, Infinity);
      expect(toBits(a!.values[1]!)).toBe(STALE_NAN_BITS);
      expect(Number.isNaN(b!.values[0]!)).toBe(true);
      expect(toBits(b!.values[0]!)).not.toBe(STALE_NAN_BITS);
      expect(toBits(b!.values[1]!)).toBe(STALE_NAN_BITS);
    };
    check(db);
    db.close();
    const replayed = open({ keys }, dir).db;
    check(replayed);
    replayed.compact({ all: true });
    check(replayed);
  });

  it('enforces the series limit and reports bad regexes clearly', () => {
    const { db } = open({ maxSeries: 2 });
    const app = db.appender();
    app.append(0, lbl({ __name__: 'a' }), T0, 1);
    app.append(0, lbl({ __name__: 'b' }), T0, 1);
    expect(() => app.append(0, lbl({ __name__: 'c' }), T0, 1)).toThrow(expect.objectContaining({ kind: 'series_limit' }));
    app.append(0, lbl({ __name__: 'a' }), T0 + 1, 2); // existing series still accepted
    app.commit();
    expect(db.stats()).toMatchObject({ series: 2, samples: 3 });
    expect(() => db.querier().select([m('__name__', '=~', '(')], 0, Infinity)).toThrow(/invalid regular expression in matcher __name__=~"\("/);
  });

  it('keeps label sets apart whose names and values hold the letters ÿ and þ, and refuses text that is not UTF-8', () => {
    const { db } = open();
    const app = db.appender();
    // With ÿ/þ ('\xff'/'\xfe') as the key's separators, these two had one key: the second sample went into the first series.
    app.append(0, lbl({ __name__: 'x', a: '1ÿbþ2' }), T0, 1);
    app.append(0, lbl({ __name__: 'x', a: '1', b: '2' }), T0, 2);
    app.commit();
    const got = db.querier().select([m('__name__', '=', 'x')], 0, Infinity).map((s) => [formatLabels(s.labels), [...s.values]]);
    expect(got).toEqual([['x{a="1", b="2"}', [2]], ['x{a="1ÿbþ2"}', [1]]]);
    expect(() => app.append(0, lbl({ __name__: 'x', a: 'half \ud800 pair' }), T0, 3)).toThrow(expect.objectContaining({ kind: 'invalid_labels' }));
  });
});
