// Query limits as Prometheus has them, over a real encrypted store: the samples limit (422, its
// exact text), the timeout checked inside select and evaluation (503), and the per-workspace
// concurrency gate. The case from issue 14 — `count_over_time(x[30d:1s])` as one instant query
// over 1,000 series — ends with the samples-limit error instead of taking the process down.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCipher } from '../../../main/crypto/cipher';
import { type PromApiOptions, handlePromApi } from '../../../main/query/api';
import { QueryLimiter } from '../../../main/query/limits';
import { openTsdb, type Tsdb } from '../../../main/tsdb';
import { labelsFromRecord } from '../../../shared/labels';

const SERIES = 1000;
const MINUTES = 24 * 60;
const T0 = 1_700_000_000_000;
const END = T0 + (MINUTES - 1) * 60_000;
const TOO_MANY = 'query processing would load too many samples into memory in query execution';

let dir: string;
let db: Tsdb;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ampule-query-limits-'));
  const cipher = createCipher(randomBytes(32));
  db = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'ws-limits', keys: { current: 1, get: () => cipher } });
  const app = db.appender();
  const refs = new Array<number>(SERIES).fill(0);
  const labels = refs.map((_, i) => labelsFromRecord({ __name__: 'qm_requests_total', job: `job-${i % 10}`, instance: `i-${i}` }));
  // 24 h at 60 s, written minute by minute as a scraper would.
  for (let m = 0; m < MINUTES; m++) {
    for (let i = 0; i < SERIES; i++) refs[i] = app.append(refs[i]!, labels[i]!, T0 + m * 60_000, m * (i + 1));
    if (m % 60 === 59) app.commit();
  }
  app.commit();
}, 120_000);

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const api = (path: string, params: Record<string, string>, opts: PromApiOptions = {}) =>
  handlePromApi(path, new URLSearchParams(params), db.querier(), { now: () => END, ...opts });
const body = (r: { body: object }) => r.body as { status: string; errorType?: string; error?: string; data?: { result: unknown[] } };

describe('samples limit', () => {
  it('ends count_over_time(x[30d:1s]) over 1,000 series with 422 and Prometheus\'s text, at a low limit', async () => {
    const r = await api('query', { query: 'count_over_time(qm_requests_total[30d:1s])', time: String(END / 1000) }, { maxSamples: 1_000_000 });
    expect(r.status).toBe(422);
    expect(body(r)).toEqual({ status: 'error', errorType: 'execution', error: TOO_MANY });
  });

  it('ends it at the default limit (50 M) before memory grows with the 30-day range', async () => {
    const before = process.resourceUsage().maxRSS;
    const rssBefore = process.memoryUsage().rss;
    const r = await api('query', { query: 'count_over_time(qm_requests_total[30d:1s])', time: String(END / 1000) });
    expect(r.status).toBe(422);
    expect(body(r).error).toBe(TOO_MANY);
    // A figure for the report, not a timed assertion: how far the peak RSS moved.
    console.log(`default-limit subquery: peak RSS grew by ${((process.resourceUsage().maxRSS - before) / 1024).toFixed(0)} MiB (rss before ${(rssBefore / 2 ** 20).toFixed(0)} MiB)`);
  });

  it('counts the general subquery path as its result grows', async () => {
    const r = await api('query', { query: 'count_over_time((qm_requests_total * 2)[2h:1s])', time: String(END / 1000) }, { maxSamples: 500_000 });
    expect(r.status).toBe(422);
    expect(body(r).error).toBe(TOO_MANY);
  });

  it('still answers the same subquery when it fits', async () => {
    const r = await api('query', { query: 'sum(count_over_time(qm_requests_total[1h:1m]))', time: String(END / 1000) });
    expect(r.status).toBe(200);
    expect(body(r).data!.result).toEqual([{ metric: {}, value: [END / 1000, String(SERIES * 60)] }]);
    const general = await api('query', { query: 'sum(count_over_time((qm_requests_total * 2)[1h:1m]))', time: String(END / 1000) });
    expect(body(general).data!.result).toEqual([{ metric: {}, value: [END / 1000, String(SERIES * 60)] }]);
  });

  it('limits range queries over their steps', async () => {
    const r = await api('query_range', { query: 'qm_requests_total', start: String(T0 / 1000), end: String(END / 1000), step: '60' }, { maxSamples: 100_000 });
    expect(r.status).toBe(422);
    expect(body(r).error).toBe(TOO_MANY);
  });
});

describe('timeout', () => {
  it('fires inside select on a large read', async () => {
    const r = await api('query', { query: 'count_over_time(qm_requests_total[1d])', time: String(END / 1000), timeout: '0.001' });
    expect(r.status).toBe(503);
    expect(body(r)).toMatchObject({ status: 'error', errorType: 'timeout' });
    expect(body(r).error).toMatch(/^query timed out in (query preparation|expression evaluation)$/);
  });

  it('fires during subquery evaluation, long before the query would finish', async () => {
    const r = await api('query', { query: 'count_over_time((qm_requests_total * 2)[30d:1s])', time: String(END / 1000), timeout: '1s' });
    expect(r.status).toBe(503);
    expect(body(r).error).toBe('query timed out in expression evaluation');
  });

  it('leaves the engine usable afterwards', async () => {
    const r = await api('query', { query: 'count(qm_requests_total)', time: String(END / 1000) });
    expect(body(r).data!.result).toEqual([{ metric: {}, value: [END / 1000, String(SERIES)] }]);
  });
});

describe('concurrency per workspace', () => {
  it('queues queries past the limit, in order, and times out one that waits too long', async () => {
    const limiter = new QueryLimiter(2);
    expect(await limiter.acquire(1000)).toBe(true);
    expect(await limiter.acquire(1000)).toBe(true);
    // Both slots taken: this query waits, then gives up with Prometheus's queue timeout.
    const r = await api('query', { query: 'count(qm_requests_total)' }, { limiter, timeoutMs: 100 });
    expect(r.status).toBe(503);
    expect(body(r)).toEqual({ status: 'error', errorType: 'timeout', error: 'query timed out in query queue' });
    expect(limiter.load).toEqual({ running: 2, queued: 0 });
    // A queued query runs as soon as a slot frees.
    const waiting = api('query', { query: 'count(qm_requests_total)' }, { limiter, timeoutMs: 10_000 });
    expect(limiter.load.queued).toBe(1);
    limiter.release();
    expect((await waiting).status).toBe(200);
    limiter.release();
    expect(limiter.load).toEqual({ running: 0, queued: 0 });
  });

  it('does not gate metadata endpoints', async () => {
    const limiter = new QueryLimiter(1);
    await limiter.acquire(1000);
    const r = await api('labels', {}, { limiter, timeoutMs: 50 });
    expect(r.status).toBe(200);
  });
});
