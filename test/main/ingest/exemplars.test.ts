// Exemplars from remote write 1.0 and 2.0 into the real encrypted store: decoded from encoded
// bodies (test/main/ingest/encode.ts, independent of the decoder), bounded like Prometheus's
// circular store, over-long label sets refused by name with the rest kept, sealed on disk (trace ids
// never in clear), kept across a reopen, and answered by /api/v1/query_exemplars in Prometheus's shape.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../../main/ingest/limits';
import { ExemplarStore, PART_SLOTS, exemplarsV1, exemplarsV2 } from '../../../main/ingest/exemplars';
import { Ingester } from '../../../main/ingest/remote-write';
import { SeriesLayout } from '../../../main/ingest/layout';
import { ProtoReader } from '../../../main/ingest/proto';
import { scanV2, Symbols } from '../../../main/ingest/rw2';
import { scanV1 } from '../../../main/ingest/rw1';
import { queryExemplars } from '../../../main/query/api';
import type { BlobName, DataKeys, Tsdb } from '../../../main/tsdb/index';
import { scratchStore } from '../tsdb/helpers';
import { ProtoWriter, encodeV1, encodeV2, snappy, V1_TYPE, V2_TYPE } from './encode';

const NOW = 1_790_000_000_000;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const store = (dir?: string, keys?: DataKeys) => scratchStore(cleanups, 'ws-exemplartest', dir, keys);

const part = (p: number | null): BlobName => (p === null ? 'exemplars' : `exemplars.${p}`);
/** An exemplar store over the real sealed store; `written` counts the bytes each flush wrote. */
function exemplarStore(db: Tsdb, max?: number, written: number[] = []): ExemplarStore {
  return new ExemplarStore({
    read: (p) => db.readBlob(part(p)),
    write: (changes) => {
      written.push(changes.reduce((n, [, plain]) => n + (plain?.length ?? 0), 0));
      db.writeBlobs(changes.map(([p, plain]) => [part(p), plain] as const));
    },
  }, max);
}

/** A 1.0 body: series with one sample and exemplars {trace_id} as Prometheus sends them. */
function v1Body(series: { labels: [string, string][]; exemplars: { trace: string; v: number; t: number }[] }[]): Buffer {
  const w = new ProtoWriter();
  for (const s of series) {
    w.message(1, (ts) => {
      for (const [n, v] of s.labels) ts.message(1, (l) => l.string(1, n).string(2, v));
      for (const e of s.exemplars) ts.message(3, (x) => x.message(1, (l) => l.string(1, 'trace_id').string(2, e.trace)).double(2, e.v).tag(3, 0).varint(e.t));
    });
  }
  return w.finish();
}

describe('exemplars', () => {
  it('1.0 and 2.0: decodes series labels and exemplars (labels, value, timestamp)', () => {
    const series = [{ labels: [['__name__', 'req_total'], ['job', 'api']] as [string, string][], samples: [{ t: NOW, v: 1 }], exemplars: 2 }];
    const want = [{
      series: [{ name: '__name__', value: 'req_total' }, { name: 'job', value: 'api' }],
      exemplars: [0, 1].map((i) => ({ labels: [{ name: 'trace_id', value: `t${i}` }], value: i, t: 1000 + i })),
    }];
    const layout = new SeriesLayout();
    const raw1 = encodeV1(series);
    scanV1(new ProtoReader(raw1), layout);
    expect(exemplarsV1(raw1, layout)).toEqual(want);
    const raw = encodeV2(series);
    const symbols = new Symbols();
    scanV2(new ProtoReader(raw), symbols, layout);
    expect(exemplarsV2(raw, symbols, layout)).toEqual(want);
  });

  it('1.0 and 2.0: reads the series that carry exemplars, and only those', () => {
    const series = [0, 1, 2, 3].map((i) => ({ labels: [['__name__', 'req_total'], ['job', `j${i}`]] as [string, string][], samples: [{ t: NOW, v: i }], exemplars: i % 2 }));
    const want = [1, 3].map((i) => ({
      series: [{ name: '__name__', value: 'req_total' }, { name: 'job', value: `j${i}` }],
      exemplars: [{ labels: [{ name: 'trace_id', value: 't0' }], value: 0, t: 1000 }],
    }));
    const layout = new SeriesLayout();
    const raw1 = encodeV1(series);
    expect(scanV1(new ProtoReader(raw1), layout).exemplars).toBe(2);
    expect(exemplarsV1(raw1, layout)).toEqual(want);
    const raw2 = encodeV2(series);
    const symbols = new Symbols();
    expect(scanV2(new ProtoReader(raw2), symbols, layout).exemplars).toBe(2);
    expect(exemplarsV2(raw2, symbols, layout)).toEqual(want);
  });

  it('keeps the newest maxExemplars like a circular buffer, per series only newer ones', () => {
    const { db } = store();
    const s = exemplarStore(db, 3);
    const series = [{ name: '__name__', value: 'a' }];
    const ex = (t: number) => ({ labels: [{ name: 'trace_id', value: `id${t}` }], value: t, t });
    expect(s.add(series, [ex(1), ex(2), ex(2), ex(1)])).toBe(2); // the repeat and the older one are not kept
    expect(s.add(series, [ex(3), ex(4)])).toBe(2);
    const all = s.select(-Infinity, Infinity, () => true);
    expect(all[0]!.exemplars.map((e) => e.t)).toEqual([2, 3, 4]);
    expect(s.select(3, 3, () => true)[0]!.exemplars.map((e) => e.t)).toEqual([3]);
    s.resize(2);
    expect(s.select(-Infinity, Infinity, () => true)[0]!.exemplars.map((e) => e.t)).toEqual([3, 4]);
    s.resize(0); // maxExemplars 0: none kept
    expect(s.select(-Infinity, Infinity, () => true)).toEqual([]);
    expect(s.add(series, [ex(9)])).toBe(0);
  });

  for (const [version, type] of [['1.0', V1_TYPE], ['2.0', V2_TYPE]] as const) {
    it(`${version}: stored sealed, over-long label sets refused by name with the rest kept, kept across a reopen`, async () => {
      const { db, dir, keys } = store();
      const exemplars = exemplarStore(db);
      const ingester = new Ingester(db.appender(), { exemplars });
      const trace = randomBytes(16).toString('hex');
      const long = 'x'.repeat(130);
      let body: Buffer;
      if (version === '1.0') {
        body = v1Body([{ labels: [['__name__', 'req_total'], ['job', 'api']], exemplars: [{ trace, v: 1.5, t: NOW - 1000 }, { trace: long, v: 2, t: NOW }] }]);
      } else {
        // encodeV2's exemplars are trace_id=t<i>; the long one is built by hand below.
        const symbols = ['', '__name__', 'req_total', 'job', 'api', 'trace_id', trace, long];
        const w = new ProtoWriter();
        for (const sym of symbols) w.string(4, sym);
        w.message(5, (ts) => {
          ts.bytes(1, new ProtoWriter().varint(1).varint(2).varint(3).varint(4).finish());
          ts.message(4, (x) => x.bytes(1, new ProtoWriter().varint(5).varint(6).finish()).double(2, 1.5).tag(3, 0).varint(NOW - 1000));
          ts.message(4, (x) => x.bytes(1, new ProtoWriter().varint(5).varint(7).finish()).double(2, 2).tag(3, 0).varint(NOW));
        });
        body = w.finish();
      }
      const r = await ingester.ingest({ body: snappy(body), contentType: type, contentEncoding: 'snappy', version: undefined }, DEFAULT_LIMITS, NOW);
      expect(r.status).toBe(400);
      expect(r.message).toMatch(/^1 of 2 exemplars rejected, 1 written: series req_total\{job="api"\}: exemplar label set is 138 UTF-8 characters, over Prometheus's limit of 128/);
      expect(r.exemplarsWritten).toBe(1);
      exemplars.flush(NOW, true);
      db.close();
      for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).includes(Buffer.from(trace)), f).toBe(false);

      const again = store(dir, keys).db;
      const answer = queryExemplars(new URLSearchParams({ query: 'rate(req_total{job="api"}[5m]) + other', start: String((NOW - 60_000) / 1000), end: String(NOW / 1000) }), (s, e, m) => exemplarStore(again).select(s, e, m));
      expect(answer).toEqual({
        status: 200,
        body: { status: 'success', data: [{ seriesLabels: { __name__: 'req_total', job: 'api' }, exemplars: [{ labels: { trace_id: trace }, value: '1.5', timestamp: (NOW - 1000) / 1000 }] }] },
      });
    });
  }

  it('flushes only the parts new exemplars landed in: the cost follows what arrived, not the store size', () => {
    const { db, dir, keys } = store();
    const written: number[] = [];
    const capacity = 20 * PART_SLOTS;
    const s = exemplarStore(db, capacity, written);
    const ex = (t: number) => ({ labels: [{ name: 'trace_id', value: `trace-${t.toString(16).padStart(12, '0')}` }], value: t, t });
    // Fill the ring one and a half times over 50 series, so it has wrapped.
    for (let t = 1; t <= capacity * 1.5; t++) s.add([{ name: '__name__', value: `m${t % 50}` }], [ex(t)]);
    s.flush(NOW, true);
    const full = written.at(-1)!;
    // Ten new exemplars: at most two parts (a part boundary may fall among them) and the header.
    for (let t = capacity * 1.5 + 1; t <= capacity * 1.5 + 10; t++) s.add([{ name: '__name__', value: 'm1' }], [ex(t)]);
    expect(s.flush(NOW + 60_000)).toBeLessThanOrEqual(2);
    expect(written.at(-1)!).toBeLessThan((2 * full) / 20);
    expect(s.flush(NOW + 120_000)).toBe(0); // nothing new, nothing written
    const before = s.select(-Infinity, Infinity, () => true);
    db.close();

    // Reopened: the same exemplars in the same order; the oldest are overwritten, the newest kept.
    const again = exemplarStore(store(dir, keys).db, capacity);
    const after = again.select(-Infinity, Infinity, () => true);
    expect(after).toEqual(before);
    const times = after.flatMap((g) => g.exemplars.map((e) => e.t)).sort((a, b) => a - b);
    expect(times).toHaveLength(capacity);
    expect(times[0]).toBe(capacity * 0.5 + 11);
    expect(times.at(-1)).toBe(capacity * 1.5 + 10);
  });

  it('a smaller limit drops the oldest and deletes the parts no longer needed; the first one-row format is read and rewritten', () => {
    const { db, dir, keys } = store();
    const s = exemplarStore(db, 4 * PART_SLOTS);
    for (let t = 1; t <= 4 * PART_SLOTS; t++) s.add([{ name: '__name__', value: 'a' }], [{ labels: [], value: t, t }]);
    s.flush(NOW, true);
    s.resize(PART_SLOTS);
    s.flush(NOW, true);
    expect(db.readBlob('exemplars.0')).not.toBeNull();
    expect(db.readBlob('exemplars.1')).toBeNull();
    expect(db.readBlob('exemplars.3')).toBeNull();
    expect(exemplarStore(db, PART_SLOTS).select(-Infinity, Infinity, () => true)[0]!.exemplars.map((e) => e.t)[0]).toBe(3 * PART_SLOTS + 1);
    // The store as written before parts: one row with the whole ring.
    db.writeBlob('exemplars', Buffer.from(JSON.stringify({ series: [[{ name: '__name__', value: 'old' }]], slots: [[0, [], '1.5', 10], [0, [], 'NaN', 20]] })));
    const old = exemplarStore(db, 10);
    expect(old.select(-Infinity, Infinity, () => true)).toEqual([{ seriesLabels: [{ name: '__name__', value: 'old' }], exemplars: [{ labels: [], value: 1.5, t: 10 }, { labels: [], value: NaN, t: 20 }] }]);
    old.flush(NOW, true);
    db.close();
    const reread = exemplarStore(store(dir, keys).db, 10).select(-Infinity, Infinity, () => true);
    expect(reread[0]!.exemplars.map((e) => e.t)).toEqual([10, 20]);
  });

  it('/api/v1/query_exemplars: selectors filter, bad input is bad_data', () => {
    const { db } = store();
    const s = exemplarStore(db);
    s.add([{ name: '__name__', value: 'a' }], [{ labels: [], value: 1, t: 5000 }]);
    s.add([{ name: '__name__', value: 'b' }], [{ labels: [], value: 2, t: 5000 }]);
    const q = (p: Record<string, string>) => queryExemplars(new URLSearchParams(p), (a, b, m) => s.select(a, b, m));
    expect((q({ query: 'b' }).body as { data: unknown[] }).data).toEqual([{ seriesLabels: { __name__: 'b' }, exemplars: [{ labels: {}, value: '2', timestamp: 5 }] }]);
    expect((q({ query: '{__name__=~"a|b"}' }).body as { data: unknown[] }).data).toHaveLength(2);
    expect((q({ query: 'a', start: '6' }).body as { data: unknown[] }).data).toEqual([]);
    expect(q({ query: 'a', start: '10', end: '5' })).toMatchObject({ status: 400, body: { errorType: 'bad_data', error: 'end timestamp must not be before start timestamp' } });
    expect(q({ query: 'a(' })).toMatchObject({ status: 400, body: { errorType: 'bad_data' } });
    expect(q({})).toMatchObject({ status: 400 });
  });
});
