// The query pool: the Prometheus API answered on worker threads (from the TypeScript source, through
// tsx) exactly as on this thread, a client that goes away stops its query (queued or running),
// and the pool keeps answering afterwards.
import { afterAll, describe, expect, it } from 'vitest';
import { isMainThread } from 'node:worker_threads';
import { handlePromApi, withQuerySlot } from '../../../main/query/api';
import { QueryLimiter } from '../../../main/query/limits';
import { QueryPool, QueryPoolError } from '../../../main/http/query-pool';
import type { Matcher, Querier, SeriesData } from '../../../main/tsdb/types';
import { labelsFromRecord } from '../../../shared/labels';

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
      const inWorker = await pool.run(path, new URLSearchParams(params), q);
      expect(inWorker).toEqual(await handlePromApi(path, new URLSearchParams(params), store()));
      if (path.startsWith('query') && params.query !== 'sum(') expect(q.threads.length).toBeGreaterThan(0);
      expect(q.threads.every((t) => t)).toBe(true); // the store is read on the ingest thread only
    }
  });

  it('drops a queued query whose client went away, and ends a running one, then keeps answering', async () => {
    // 10 M subquery steps: far longer than the 100 ms before the client goes away.
    const heavy = new URLSearchParams({ query: 'count_over_time(req_total[10000s:1ms])', time: String(T0 / 1000 + 600) });
    const running = new AbortController();
    const queued = new AbortController();
    const first = pool.run('query', heavy, store(), running.signal);
    const second = pool.run('query', heavy, store(), queued.signal);
    queued.abort();
    await expect(second).rejects.toMatchObject({ reason: 'aborted' });
    await new Promise((r) => setTimeout(r, 100));
    running.abort();
    await expect(first).rejects.toBeInstanceOf(QueryPoolError);
    await expect(first).rejects.toMatchObject({ reason: 'aborted' });
    const after = await pool.run('query', new URLSearchParams({ query: 'count(req_total)', time: String(T0 / 1000 + 300) }), store());
    expect(after.body).toMatchObject({ status: 'success', data: { result: [{ value: [T0 / 1000 + 300, '3'] }] } });
  });

  it('refuses work once closed', async () => {
    const closing = new QueryPool(1);
    await closing.close();
    await expect(closing.run('labels', new URLSearchParams(), store())).rejects.toMatchObject({ reason: 'closed' });
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
