// The query pool: the Prometheus API answered on worker threads (from the TypeScript source, through
// tsx) exactly as on this thread, a client that goes away stops its query (queued or running),
// and the pool keeps answering afterwards.
import { afterAll, describe, expect, it } from 'vitest';
import { isMainThread } from 'node:worker_threads';
import { handlePromApi, withQuerySlot } from '../../../main/query/api';
import { QueryLimiter } from '../../../main/query/limits';
import { QueryPool, QueryPoolError, type PromApiReply } from '../../../main/http/query-pool';
import type { PromApiResponse } from '../../../main/query/api';
import type { Matcher, Querier, SeriesData } from '../../../main/tsdb/types';
import { labelsFromRecord } from '../../../shared/labels';
import { createServer, get as httpGet } from 'node:http';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { openTsdb, type Tsdb } from '../../../main/tsdb/index';
import type { HeadQuerier } from '../../../main/tsdb/querier';
import type { OffThreadReads } from '../../../main/tsdb/head-snapshot';
import { queryHandler } from '../../../main/http/query';
import { lbl, tempDir, TestKeys } from '../tsdb/helpers';
import { trackStores } from '../tsdb/track-stores';

/** A worker's answer as the server sends it (JSON the worker encoded), parsed to compare. */
async function sent(reply: Promise<PromApiReply>): Promise<{ status: number; body: unknown }> {
  const { status, json } = await reply;
  return { status, body: JSON.parse(new TextDecoder().decode(json)) };
}

/** An answer made on this thread, through the same JSON. */
async function local(answer: Promise<PromApiResponse>): Promise<{ status: number; body: unknown }> {
  const { status, body } = await answer;
  return { status, body: JSON.parse(JSON.stringify(body)) };
}

const T0 = 1_700_000_000_000;
const series: SeriesData[] = ['a', 'b', 'c'].map((job, j) => ({
  labels: labelsFromRecord({ __name__: 'req_total', job }),
  timestamps: Float64Array.from({ length: 600 }, (_, i) => T0 + i * 1000),
  values: Float64Array.from({ length: 600 }, (_, i) => i * (j + 1)),
}));
const matches = (s: SeriesData, ms: readonly Matcher[]) => ms.every((m) => m.type !== '=' || s.labels.find((l) => l.name === m.name)?.value === m.value);

/** A store of three counters; records on which thread it was read. */
function store(): Querier & { threads: boolean[] } {
  const threads: boolean[] = [];
  return {
    threads,
    select(ms, mint, maxt) {
      threads.push(isMainThread);
      return series.filter((s) => matches(s, ms)).map((s) => {
        const keep = [...s.timestamps].map((t, i) => [t, s.values[i]!] as const).filter(([t]) => t >= mint && t <= maxt);
        return { labels: s.labels, timestamps: Float64Array.from(keep.map((k) => k[0])), values: Float64Array.from(keep.map((k) => k[1])) };
      });
    },
    series: (ms) => series.filter((s) => matches(s, ms)).map((s) => s.labels),
    labelNames: () => ['__name__', 'job'],
    labelValues: (name) => (name === 'job' ? ['a', 'b', 'c'] : ['req_total']),
  };
}

const pool = new QueryPool(1);
afterAll(() => pool.close());

/**
 * 10,000 inner subquery steps at each of 600,000 outer ones: minutes of work, until aborted (a
 * single 10 M-step subquery over these 600 s of samples took 18–41 ms here, and answered before
 * a test's abort).
 */
const HEAVY = new URLSearchParams({ query: 'count_over_time(count_over_time(req_total[10s:1ms])[600s:1ms])', time: String(T0 / 1000 + 600) });

/** A quick query on `on`, noting `name` in `done` when answered. */
const cheap = (on: QueryPool, name: string, ahead: boolean, done: string[]) =>
  on.run('query', new URLSearchParams({ query: 'count(req_total)', time: String(T0 / 1000 + 300) }), store(), { ahead }).then(() => void done.push(name));

describe('QueryPool', () => {
  it('answers query_range, series and label values as handlePromApi does on this thread', async () => {
    for (const [path, params] of [
      ['query_range', { query: 'sum by (job)(rate(req_total[1m]))', start: String(T0 / 1000 + 120), end: String(T0 / 1000 + 590), step: '10' }],
      ['query', { query: 'topk(2, req_total)', time: String(T0 / 1000 + 300) }],
      ['series', { 'match[]': 'req_total{job="b"}' }],
      ['label/job/values', {}],
      ['query', { query: 'sum(' }],
    ] as const) {
      const q = store();
      const inWorker = await sent(pool.run(path, new URLSearchParams(params), q));
      expect(inWorker).toEqual(await local(handlePromApi(path, new URLSearchParams(params), store())));
      if (path.startsWith('query') && params.query !== 'sum(') expect(q.threads.length).toBeGreaterThan(0);
      expect(q.threads.every((t) => t)).toBe(true); // the store is read on the ingest thread only
    }
  });

  it('drops a queued query whose client went away, and ends a running one, then keeps answering', async () => {
    const running = new AbortController();
    const queued = new AbortController();
    const first = pool.run('query', HEAVY, store(), { signal: running.signal });
    const second = pool.run('query', HEAVY, store(), { signal: queued.signal });
    queued.abort();
    await expect(second).rejects.toMatchObject({ reason: 'aborted' });
    await new Promise((r) => setTimeout(r, 100));
    running.abort();
    await expect(first).rejects.toBeInstanceOf(QueryPoolError);
    await expect(first).rejects.toMatchObject({ reason: 'aborted' });
    const after = await sent(pool.run('query', new URLSearchParams({ query: 'count(req_total)', time: String(T0 / 1000 + 300) }), store()));
    expect(after.body).toMatchObject({ status: 'success', data: { result: [{ value: [T0 / 1000 + 300, '3'] }] } });
  });

  it("queues a request marked `ahead` before the waiting others, after the one running and the earlier ones marked so", async () => {
    const queued = new QueryPool(1, { interactiveIdleMs: 0 }); // no worker of their own for `ahead` calls
    try {
      const running = new AbortController();
      const first = queued.run('query', HEAVY, store(), { signal: running.signal });
      const done: string[] = [];
      const waiting = [cheap(queued, 'dashboard-1', false, done), cheap(queued, 'dashboard-2', false, done), cheap(queued, 'window-1', true, done), cheap(queued, 'window-2', true, done)];
      running.abort(); // the running one ends; the queue goes on in its order
      await expect(first).rejects.toMatchObject({ reason: 'aborted' });
      await Promise.all(waiting);
      expect(done).toEqual(['window-1', 'window-2', 'dashboard-1', 'dashboard-2']);
    } finally {
      await queued.close();
    }
  });

  it('runs `ahead` requests beside a running query on a worker of their own, which ends once idle', async () => {
    const own = new QueryPool(1, { interactiveIdleMs: 300 });
    try {
      const running = new AbortController();
      const first = own.run('query', HEAVY, store(), { signal: running.signal });
      let firstSettled = false;
      first.catch(() => undefined).finally(() => (firstSettled = true));
      const done: string[] = [];
      const dashboard = cheap(own, 'dashboard', false, done);
      await cheap(own, 'window-1', true, done);
      await cheap(own, 'window-2', true, done);
      expect(done).toEqual(['window-1', 'window-2']); // the dashboard's call still waits for the worker the heavy query holds
      expect(firstSettled).toBe(false);
      expect(own.workers).toBe(2);
      for (let i = 0; i < 100 && own.workers > 1; i++) await new Promise((r) => setTimeout(r, 20));
      expect(own.workers).toBe(1); // idle for 300 ms: ended
      running.abort();
      await expect(first).rejects.toMatchObject({ reason: 'aborted' });
      await dashboard;
      expect(done).toEqual(['window-1', 'window-2', 'dashboard']);
    } finally {
      await own.close();
    }
  });

  it.skipIf(process.platform !== 'linux')('runs its workers at a lower priority than the ingest thread (Linux only: per-thread nice)', async () => {
    const niceThreads = () =>
      readdirSync('/proc/self/task').filter((tid) => {
        try {
          return readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16] === '10';
        } catch {
          return false; // the thread ended meanwhile
        }
      }).length;
    const own = new QueryPool(2);
    try {
      await Promise.all([0, 1].map(() => own.run('labels', new URLSearchParams(), store()))); // both workers are up
      expect(niceThreads()).toBeGreaterThanOrEqual(2);
      expect(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[16]).toBe('0'); // the process (its main thread) is not lowered
    } finally {
      await own.close();
    }
  });

  it('refuses work once closed', async () => {
    const closing = new QueryPool(1);
    await closing.close();
    await expect(closing.run('labels', new URLSearchParams(), store())).rejects.toMatchObject({ reason: 'closed' });
  });

  it('workers that cannot load are tried three times; then the pool is unavailable and the HTTP API answers on this thread', async () => {
    const dir = tempDir();
    try {
      // A real fault: a worker script that throws while loading (as a packaged app might refuse this bundle).
      const script = dir.file('broken-worker.mjs');
      writeFileSync(script, "throw new Error('this bundle cannot load here');\n");
      const broken = new QueryPool(1, { script: pathToFileURL(script) });
      const queued = broken.run('query', new URLSearchParams({ query: 'sum(req_total)', time: String(T0 / 1000 + 300) }), store());
      await expect(queued).rejects.toMatchObject({ reason: 'unavailable' });
      expect(broken.unavailable).toMatch(/query threads could not start .*this bundle cannot load here/);
      await expect(broken.instant('1', T0, store())).rejects.toMatchObject({ reason: 'unavailable' });

      const handler = queryHandler(() => ({ querier: () => store(), queries: new QueryLimiter(1), metadata: { entries: () => [] }, exemplars: { select: () => [] } }) as never, broken);
      const server = createServer((req, res) => {
        const url = new URL(req.url!, 'http://x');
        handler(req, res, 'ws', url.pathname.slice(1), url).catch(() => res.destroy());
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const port = (server.address() as AddressInfo).port;
        const body = await new Promise<string>((resolve, reject) =>
          httpGet(`http://127.0.0.1:${port}/query?query=sum(req_total)&time=${T0 / 1000 + 300}`, (res) => {
            let b = '';
            res.on('data', (c) => (b += c));
            res.on('end', () => resolve(b));
          }).on('error', reject),
        );
        expect(JSON.parse(body)).toEqual((await local(handlePromApi('query', new URLSearchParams({ query: 'sum(req_total)', time: String(T0 / 1000 + 300) }), store()))).body);
      } finally {
        server.close();
      }
      await broken.close();
    } finally {
      dir.remove();
    }
  });

  it("waits for a free slot of the workspace's gate before a query goes to the pool, and times out in the queue", async () => {
    const gate = new QueryLimiter(1);
    expect(await gate.acquire(1000)).toBe(true); // another query of the workspace holds the only slot
    const params = new URLSearchParams({ query: 'sum(req_total)', time: String((T0 + 60_000) / 1000) });
    let answered = false;
    const queued = withQuerySlot('query', { limiter: gate }, () => pool.run('query', params, store())).then((r) => ((answered = true), r));
    await new Promise((r) => setTimeout(r, 200));
    expect(answered).toBe(false);
    expect(gate.load).toEqual({ running: 1, queued: 1 });
    gate.release();
    expect((await queued).status).toBe(200);
    expect(gate.load).toEqual({ running: 0, queued: 0 });

    expect(await gate.acquire(1000)).toBe(true);
    const late = await withQuerySlot('query', { limiter: gate, timeoutMs: 50 }, () => pool.run('query', params, store()));
    expect(late).toEqual({ status: 503, body: { status: 'error', errorType: 'timeout', error: 'query timed out in query queue' } });
    // Label and series lookups are not gated.
    expect((await withQuerySlot('labels', { limiter: gate, timeoutMs: 50 }, () => pool.run('labels', new URLSearchParams(), store()))).status).toBe(200);
    gate.release();
  });
});

// ---- a real store read on the worker: its own connection to the rows, the head as a snapshot

const { dirs: storeDirs, dbs: storeDbs } = trackStores();
const STEP = 15_000;
const SERIES = 12;
/** Batches of 20 samples a series that the concurrent writer adds at most. */
const MAX_WRITES = 300;

function openStore(): Tsdb {
  const dir = tempDir();
  storeDirs.push(dir);
  const db = openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-pool1', keys: new TestKeys(), bucketMs: 3600_000, seriesPerPart: 4 });
  storeDbs.push(db);
  return db;
}

/** An empty store of 1-hour buckets in a directory of its own. */
function hourStore(workspaceId: string): Tsdb {
  const dir = tempDir();
  storeDirs.push(dir);
  const db = openTsdb({ path: dir.file('ws.db'), workspaceId, keys: new TestKeys(), bucketMs: 3600_000 });
  storeDbs.push(db);
  return db;
}

/** Samples [from, to) of every series: sample i of series s is (T0 + i·STEP, s·100000 + i), committed every 20. */
function fillStore(db: Tsdb, from: number, to: number): void {
  const app = db.appender();
  for (let i = from; i < to; i++) {
    for (let s = 0; s < SERIES; s++) app.append(0, lbl({ __name__: 'load', instance: `h-${s}` }), T0 + i * STEP, s * 100_000 + i);
    if (i % 20 === 19) app.commit();
  }
  app.commit();
}

/**
 * The store's querier, counting selects and listings (series, label names and values) answered on
 * this thread in one call, and data keys a worker asked for (one per new connection).
 */
function counted(db: Tsdb): Querier & { selectsHere: number; listedHere: number; keysAsked: number; offThread: OffThreadReads } {
  const q = db.querier() as HeadQuerier;
  const reads = q.offThread;
  const c = {
    selectsHere: 0,
    listedHere: 0,
    keysAsked: 0,
    select: (...a: Parameters<Querier['select']>) => (c.selectsHere++, q.select(...a)),
    series: (...a: Parameters<Querier['series']>) => (c.listedHere++, q.series(...a)),
    labelNames: (...a: Parameters<Querier['labelNames']>) => (c.listedHere++, q.labelNames(...a)),
    labelValues: (...a: Parameters<Querier['labelValues']>) => (c.listedHere++, q.labelValues(...a)),
    offThread: { file: reads.file, snapshot: reads.snapshot, listing: reads.listing, dataKey: (id: number) => (c.keysAsked++, reads.dataKey(id)) },
  };
  return c;
}

describe('QueryPool on a real store', () => {
  it('reads rows on the worker, with the same answers as this thread, while ingest and compaction go on', async () => {
    const db = openStore();
    fillStore(db, 0, 1500); // 6.25 h: rows for the first buckets, the rest in the head
    db.compact();
    const old = new URLSearchParams({ query: 'sum by (instance)(rate(load[5m]))', start: String(T0 / 1000 + 600), end: String(T0 / 1000 + 20_000), step: '60' });
    const want = await local(handlePromApi('query_range', old, db.querier()));
    // Raw samples of every series: each must be a gapless, duplicate-free prefix of what was written.
    const raw = new URLSearchParams({ query: 'load[100d]', time: String(T0 / 1000 + 50 * 86_400) });
    let next = 1500;
    let stop = false;
    // Paced and bounded: unbounded, the writer added samples as fast as the thread allowed, every
    // round's raw answer grew with them, and on a loaded machine the test ran past its timeout.
    const writer = (async () => {
      while (!stop && next < 1500 + 20 * MAX_WRITES) {
        fillStore(db, next, next + 20);
        next += 20;
        if (next % 100 === 0) db.compact({ all: true }); // cuts the head into rows, merging into existing ones
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const seenAtRound: number[] = [];
    try {
      for (let round = 0; round < 12; round++) {
        seenAtRound.push(next);
        const q = counted(db);
        const [a, b] = await Promise.all([sent(pool.run('query_range', old, q)), sent(pool.run('query', raw, q))]);
        expect(a).toEqual(want);
        expect(q.selectsHere).toBe(0);
        const result = (b.body as { data: { result: { metric: { instance: string }; values: [number, string][] }[] } }).data.result;
        expect(result).toHaveLength(SERIES);
        for (const s of result) {
          const base = Number(s.metric.instance.slice(2)) * 100_000;
          expect(s.values.length).toBeGreaterThanOrEqual(1500);
          const wrong = s.values.findIndex(([t, v], i) => t !== (T0 + i * STEP) / 1000 || Number(v) !== base + i);
          expect(wrong).toBe(-1);
        }
      }
    } finally {
      stop = true;
      await writer;
    }
    // Ingest went on between query rounds, not only before them.
    expect(new Set(seenAtRound).size).toBeGreaterThan(2);
  });

  it('carries native histograms from rows and the head to the worker, with the same answers as this thread', async () => {
    const db = openStore();
    const fillHistograms = (from: number, to: number): void => {
      const app = db.appender();
      for (let i = from; i < to; i++) {
        for (let s = 0; s < 3; s++) {
          const buckets = [i + s, 2 * i, (i * 3) % 11];
          const h = { counterResetHint: 'unknown', schema: 2, zeroThreshold: 1e-128, zeroCount: i, count: i + buckets.reduce((a, b) => a + b, 0), sum: i * 0.5 + s } as const;
          app.appendHistogram(0, lbl({ __name__: 'lat', instance: `h-${s}` }), T0 + i * STEP, { ...h, positiveSpans: [{ offset: 0, length: 3 }], negativeSpans: [], positiveBuckets: buckets, negativeBuckets: [] });
        }
        if (i % 20 === 19) app.commit();
      }
      app.commit();
    };
    fillHistograms(0, 1500); // rows for the first buckets, the rest in the head
    db.compact();
    fillHistograms(1500, 1520);
    const end = T0 / 1000 + 1519 * 15;
    for (const [path, params] of [
      ['query', { query: 'lat', time: String(end) }], // head: 'histogram' shape
      ['query', { query: 'lat[2h]', time: String(end) }], // rows and head: 'histograms' shape
      ['query_range', { query: 'histogram_quantile(0.9, rate(lat[5m]))', start: String(T0 / 1000 + 600), end: String(end), step: '300' }],
      ['query_range', { query: 'histogram_count(rate(lat[5m])) + histogram_sum(rate(lat[5m]))', start: String(T0 / 1000 + 600), end: String(end), step: '300' }],
    ] as const) {
      const q = counted(db);
      const got = await sent(pool.run(path, new URLSearchParams(params), q));
      expect(got).toEqual(await local(handlePromApi(path, new URLSearchParams(params), db.querier())));
      expect(q.selectsHere).toBe(0);
      const result = (got.body as { data: { result: Record<string, unknown>[] } }).data.result;
      expect(result).toHaveLength(3);
      if (params.query === 'lat') expect(result[0]).toHaveProperty('histogram');
      if (params.query === 'lat[2h]') expect((result[0]!.histograms as unknown[]).length).toBe(480);
    }
  });

  it("keeps a store's read connection (its keys, its decrypted rows) between queries; closes it when idle or when the store closes", async () => {
    const params = new URLSearchParams({ query: 'sum(load)', time: String(T0 / 1000 + 300) });
    const fresh = () => {
      const db = openStore();
      fillStore(db, 0, 600);
      db.compact({ all: true }); // rows: read with a data key
      return db;
    };
    const db = fresh();
    const answer = await local(handlePromApi('query', params, db.querier()));
    const q = counted(db);
    expect(await sent(pool.run('query', params, q))).toEqual(answer);
    expect(q.keysAsked).toBe(1);
    expect(await sent(pool.run('query', params, q))).toEqual(answer);
    expect(q.keysAsked).toBe(1); // the same connection and key: the shared pool keeps them 60 s

    // Closing the store closes the worker's connection: no descriptor of the file stays open
    // (SQLite closes this thread's only once no other connection in the process holds the file).
    const path = (db.querier() as HeadQuerier).offThread.snapshot([], 0, 0).next().store.path;
    const held = () => readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === path;
      } catch {
        return false; // closed meanwhile
      }
    }).length;
    expect(held()).toBeGreaterThan(0);
    db.close();
    for (let i = 0; i < 200 && held() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(held()).toBe(0);

    const quick = new QueryPool(1, { readerIdleMs: 200 });
    try {
      const q2 = counted(fresh());
      expect(await sent(quick.run('query', params, q2))).toEqual(answer);
      expect(await sent(quick.run('query', params, q2))).toEqual(answer);
      expect(q2.keysAsked).toBe(1);
      await new Promise((r) => setTimeout(r, 600)); // idle for 200 ms: closed, its key dropped
      expect(await sent(quick.run('query', params, q2))).toEqual(answer);
      expect(q2.keysAsked).toBe(2);
    } finally {
      await quick.close();
    }
  });

  it("answers with each series' own labels after the store is opened again and a series id names another series", async () => {
    // The worker keeps label sets by series id, for one opening of the file: ids are never reused
    // while a store is open, but a store opened again after its newest series was deleted gives
    // that id to the next new series.
    const dir = tempDir();
    storeDirs.push(dir);
    const keys = new TestKeys();
    const open = () => {
      const db = openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-pool-ids', keys, bucketMs: 3600_000, seriesPerPart: 4 });
      storeDbs.push(db);
      return db;
    };
    const write = (db: Tsdb, instances: string[]) => {
      const app = db.appender();
      for (const instance of instances) app.append(0, lbl({ __name__: 'up', instance }), T0, 1);
      app.commit();
    };
    const params = new URLSearchParams({ query: 'up', time: String(T0 / 1000) });
    const instances = async (db: Tsdb) => {
      const got = await sent(pool.run('query', params, counted(db)));
      expect(got).toEqual(await local(handlePromApi('query', params, db.querier())));
      return (got.body as { data: { result: { metric: { instance: string } }[] } }).data.result.map((r) => r.metric.instance);
    };
    const idOf = (db: Tsdb, instance: string) => (db.querier() as HeadQuerier).offThread.snapshot([{ type: '=', name: 'instance', value: instance }], T0, T0).next().ids[0];
    const first = open();
    write(first, ['a', 'b']);
    expect(await instances(first)).toEqual(['a', 'b']);
    const idOfB = idOf(first, 'b');
    await first.deleteSeries([{ type: '=', name: 'instance', value: 'b' }], -Infinity, Infinity);
    first.close();
    const again = open();
    write(again, ['c']);
    expect(idOf(again, 'c')).toBe(idOfB);
    expect(await instances(again)).toEqual(['a', 'c']);
  });

  it("sends a series' labels to a worker once: later snapshots of it carry no key, with the same answers", async () => {
    const db = hourStore('ws-pool-once');
    const app = db.appender();
    for (let s = 0; s < 3000; s++) app.append(0, lbl({ __name__: `m_${s % 3}`, instance: `h-${s}` }), T0, s); // three parts
    app.commit();
    const q = counted(db);
    let keys = 0;
    let snapshots = 0;
    const snapshot = q.offThread.snapshot;
    q.offThread.snapshot = (...a) => {
      snapshots++;
      const cursor = snapshot(...a);
      return { next: () => { const part = cursor.next(); keys += part.labels.sizes.filter((n) => n >= 0).length; return part; } };
    };
    const own = new QueryPool(1, { splitMinSeries: 0 });
    try {
      const ask = async (query: string) => {
        const params = new URLSearchParams({ query, time: String(T0 / 1000) });
        const before = keys;
        expect(await sent(own.run('query', params, q))).toEqual(await local(handlePromApi('query', params, db.querier())));
        return keys - before;
      };
      expect(await ask('count({__name__=~"m_.*"})')).toBe(3000);
      expect(await ask('count({__name__=~"m_.*"})')).toBe(0);
      expect(await ask('m_1')).toBe(0);
      const app2 = db.appender();
      app2.append(0, lbl({ __name__: 'm_1', instance: 'new' }), T0, 1);
      app2.commit();
      expect(await ask('m_1')).toBe(1); // only the new series' key
      expect(snapshots).toBe(4);
    } finally {
      await own.close();
    }
  });

  it('asks again with every key when a part the ingest thread counted as sent never reached the worker', async () => {
    // A fault simulated here: the ingest thread counts a series as sent that the worker never got
    // (in the pool this happens when a query ends before it reads a part already made for it).
    const db = hourStore('ws-pool-lost');
    const app = db.appender();
    for (const instance of ['a', 'b', 'c']) app.append(0, lbl({ __name__: 'up', instance }), T0, 1);
    app.commit();
    const idOfC = (db.querier() as HeadQuerier).offThread.snapshot([{ type: '=', name: 'instance', value: 'c' }], T0, T0).next().ids[0]!;
    const q = counted(db);
    let snapshots = 0;
    const snapshot = q.offThread.snapshot;
    q.offThread.snapshot = (ms, mint, maxt, labelsSent) => {
      snapshots++;
      const cursor = snapshot(ms, mint, maxt, labelsSent);
      if (snapshots === 1) labelsSent?.add(idOfC); // counted as sent, but not selected: the worker never sees its key
      return cursor;
    };
    const own = new QueryPool(1, { splitMinSeries: 0 });
    try {
      const ask = async (query: string) => {
        const params = new URLSearchParams({ query, time: String(T0 / 1000) });
        expect(await sent(own.run('query', params, q))).toEqual(await local(handlePromApi('query', params, db.querier())));
      };
      await ask('up{instance!="c"}');
      expect(snapshots).toBe(1);
      await ask('up'); // c's key left out: asked again, with every key
      expect(snapshots).toBe(3);
    } finally {
      await own.close();
    }
  });

  it('asks for the next snapshot part while it reads the rows of the last, a data key call between them, with the same answers as this thread', async () => {
    const dir = tempDir();
    storeDirs.push(dir);
    const keys = new TestKeys({ 1: randomBytes(32), 2: randomBytes(32) }, 1);
    const db = openTsdb({ path: dir.file('wide.db'), workspaceId: 'ws-pool2', keys, bucketMs: 3600_000, seriesPerPart: 256 });
    storeDbs.push(db);
    const many = 2_600; // three parts of at most 1,024 series
    const app = db.appender();
    const fill = (from: number, to: number) => {
      for (let i = from; i < to; i++) for (let s = 0; s < many; s++) app.append(0, lbl({ __name__: 'wide', instance: `w-${s}` }), T0 + i * STEP, s + i);
      app.commit();
    };
    fill(0, 300);
    db.compact({ all: true }); // the first hour's rows sealed with key 1,
    keys.current = 2;
    fill(300, 600);
    db.compact({ all: true }); // the later rows and the manifest with key 2: the worker opens the file with key 2
    fill(600, 610); // and asks for key 1 while it reads the first part's rows, the second part asked for
    const q = counted(db);
    let parts = 0;
    const snapshot = q.offThread.snapshot;
    q.offThread.snapshot = (...a) => {
      const cursor = snapshot(...a);
      return { next: () => (parts++, cursor.next()) };
    };
    const fresh = new QueryPool(1, { splitMinSeries: 0 });
    try {
      for (const query of ['sum(wide)', 'count(wide > 1000)', 'wide{instance="w-2599"}']) {
        const params = new URLSearchParams({ query, start: String(T0 / 1000), end: String(T0 / 1000 + 610 * (STEP / 1000)), step: '60' });
        expect(await sent(fresh.run('query_range', params, q))).toEqual(await local(handlePromApi('query_range', params, db.querier())));
      }
    } finally {
      await fresh.close();
    }
    expect(parts).toBeGreaterThanOrEqual(7); // three a query over all of them, one for a single series
    expect(q.keysAsked).toBe(2);
    expect(q.selectsHere).toBe(0);
  });

  it('lists series, label names and label values in parts that the ingest thread answers between its other work, with the same answers as this thread', async () => {
    const dir = tempDir();
    storeDirs.push(dir);
    const db = openTsdb({ path: dir.file('many.db'), workspaceId: 'ws-pool3', keys: new TestKeys(), bucketMs: 3600_000 });
    storeDbs.push(db);
    const many = 10_000; // three parts of at most 4,096 series
    const app = db.appender();
    for (let s = 0; s < many; s++) app.append(0, lbl({ __name__: `m_${s % 7}`, instance: `h-${s}`, ...(s % 3 ? { zone: `z-${s % 5}` } : {}) }), T0 + (s % 2) * 3600_000, s);
    app.commit();
    const q = counted(db);
    // Each part asked for is counted, and whether this thread's event loop turned since the last one.
    let parts = 0;
    let partsAfterATurn = 0;
    let turned = false;
    const listing = q.offThread.listing;
    q.offThread.listing = (...a) => {
      const cursor = listing(...a);
      return {
        next: () => {
          parts++;
          if (turned) partsAfterATurn++;
          turned = false;
          setImmediate(() => (turned = true));
          return cursor.next();
        },
      };
    };
    // With the parts each takes: one for every 4,096 series looked at (the postings' candidates), or values listed.
    const asked: [string, Record<string, string>, number][] = [
      ['series', { 'match[]': '{__name__=~".+"}' }, 3],
      ['series', { 'match[]': 'm_3', start: String(T0 / 1000 + 1800), end: String(T0 / 1000 + 7200) }, 1], // the odd ones only
      ['series', { 'match[]': '{zone="", __name__=~"m_.*"}' }, 3], // zone checked on each series
      ['labels', { 'match[]': '{zone=~"z-[12]"}' }, 3],
      ['labels', {}, 1],
      ['label/zone/values', { 'match[]': 'm_2' }, 1],
      ['label/instance/values', {}, 3],
      ['label/instance/values', { 'match[]': '{__name__=~"m_[0-3]"}' }, 3],
    ];
    for (const [path, params, inParts] of asked) {
      const before = parts;
      const got = await sent(pool.run(path, new URLSearchParams(params), q));
      expect(got).toEqual(await local(handlePromApi(path, new URLSearchParams(params), db.querier())));
      expect((got.body as { data: unknown[] }).data.length).toBeGreaterThan(0);
      expect(parts - before).toBe(inParts);
    }
    expect(q.listedHere).toBe(0);
    expect(partsAfterATurn).toBeGreaterThanOrEqual(asked.length); // this thread's loop turned between parts
  });

  it("shares a large range call's series with the worker's helper thread, with the same answers as this thread", async () => {
    const db = openStore();
    fillStore(db, 0, 1500); // rows for the first buckets, the rest in the head
    db.compact();
    fillStore(db, 1500, 1520);
    const range = { start: String(T0 / 1000 + 600), end: String(T0 / 1000 + 1519 * 15), step: '60' };
    const queries = ['sum by (instance)(rate(load[5m]))', 'topk(3, increase(load[10m]))', 'count_over_time(load[1h] offset 10m)', 'rate(load[1m])'];
    const sharing = new QueryPool(1, { splitMinSeries: 4 }); // 4 series or more: shared
    try {
      // The helper thread starts at the first large call and takes calls once it has loaded.
      for (let i = 0; i < 200 && sharing.split === 0; i++) await sent(sharing.run('query_range', new URLSearchParams({ query: queries[0]!, ...range }), counted(db)));
      expect(sharing.split).toBeGreaterThan(0);
      for (const query of queries) {
        const params = new URLSearchParams({ query, ...range });
        const before = sharing.split;
        const got = await sent(sharing.run('query_range', params, counted(db)));
        expect(sharing.split).toBe(before + 1);
        expect(got).toEqual(await local(handlePromApi('query_range', params, db.querier())));
        expect((got.body as { data: { result: unknown[] } }).data.result.length).toBeGreaterThan(0);
      }
      // Under the thresholds, too few series or too few samples a series (40): not shared.
      const before = sharing.split;
      await sent(sharing.run('query_range', new URLSearchParams({ query: 'rate(load{instance=~"h-[12]"}[5m])', ...range }), counted(db)));
      const short = openStore();
      fillStore(short, 0, 40);
      const all = new URLSearchParams({ query: 'rate(load[1m])', start: String(T0 / 1000), end: String(T0 / 1000 + 39 * 15), step: '15' });
      expect(await sent(sharing.run('query_range', all, counted(short)))).toEqual(await local(handlePromApi('query_range', all, short.querier())));
      expect(sharing.split).toBe(before);
    } finally {
      await sharing.close();
    }
  });

  it('stops the worker query of an HTTP client that goes away, and answers the next one', async () => {
    const db = openStore();
    fillStore(db, 0, 600);
    const limiter = new QueryLimiter();
    // Only the querier and the query gate are used by query endpoints (metadata and exemplars are not asked for).
    const tenant = (() => ({ querier: () => db.querier(), queries: limiter })) as unknown as Parameters<typeof queryHandler>[0];
    const handle = queryHandler(tenant, pool);
    const server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://localhost');
      handle(req, res, 'ws-pool1', url.pathname.replace('/api/v1/', ''), url).catch(() => res.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const before = pool.cancelled;
      // 10 M subquery steps: seconds of work, far more than the wait below.
      const heavy = `/api/v1/query?query=${encodeURIComponent('count_over_time(load[10000s:1ms])')}&time=${T0 / 1000 + 600}`;
      const req = httpGet({ host: '127.0.0.1', port, path: heavy });
      const outcome = new Promise<string>((resolve) => {
        req.on('response', () => resolve('answered'));
        req.on('error', () => resolve('aborted'));
      });
      for (let i = 0; i < 100 && pool.running === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(pool.running).toBe(1);
      req.destroy(); // the client goes away
      expect(await outcome).toBe('aborted');
      for (let i = 0; i < 250 && pool.running > 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(pool.running).toBe(0);
      expect(pool.cancelled).toBe(before + 1);
      const body = await new Promise<string>((resolve, reject) => {
        httpGet({ host: '127.0.0.1', port, path: `/api/v1/query?query=count(load)&time=${T0 / 1000 + 300}` }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d));
          res.on('end', () => resolve(text));
        }).on('error', reject);
      });
      expect(JSON.parse(body)).toMatchObject({ status: 'success', data: { result: [{ value: [T0 / 1000 + 300, String(SERIES)] }] } });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
