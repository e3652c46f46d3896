// The Prometheus HTTP API over the real encrypted store: the requests Grafana sends, and errors.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../../../shared/labels';
import { createCipher } from '../../../main/crypto/cipher';
import { openTsdb, type Tsdb } from '../../../main/tsdb';
import { handlePromApi } from '../../../main/query/api';

let dir: string;
let db: Tsdb;
const T0 = 1_700_000_000_000;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ampule-query-api-'));
  const cipher = createCipher(randomBytes(32));
  db = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'ws-api', keys: { current: 1, get: () => cipher } });
  const app = db.appender();
  for (const [job, inst] of [['api', 'a'], ['api', 'b'], ['db', 'c']] as const) {
    const labels = labelsFromRecord({ __name__: 'http_requests_total', job, instance: inst });
    let ref = 0;
    for (let i = 0; i <= 60; i++) ref = app.append(ref, labels, T0 + i * 15_000, i * 10);
  }
  app.commit();
});

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const api = (path: string, params: Record<string, string | string[]> = {}) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
  return handlePromApi(path, p, db.querier(), { now: () => T0 + 15 * 60_000 });
};

describe('Prometheus HTTP API', () => {
  it('status/buildinfo', async () => {
    const r = await api('status/buildinfo');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'success', data: { version: expect.stringMatching(/^\d+\.\d+\.\d+/) } });
  });

  it('labels and label values', async () => {
    expect((await api('labels')).body).toEqual({ status: 'success', data: ['__name__', 'instance', 'job'] });
    expect((await api('label/job/values')).body).toEqual({ status: 'success', data: ['api', 'db'] });
    expect((await api('label/instance/values', { 'match[]': '{job="db"}' })).body).toEqual({ status: 'success', data: ['c'] });
    expect((await api('label/__name__/values')).body).toEqual({ status: 'success', data: ['http_requests_total'] });
    expect((await api('label/job/values', { limit: '1' })).body).toEqual({ status: 'success', data: ['api'], warnings: ['results truncated due to limit'] });
    // Several selectors: the union of their answers, each value once, sorted.
    const both = { 'match[]': ['{instance=~"b|c"}', '{job="api"}'] };
    expect((await api('label/instance/values', both)).body).toEqual({ status: 'success', data: ['a', 'b', 'c'] });
    expect((await api('label/job/values', both)).body).toEqual({ status: 'success', data: ['api', 'db'] });
    expect((await api('labels', { 'match[]': ['{job="db"}', '{instance="a"}'] })).body).toEqual({ status: 'success', data: ['__name__', 'instance', 'job'] });
  });

  it('series with match[]', async () => {
    const r = await api('series', { 'match[]': 'http_requests_total{job="api"}', start: String(T0 / 1000), end: String(T0 / 1000 + 900) });
    expect(r.status).toBe(200);
    const data = (r.body as { data: Record<string, string>[] }).data;
    expect(data.map((d) => d['instance']).sort()).toEqual(['a', 'b']);
    expect(data[0]).toMatchObject({ __name__: 'http_requests_total', job: 'api' });
    expect((await api('series')).body).toEqual({ status: 'error', errorType: 'bad_data', error: 'no match[] parameter provided' });
  });

  it('instant query 1+1', async () => {
    const r = await api('query', { query: '1+1', time: '1700000000.5' });
    expect(r).toEqual({ status: 200, body: { status: 'success', data: { resultType: 'scalar', result: [1700000000.5, '2'] } } });
  });

  it('instant vector query with RFC3339 time', async () => {
    const r = await api('query', { query: 'sum by (job) (rate(http_requests_total[5m]))', time: new Date(T0 + 600_000).toISOString() });
    expect(r.status).toBe(200);
    const body = r.body as { data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }; infos?: string[] };
    expect(body.data.resultType).toBe('vector');
    const byJob = Object.fromEntries(body.data.result.map((s) => [s.metric['job'], s.value]));
    expect(byJob['api']).toEqual([(T0 + 600_000) / 1000, String(2 * (10 / 15))]);
    expect(Number(byJob['db']![1])).toBeCloseTo(10 / 15, 9);
  });

  it('range query with step', async () => {
    const r = await api('query_range', { query: 'http_requests_total{instance="a"}', start: String(T0 / 1000), end: String(T0 / 1000 + 60), step: '30s' });
    expect(r.body).toEqual({
      status: 'success',
      data: {
        resultType: 'matrix',
        result: [{ metric: { __name__: 'http_requests_total', instance: 'a', job: 'api' }, values: [[T0 / 1000, '0'], [T0 / 1000 + 30, '20'], [T0 / 1000 + 60, '40']] }],
      },
    });
    const f = await api('query_range', { query: 'vector(1)', start: '0', end: '60', step: '15' });
    expect((f.body as { data: { result: { values: unknown[] }[] } }).data.result[0]!.values).toHaveLength(5);
  });

  it('rejects bad times and steps', async () => {
    expect((await api('query_range', { query: 'up', start: 'yesterday', end: '10', step: '1' })).body).toEqual({
      status: 'error', errorType: 'bad_data', error: 'invalid parameter "start": cannot parse "yesterday" to a valid timestamp',
    });
    expect((await api('query_range', { query: 'up', start: '100', end: '10', step: '1' })).body).toMatchObject({ errorType: 'bad_data', error: expect.stringContaining('end timestamp must not be before start time') });
    expect((await api('query_range', { query: 'up', start: '0', end: '10', step: 'often' })).body).toEqual({
      status: 'error', errorType: 'bad_data', error: 'invalid parameter "step": cannot parse "often" to a valid duration',
    });
    expect((await api('query_range', { query: 'up', start: '0', end: '10', step: '0' })).status).toBe(400);
    expect((await api('query', { query: 'up', time: '12:00' })).status).toBe(400);
  });

  it('rejects too many points', async () => {
    const r = await api('query_range', { query: 'up', start: '0', end: '11001', step: '1' });
    expect(r).toEqual({
      status: 400,
      body: { status: 'error', errorType: 'bad_data', error: 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)' },
    });
  });

  it('reports PromQL errors as bad_data with the parser message', async () => {
    const r = await api('query', { query: 'rate(http_requests_total)' });
    expect(r).toEqual({
      status: 400,
      body: { status: 'error', errorType: 'bad_data', error: 'invalid parameter "query": 1:6: parse error: expected type range vector in call to function "rate", got instant vector' },
    });
    const s = await api('query', { query: 'sum(' });
    expect(s.status).toBe(400);
    expect((s.body as { error: string }).error).toMatch(/^invalid parameter "query": 1:\d+: parse error: /);
  });

  it('rejects hostile nesting without crashing', async () => {
    const r = await api('query', { query: '('.repeat(50_000) + '1' + ')'.repeat(50_000) });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ status: 'error', errorType: 'bad_data' });
  });

  it('reports execution errors with status 422', async () => {
    const r = await api('query', { query: 'http_requests_total + on() http_requests_total' });
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ status: 'error', errorType: 'execution', error: expect.stringContaining('many-to-many matching not allowed') });
  });

  it('limits the samples a query may load', async () => {
    const p = new URLSearchParams({ query: 'sum(count_over_time(http_requests_total[10m]))', time: String(T0 / 1000 + 900) });
    const r = await handlePromApi('query', p, db.querier(), { maxSamples: 50 });
    expect(r).toEqual({
      status: 422,
      body: { status: 'error', errorType: 'execution', error: 'query processing would load too many samples into memory in query execution' },
    });
    expect((await handlePromApi('query', p, db.querier(), { maxSamples: 500 })).status).toBe(200);
  });

  it('times out', async () => {
    const r = await handlePromApi('query_range', new URLSearchParams({ query: 'sum(rate(http_requests_total[5m:1s]))', start: String(T0 / 1000), end: String(T0 / 1000 + 86_400), step: '10' }), db.querier(), { timeoutMs: 1 });
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ errorType: 'timeout' });
  });

  it('format_query, metadata, exemplars, unknown endpoints', async () => {
    expect((await api('format_query', { query: 'sum(rate(x[5m]))by(job)' })).body).toEqual({ status: 'success', data: 'sum by (job) (rate(x[5m]))' });
    expect((await api('metadata')).body).toEqual({ status: 'success', data: {} });
    expect((await api('query_exemplars', { query: 'up' })).body).toEqual({ status: 'success', data: [] });
    expect((await api('nope')).status).toBe(404);
  });
});
