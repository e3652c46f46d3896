// Query counters in Ampule's own /metrics, on a real host (keychain, TLS listener): instant and range
// queries served through the HTTP API are counted per workspace and type, failures (bad input) apart,
// durations in a histogram. The exposition is checked by promtool and scraped by a real Prometheus
// 2.42 (TLS, the workspace's admin token), whose copy of the counters must agree.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUERY_DURATION_BUCKETS, QueryMetrics, queryTypeOf } from '../../../main/http/query-metrics';
import { bearer, keychainSkipNote, noKeychainReason, send, startHarness, type Harness } from './harness';
import { HAVE_PROMETHEUS, instantQuery, startPrometheus, type RealReceiver } from '../forward/real-receivers';
import { makeTls, type TlsFixture } from '../forward/tls-fixture';

/** Samples of one family from the text format, as labels-text → value. */
function family(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name) out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}

describe('query metrics', () => {
  it('knows which endpoints are queries', () => {
    expect([queryTypeOf('query'), queryTypeOf('/query_range/'), queryTypeOf('series'), queryTypeOf('label/job/values')]).toEqual(['instant', 'range', null, null]);
  });

  it('puts each duration in the first bucket whose bound holds it', () => {
    const m = new QueryMetrics();
    m.observe('ws', 'instant', 0.005, true); // on a bound: that bucket (le is inclusive)
    m.observe('ws', 'instant', 0.0051, false);
    m.observe('ws', 'instant', 1000, true); // above every bound
    const c = m.of('ws').get('instant')!;
    expect(c.served).toBe(3);
    expect(c.failed).toBe(1);
    expect(c.buckets[0]).toBe(1);
    expect(c.buckets[1]).toBe(1);
    expect(c.buckets[QUERY_DURATION_BUCKETS.length]).toBe(1);
    expect(m.of('ws').get('range')!.served).toBe(0);
    expect(m.of('other').get('instant')!.served).toBe(0);
  });
});

describe.skipIf(noKeychainReason !== null)(`query counters through /metrics${keychainSkipNote}`, () => {
  let h: Harness;
  let tls: TlsFixture | undefined;
  let prom: RealReceiver | undefined;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await prom?.stop();
    tls?.cleanup();
    await h?.close();
  });

  it('counts instant and range queries and failures per workspace, scraped over HTTPS', async () => {
    const a = h.appliance.store(h.wsA).appender();
    const now = Date.now();
    for (let i = 0; i < 10; i++) a.append(0, [{ name: '__name__', value: 'up' }], now - (9 - i) * 15_000, 1);
    a.commit();
    const q = h.token(h.wsA, ['query']);
    const t = Math.floor(now / 1000);
    const ask = async (path: string, want: number) => expect((await send(h, { path: `/workspaces/${h.wsA}/api/v1/${path}`, headers: bearer(q) })).status).toBe(want);
    for (let i = 0; i < 3; i++) await ask(`query?query=sum(up)&time=${t}`, 200);
    await ask('query?query=sum(up', 400); // a parse error: a failure
    await ask(`query_range?query=up&start=${t - 120}&end=${t}&step=15`, 200);
    await ask(`query_range?query=up&start=${t}&end=${t - 120}&step=15`, 400); // end before start
    await ask('series?match[]=up', 200); // not a query: not counted
    // Another workspace's queries stay its own.
    await send(h, { path: `/workspaces/${h.wsB}/api/v1/query?query=1`, headers: bearer(h.token(h.wsB, ['query'])) });

    const admin = h.token(h.wsA, ['admin']);
    const r = await send(h, { path: '/metrics', headers: bearer(admin) });
    expect(r.status).toBe(200);
    const ws = `workspace="${h.wsA}"`;
    expect(family(r.text, 'ampule_queries_total')).toEqual(new Map([[`{${ws},type="instant"}`, 4], [`{${ws},type="range"}`, 2]]));
    expect(family(r.text, 'ampule_query_failures_total')).toEqual(new Map([[`{${ws},type="instant"}`, 1], [`{${ws},type="range"}`, 1]]));
    expect(family(r.text, 'ampule_query_duration_seconds_count')).toEqual(new Map([[`{${ws},type="instant"}`, 4], [`{${ws},type="range"}`, 2]]));
    expect(family(r.text, 'ampule_query_duration_seconds_bucket').get(`{${ws},type="instant",le="+Inf"}`)).toBe(4);
    const sum = family(r.text, 'ampule_query_duration_seconds_sum').get(`{${ws},type="instant"}`)!;
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(60);
    expect(r.text).toContain('# TYPE ampule_query_duration_seconds histogram');
    expect(r.text).not.toContain(h.wsB);
    if (existsSync('/usr/bin/promtool')) execFileSync('/usr/bin/promtool', ['check', 'metrics'], { input: r.text });
    else console.log('promtool missing: exposition format not checked by promtool');

    if (!HAVE_PROMETHEUS) return void console.log('prometheus missing: the scrape by a real Prometheus is not checked');
    tls = await makeTls();
    writeFileSync(join(tls.dir, 'ampule-ca.pem'), h.caPem);
    writeFileSync(join(tls.dir, 'ampule-token'), admin, { mode: 0o600 });
    const scrape = () =>
      `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: ampule\n    scheme: https\n    metrics_path: /metrics\n` +
      `    tls_config: { ca_file: ${join(tls!.dir, 'ampule-ca.pem')}, server_name: localhost }\n    authorization: { credentials_file: ${join(tls!.dir, 'ampule-token')} }\n` +
      `    static_configs: [ { targets: ['localhost:${h.server.port}'] } ]\n`;
    prom = await startPrometheus(tls, 'prom-scraper', scrape);
    const deadline = Date.now() + 30_000;
    let got = new Map<string, string>();
    while (Date.now() < deadline) {
      got = await instantQuery(prom, tls.caPem, 'ampule_queries_total', Date.now() / 1000);
      if (got.size > 0) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    const inst = `instance=localhost:${h.server.port},job=ampule`;
    expect(got).toEqual(new Map([
      [`__name__=ampule_queries_total,${inst},type=instant,workspace=${h.wsA}`, '4'],
      [`__name__=ampule_queries_total,${inst},type=range,workspace=${h.wsA}`, '2'],
    ]));
    const up = await instantQuery(prom, tls.caPem, 'up{job="ampule"}', Date.now() / 1000);
    expect([...up.values()]).toEqual(['1']);
  }, 90_000);
});
