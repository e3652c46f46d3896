// Remote write end to end over TLS into a real workspace store: 204 with the written-count headers,
// partial 400, 415, 429 with Retry-After, size limits while streaming, garbage bodies, the
// Mimir-style /api/v1/write path, and reading the data back through the query API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { bearer, keychainSkipNote, noKeychainReason, send, startHarness, type Harness } from './harness';
import { encodeV1, snappy, V1_TYPE, type SeriesInput } from '../ingest/encode';

const RW_HEADERS = { 'Content-Type': V1_TYPE, 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' };

function series(job: string, n: number, t0: number): SeriesInput[] {
  return Array.from({ length: n }, (_, i) => ({
    labels: [
      ['__name__', 'http_test_metric'],
      ['instance', `host-${i}`],
      ['job', job],
    ] as [string, string][],
    samples: [
      { t: t0, v: i },
      { t: t0 + 1000, v: i + 0.5 },
    ],
  }));
}

describe.skipIf(noKeychainReason)(`remote write over HTTPS${keychainSkipNote}`, () => {
  let h: Harness;
  let writer: string;
  let reader: string;
  beforeAll(async () => {
    h = await startHarness();
    writer = h.token(h.wsA, ['remote_write']);
    reader = h.token(h.wsA, ['query']);
  });
  afterAll(async () => h?.close());
  const path = () => `/workspaces/${h.wsA}/api/v1/remote_write`;

  const T0 = Date.now() - 60_000;

  it('stores a request and answers 204 with the written-count headers', async () => {
    const t0 = T0;
    const r = await send(h, { method: 'POST', path: path(), headers: { ...RW_HEADERS, ...bearer(writer) }, body: snappy(encodeV1(series('alpha-job', 3, t0))) });
    expect(r.status).toBe(204);
    expect(r.headers['x-prometheus-remote-write-samples-written']).toBe('6');
    expect(r.headers['x-prometheus-remote-write-histograms-written']).toBe('0');
    expect(r.headers['x-prometheus-remote-write-exemplars-written']).toBe('0');
    const q = await send(h, { path: `/workspaces/${h.wsA}/api/v1/series?match[]=${encodeURIComponent('{job="alpha-job"}')}`, headers: bearer(reader) });
    expect(q.status).toBe(200);
    const data = q.json().data as Record<string, string>[];
    expect(data.map((s) => s.instance).sort()).toEqual(['host-0', 'host-1', 'host-2']);
    // The writer token cannot read, and workspace B sees nothing of A.
    expect((await send(h, { path: `/workspaces/${h.wsA}/api/v1/labels`, headers: bearer(writer) })).status).toBe(403);
    const b = await send(h, { path: `/workspaces/${h.wsB}/api/v1/label/job/values`, headers: bearer(h.token(h.wsB, ['query'])) });
    expect(b.status).toBe(200);
    expect(b.json().data).toEqual([]);
  });

  it('refuses a sample at timestamp 0 with 400 naming the retention, storing the valid samples of the same request', async () => {
    const body = snappy(encodeV1([
      { labels: [['__name__', 'bounds_metric'], ['job', 'epoch']], samples: [{ t: 0, v: 1 }] },
      { labels: [['__name__', 'bounds_metric'], ['job', 'future']], samples: [{ t: Date.now() + 3_600_000, v: 1 }] },
      ...series('bounds-job', 2, T0),
    ]));
    const r = await send(h, { method: 'POST', path: path(), headers: { ...RW_HEADERS, ...bearer(writer) }, body });
    expect(r.status).toBe(400);
    expect(r.headers['x-prometheus-remote-write-samples-written']).toBe('4');
    expect(r.json().error).toContain('too old: sample at 1970-01-01T00:00:00.000Z is older than the retention of 150d');
    expect(r.json().error).toContain('too far in the future');
    const q = await send(h, { path: `/workspaces/${h.wsA}/api/v1/series?match[]=${encodeURIComponent('{__name__=~"bounds_metric|http_test_metric",job=~"epoch|future|bounds-job"}')}&start=0`, headers: bearer(reader) });
    expect((q.json().data as Record<string, string>[]).map((s) => s.job)).toEqual(['bounds-job', 'bounds-job']);
  });

  it('refuses a declared body over the workspace limit with 413 naming maxBodyBytes', async () => {
    h.appliance.control.setLimits(h.wsB, { maxBodyBytes: 2048 });
    const w = h.token(h.wsB, ['remote_write']);
    const r = await send(h, { method: 'POST', path: `/workspaces/${h.wsB}/api/v1/remote_write`, headers: { ...RW_HEADERS, ...bearer(w) }, body: randomBytes(4096) });
    expect(r.status).toBe(413);
    expect(r.json().error).toContain('request body exceeds the limit maxBodyBytes=2048 bytes');
  });

  it('answers PromQL queries by GET and by POST form, in Prometheus JSON', async () => {
    const t = Math.ceil((T0 + 1000) / 1000); // at or after the second sample of each series
    const q = `sum(http_test_metric{job="alpha-job"})`;
    const get = await send(h, { path: `/workspaces/${h.wsA}/api/v1/query?query=${encodeURIComponent(q)}&time=${t}`, headers: bearer(reader) });
    expect(get.status).toBe(200);
    const post = await send(h, {
      method: 'POST',
      path: `/workspaces/${h.wsA}/api/v1/query`,
      headers: { ...bearer(reader), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: q, time: String(t) }).toString(),
    });
    expect(post.status).toBe(200);
    expect(post.json()).toEqual(get.json());
    expect(post.json()).toMatchObject({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [t, '4.5'] }] } });
    const bad = await send(h, { method: 'POST', path: `/workspaces/${h.wsA}/api/v1/query`, headers: { ...bearer(reader), 'Content-Type': 'application/json' }, body: '{"query":"up"}' });
    expect(bad.status).toBe(415);
    const syntax = await send(h, { path: `/workspaces/${h.wsA}/api/v1/query?query=${encodeURIComponent('sum(')}`, headers: bearer(reader) });
    expect(syntax.status).toBe(400);
    expect(syntax.json()).toMatchObject({ status: 'error', errorType: 'bad_data' });
  });

  it('accepts /api/v1/write with the workspace from the token (and a matching X-Scope-OrgID), and basic auth', async () => {
    const t0 = Date.now() - 50_000;
    const r = await send(h, { method: 'POST', path: '/api/v1/write', headers: { ...RW_HEADERS, ...bearer(writer), 'X-Scope-OrgID': h.wsA }, body: snappy(encodeV1(series('shared-path', 1, t0))) });
    expect(r.status).toBe(204);
    const basic = { Authorization: 'Basic ' + Buffer.from(`${h.wsA}:${writer}`).toString('base64') };
    const r2 = await send(h, { method: 'POST', path: path(), headers: { ...RW_HEADERS, ...basic }, body: snappy(encodeV1(series('basic-auth', 1, t0))) });
    expect(r2.status).toBe(204);
    const q = await send(h, { path: `/api/v1/label/job/values`, headers: bearer(reader) });
    expect(q.json().data).toEqual(expect.arrayContaining(['shared-path', 'basic-auth']));
  });

  it('answers 400 for a partly invalid request, keeping the valid part and saying so in the headers', async () => {
    const t0 = Date.now() - 40_000;
    const good = series('partial', 2, t0);
    const bad: SeriesInput = { labels: [['__name__', 'bad metric name!'], ['job', 'partial']], samples: [{ t: t0, v: 1 }] };
    const r = await send(h, { method: 'POST', path: path(), headers: { ...RW_HEADERS, ...bearer(writer) }, body: snappy(encodeV1([...good, bad])) });
    expect(r.status).toBe(400);
    expect(r.headers['x-prometheus-remote-write-samples-written']).toBe('4');
    expect(r.json()).toMatchObject({ status: 'error', errorType: 'bad_data' });
  });

  it('answers 415 to an unsupported content type', async () => {
    const r = await send(h, { method: 'POST', path: path(), headers: { ...bearer(writer), 'Content-Type': 'application/json' }, body: '{}' });
    expect(r.status).toBe(415);
    expect(r.json().error).toMatch(/x-protobuf/);
  });

  it('answers 4xx (never 5xx) to garbage bodies and keeps serving', async () => {
    for (const body of [randomBytes(2000), snappy(randomBytes(2000)), Buffer.from('\xff\xff\xff\xff\x0f', 'latin1'), snappy(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))]) {
      const r = await send(h, { method: 'POST', path: path(), headers: { ...RW_HEADERS, ...bearer(writer) }, body });
      // 413 when the garbage's snappy header claims a huge decompressed size.
      expect([400, 413]).toContain(r.status);
      expect(r.json().status).toBe('error');
    }
    const ok = await send(h, { method: 'POST', path: path(), headers: { ...RW_HEADERS, ...bearer(writer) }, body: snappy(encodeV1(series('after-garbage', 1, Date.now() - 30_000))) });
    expect(ok.status).toBe(204);
  });

  it('answers Expect: 100-continue only after authentication', async () => {
    const body = snappy(encodeV1(series('expect-continue', 1, Date.now() - 15_000)));
    const attempt = (headers: Record<string, string>) =>
      new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
        let continued = false;
        const req = httpsRequest(
          { host: 'localhost', port: h.server.port, method: 'POST', path: path(), headers: { ...RW_HEADERS, ...headers, Expect: '100-continue', 'Content-Length': String(body.length) }, ca: h.caPem, agent: false },
          (res) => {
            res.resume();
            resolve({ status: res.statusCode!, continued });
          },
        );
        req.on('continue', () => {
          continued = true;
          req.end(body);
        });
        req.on('error', reject);
        req.flushHeaders();
      });
    expect(await attempt({})).toEqual({ status: 401, continued: false });
    expect(await attempt(bearer(writer))).toEqual({ status: 204, continued: true });
  });

  it('cuts off a chunked body that grows past the workspace limit with 413', async () => {
    h.appliance.control.setLimits(h.wsB, { maxBodyBytes: 64 * 1024 });
    const w = h.token(h.wsB, ['remote_write']);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        { host: 'localhost', port: h.server.port, method: 'POST', path: `/workspaces/${h.wsB}/api/v1/remote_write`, headers: { ...RW_HEADERS, ...bearer(w) }, ca: h.caPem, agent: false },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      // No Content-Length: chunked, 16 KiB at a time, far more than the limit.
      let sent = 0;
      const pump = () => {
        while (sent < 4 * 1024 * 1024) {
          sent += 16 * 1024;
          if (!req.write(randomBytes(16 * 1024))) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(status).toBe(413);
  });

  it('deletes series through the admin API with an admin-scoped token only', async () => {
    const t0 = Date.now() - 10_000;
    const body = snappy(encodeV1(series('to-delete', 2, t0)));
    expect((await send(h, { method: 'POST', path: path(), headers: { ...RW_HEADERS, ...bearer(writer) }, body })).status).toBe(204);
    const del = (token: string) =>
      send(h, {
        method: 'POST',
        path: `/workspaces/${h.wsA}/api/v1/admin/tsdb/delete_series`,
        headers: { ...bearer(token), 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `match[]=${encodeURIComponent('{job="to-delete"}')}`,
      });
    expect((await del(reader)).status).toBe(403);
    const bad = await send(h, { method: 'POST', path: `/workspaces/${h.wsA}/api/v1/admin/tsdb/delete_series`, headers: bearer(h.token(h.wsA, ['admin'])) });
    expect(bad.status).toBe(400);
    const ok = await del(h.token(h.wsA, ['admin']));
    expect(ok.status).toBe(204);
    const q = await send(h, { path: `/workspaces/${h.wsA}/api/v1/series?match[]=${encodeURIComponent('{job="to-delete"}')}`, headers: bearer(reader) });
    expect(q.json().data).toEqual([]);
  });

  it('answers 429 with Retry-After when the ingestion rate is exceeded', async () => {
    h.appliance.control.setLimits(h.wsB, { ingestionRate: 1, ingestionBurst: 10 });
    const w = h.token(h.wsB, ['remote_write']);
    const t0 = Date.now() - 20_000;
    const first = await send(h, { method: 'POST', path: `/workspaces/${h.wsB}/api/v1/remote_write`, headers: { ...RW_HEADERS, ...bearer(w) }, body: snappy(encodeV1(series('rate', 4, t0))) });
    expect(first.status).toBe(204);
    const second = await send(h, { method: 'POST', path: `/workspaces/${h.wsB}/api/v1/remote_write`, headers: { ...RW_HEADERS, ...bearer(w) }, body: snappy(encodeV1(series('rate', 4, t0 + 5000))) });
    expect(second.status).toBe(429);
    expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(second.json().errorType).toBe('too_many_requests');
  });
});
