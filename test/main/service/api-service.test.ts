// The contract implemented over a real appliance (real keychain, real encrypted stores).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AmpuleApi, SelfTestProgress } from '../../../shared/api';
import { ApiError } from '../../../shared/api';
import { labelsFromRecord } from '../../../shared/labels';
import { openAppliance } from '../../../main/core/open-appliance';
import type { Appliance } from '../../../main/core/appliance';
import { createServiceRuntime, type ServiceRuntime } from '../../../main/service/runtime';
import { consoleStatus } from '../../../main/console/credentials';
import { QueryPool, QueryPoolError } from '../../../main/http/query-pool';
import { controlDatabase } from '../../../main/retention/key-lifecycle';
import { encodeV1, snappy, V1_TYPE } from '../ingest/encode';
import { noKeychainReason, removeService, uniqueService } from '../crypto/keychain-env';

if (noKeychainReason) console.log(`service tests skipped: ${noKeychainReason}`);

async function until(f: () => Promise<SelfTestProgress>): Promise<SelfTestProgress> {
  for (let i = 0; i < 1500; i++) {
    const p = await f();
    if (p.state !== 'running') return p;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('self-test did not finish');
}

describe.skipIf(noKeychainReason !== null)('createApiService', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ampule-service-'));
  const service = uniqueService();
  let appliance: Appliance;
  let runtime: ServiceRuntime;
  let api: AmpuleApi;

  beforeAll(async () => {
    appliance = await openAppliance({ dataDir, keychainService: service });
    runtime = createServiceRuntime(appliance, { consoleStatus: () => consoleStatus(appliance.dataDir) });
    api = runtime.api('test-actor', () => 'https://localhost:9443');
  });

  afterAll(() => {
    runtime?.close();
    appliance?.close();
    removeService(service);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('manages workspaces and records who acted', async () => {
    const w = await api.createWorkspace({ alias: 'payments', tags: { team: 'core', env: 'prod' } });
    expect(w).toMatchObject({ alias: 'payments', status: 'ACTIVE', activeSeries: 0, samplesPerSecond: 0 });
    expect((await api.listWorkspaces()).map((x) => x.workspaceId)).toContain(w.workspaceId);
    expect((await api.renameWorkspace(w.workspaceId, 'payments-eu')).alias).toBe('payments-eu');
    expect((await api.setWorkspaceTags(w.workspaceId, { team: 'platform' })).tags).toEqual({ team: 'platform' });
    const log = await api.listActivity({ workspaceId: w.workspaceId });
    expect(log.entries.map((e) => e.action)).toEqual(expect.arrayContaining(['workspace.create', 'workspace.update']));
    expect(log.entries.every((e) => e.actor === 'test-actor')).toBe(true);
    expect((await api.verifyActivity()).ok).toBe(true);

    const err = await api.deleteWorkspace(w.workspaceId, 'payments').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ kind: 'invalid', field: 'confirmation' });
    await api.deleteWorkspace(w.workspaceId, 'payments-eu');
    await expect(api.describeWorkspace(w.workspaceId)).rejects.toMatchObject({ kind: 'not_found' });
  });

  it('gives endpoints and a CA-aware remote_write target', async () => {
    const w = await api.createWorkspace({ alias: 'endpoints' });
    const ep = await api.workspaceEndpoints(w.workspaceId);
    expect(ep.remoteWriteUrl).toBe(`https://localhost:9443/workspaces/${w.workspaceId}/api/v1/remote_write`);
    expect(ep.prometheusUrl).toBe(`https://localhost:9443/workspaces/${w.workspaceId}`);
    const off = runtime.api('test-actor', () => null);
    expect((await off.workspaceEndpoints(w.workspaceId)).remoteWriteUrl).toBeNull();
  });

  it('shows a token secret once and revokes only within its workspace', async () => {
    const a = await api.createWorkspace({ alias: 'tok-a' });
    const b = await api.createWorkspace({ alias: 'tok-b' });
    const created = await api.createToken(a.workspaceId, { name: 'prom', scopes: ['remote_write'], expiresInDays: 30 });
    expect(created.secret).toMatch(/^amp_/);
    expect(created.token.expiresAt).not.toBeNull();
    const listed = await api.listTokens(a.workspaceId);
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    await expect(api.revokeToken(b.workspaceId, created.token.tokenId)).rejects.toMatchObject({ kind: 'not_found' });
    await api.revokeToken(a.workspaceId, created.token.tokenId);
    expect((await api.listTokens(a.workspaceId))[0]!.revokedAt).not.toBeNull();
  });

  it('answers PromQL in Prometheus shapes and reports syntax errors as ranges', async () => {
    const w = await api.createWorkspace({ alias: 'query' });
    const app = appliance.store(w.workspaceId).appender();
    const now = Math.floor(Date.now() / 1000) * 1000;
    for (let i = 0; i < 10; i++) {
      app.append(0, labelsFromRecord({ __name__: 'svc_requests_total', job: 'api', owner: 'jane.doe@example.com' }), now - (10 - i) * 15_000, i);
    }
    app.commit();
    const range = await api.queryRange(w.workspaceId, { query: 'svc_requests_total', start: now / 1000 - 150, end: now / 1000, step: 15 });
    expect(range.status).toBe('success');
    if (range.status === 'success' && range.data.resultType === 'matrix') {
      expect(range.data.result).toHaveLength(1);
      expect(range.data.result[0]!.metric.job).toBe('api');
      expect(range.data.result[0]!.values!.at(-1)![1]).toBe('9');
    } else throw new Error('expected a matrix');
    const instant = await api.query(w.workspaceId, { query: 'sum(svc_requests_total)', time: now / 1000 });
    expect(instant).toMatchObject({ status: 'success', data: { resultType: 'vector', result: [{ value: [now / 1000, '9'] }] } });
    expect(await api.query(w.workspaceId, { query: 'rate(svc_requests_total[1m]' })).toMatchObject({ status: 'error', errorType: 'bad_data' });
    expect(await api.checkQuery('sum(rate(x[5m]))')).toEqual([]);
    const issues = await api.checkQuery('sum(rate(x[5m])');
    expect(issues).toHaveLength(1);
    expect(issues[0]!.from).toBeGreaterThan(0);
    expect(await api.metricNames(w.workspaceId)).toEqual(['svc_requests_total']);
    // What the query editor completes from.
    expect(await api.labelNames(w.workspaceId)).toEqual(['__name__', 'job', 'owner']);
    expect(await api.labelNames(w.workspaceId, 'nothing_here')).toEqual([]);
    expect(await api.labelValues(w.workspaceId, 'job', 'svc_requests_total')).toEqual(['api']);
    expect(await api.labelValues(w.workspaceId, 'job', '{job="other"}')).toEqual([]);
    expect(await api.series(w.workspaceId, '{job=~"a.*"}', 10)).toEqual([{ __name__: 'svc_requests_total', job: 'api', owner: 'jane.doe@example.com' }]);
    await expect(api.labelValues(w.workspaceId, 'job', 'svc_requests_total{')).rejects.toMatchObject({ kind: 'invalid', field: 'match' });
    expect((await api.describeWorkspace(w.workspaceId)).activeSeries).toBe(1);

    const findings = await api.piiFindings();
    const email = findings.find((f) => f.workspaceId === w.workspaceId && f.kind === 'email');
    expect(email).toMatchObject({ labelName: 'owner', inName: false });
    expect(email!.example).not.toContain('jane.doe@example.com');
  });

  it("runs the window's queries and metadata reads on the host's query threads, with the same answers as on this thread", async () => {
    const w = await api.createWorkspace({ alias: 'threads' });
    const app = appliance.store(w.workspaceId).appender();
    const now = Math.floor(Date.now() / 1000) * 1000;
    for (let s = 0; s < 50; s++) for (let i = 0; i < 20; i++) app.append(0, labelsFromRecord({ __name__: `up_${s % 3}`, instance: `h-${s}` }), now - (20 - i) * 15_000, s + i);
    app.commit();
    const pool = new QueryPool(1);
    const ran: string[] = [];
    const threads = { get unavailable() { return pool.unavailable; }, run: (...a: Parameters<QueryPool['run']>) => (ran.push(`${a[0]}${a[3]?.ahead ? ' (ahead)' : ''}`), pool.run(...a)) };
    const pooled = createServiceRuntime(appliance, { consoleStatus: () => consoleStatus(appliance.dataDir), queryThreads: threads });
    try {
      const off = pooled.api('test-actor', () => null);
      const here = api;
      const id = w.workspaceId;
      const asks: ((a: AmpuleApi) => Promise<unknown>)[] = [
        (a) => a.queryRange(id, { query: 'sum by (__name__)(rate({__name__=~"up_.+"}[1m]))', start: now / 1000 - 240, end: now / 1000, step: 15 }),
        (a) => a.query(id, { query: 'topk(3, up_1)', time: now / 1000 }),
        (a) => a.query(id, { query: 'rate(up_1[1m]' }),
        (a) => a.metricNames(id),
        (a) => a.labelNames(id, '{instance=~"h-1.*"}'),
        (a) => a.labelValues(id, 'instance', 'up_2'),
        (a) => a.series(id, '{__name__=~"up_.+"}', 7),
      ];
      for (const ask of asks) expect(await ask(off)).toEqual(await ask(here));
      expect(ran).toEqual(['query_range', 'query', 'query', 'label/__name__/values', 'labels', 'label/instance/values', 'series'].map((p) => `${p} (ahead)`));
      await expect(off.labelValues(id, 'job', 'up_1{')).rejects.toMatchObject({ kind: 'invalid', field: 'match' });
      // A fake for a fault that cannot be made on purpose here: the query's worker crashed.
      const crashed = createServiceRuntime(appliance, {
        consoleStatus: () => consoleStatus(appliance.dataDir),
        queryThreads: { unavailable: null, run: () => Promise.reject(new QueryPoolError('the query worker ended', 'crashed')) },
      });
      await expect(crashed.api('test-actor', () => null).query(id, { query: 'up_1' })).rejects.toMatchObject({ kind: 'unavailable', message: expect.stringContaining('the query worker ended') });
      crashed.close();
    } finally {
      pooled.close();
      await pool.close();
    }
  });

  it('answers metric metadata (TYPE, HELP, UNIT) as the senders described it', async () => {
    const w = await api.createWorkspace({ alias: 'described-metrics' });
    expect(await api.metricMetadata(w.workspaceId)).toEqual({});
    const tenant = appliance.tenant(w.workspaceId);
    // encodeV1(…, 2): metric_0 and metric_1, counters with help 'help text' and unit 'seconds'.
    const r = await tenant.ingest({ body: snappy(encodeV1([{ labels: [['__name__', 'metric_0']], samples: [{ t: Date.now(), v: 1 }] }], 2)), contentType: V1_TYPE, contentEncoding: 'snappy', version: undefined });
    expect(r.status).toBe(204);
    const entry = { type: 'counter', help: 'help text', unit: 'seconds' };
    expect(await api.metricMetadata(w.workspaceId)).toEqual({ metric_0: [entry], metric_1: [entry] });
    expect(await api.metricMetadata(w.workspaceId, 'metric_1')).toEqual({ metric_1: [entry] });
    expect(await api.metricMetadata(w.workspaceId, 'nothing_here')).toEqual({});
  });

  it('sizes the exemplar store per workspace through the limits (maxExemplars), at once', async () => {
    const w = await api.createWorkspace({ alias: 'traced' });
    const tenant = appliance.tenant(w.workspaceId);
    expect((await api.getLimits(w.workspaceId)).limits.maxExemplars).toBe(100_000);
    // encodeV1's exemplars: trace_id=t<i>, value i, at 1000+i ms.
    const r = await tenant.ingest({ body: snappy(encodeV1([{ labels: [['__name__', 'req_total']], samples: [{ t: Date.now(), v: 1 }], exemplars: 5 }])), contentType: V1_TYPE, contentEncoding: 'snappy', version: undefined });
    expect(r.exemplarsWritten).toBe(5);
    const kept = () => tenant.exemplars.select(-Infinity, Infinity, () => true).flatMap((g) => g.exemplars.map((e) => e.t));
    expect(kept()).toEqual([1000, 1001, 1002, 1003, 1004]);
    const info = await api.setLimits(w.workspaceId, { maxExemplars: 2 });
    expect(info.limits.maxExemplars).toBe(2);
    expect(info.overridden).toContain('maxExemplars');
    expect(kept()).toEqual([1003, 1004]);
  });

  it('counts rejected samples per reason as the tenant ingests them', async () => {
    const w = await api.createWorkspace({ alias: 'rejects' });
    const tenant = appliance.tenant(w.workspaceId);
    const t = Date.now();
    const write = (ts: number) => tenant.ingest({ body: snappy(encodeV1([{ labels: [['__name__', 'ooo_metric']], samples: [{ t: ts, v: 1 }] }])), contentType: V1_TYPE, contentEncoding: 'snappy', version: undefined });
    expect((await write(t)).status).toBe(204);
    expect((await write(t - 3_600_000)).rejected).toEqual([{ reason: 'out_of_order', count: 1 }]);
    expect(tenant.rejected().get('out_of_order')).toBe(1);
    const end = Math.ceil(Date.now() / 1000) + 15;
    const stats = await api.workspaceStats(w.workspaceId, { start: end - 300, end, step: 15 });
    expect(stats.timestamps.length).toBeGreaterThan(10);
    const reasons = stats.rejected.map((r) => r.reason);
    expect(reasons.length).toBe(1);
    expect(stats.rejected[0]!.values.some((v) => (v ?? 0) > 0)).toBe(true);
  });

  it('runs the plaintext self-test: passes on encrypted data, fails on a file in clear', async () => {
    expect((await api.startSelfTest()).state).toBe('running');
    const passed = await until(() => api.selfTestProgress());
    expect(passed.state, passed.message).toBe('passed');
    expect(passed.filesScanned).toBe(passed.filesTotal);
    expect(passed.filesTotal).toBeGreaterThan(3);
    const items = await api.checklist();
    expect(items.find((i) => i.id === 'plaintext-scan')!.status).toBe('pass');

    // A fault that cannot be produced through the appliance itself: customer data written in clear.
    writeFileSync(join(dataDir, 'leak.txt'), 'svc_requests_total owner=jane.doe@example.com');
    await api.startSelfTest();
    const failed = await until(() => api.selfTestProgress());
    expect(failed.state).toBe('failed');
    expect(failed.findings).toEqual(['leak.txt']);
    expect((await api.checklist()).find((i) => i.id === 'plaintext-scan')!.status).toBe('fail');
    rmSync(join(dataDir, 'leak.txt'));
  });

  it("verifies the whole activity chain on request; the checklist between full runs checks only what was appended since the last intact run", async () => {
    const activityItem = async () => (await api.checklist()).find((i) => i.id === 'activity-log')!;
    expect((await activityItem()).status).toBe('pass');
    const control = controlDatabase(appliance).db;
    const first = control.prepare(`SELECT seq, outcome FROM activity_log ORDER BY seq LIMIT 1`).get() as { seq: number; outcome: string };
    control.prepare(`UPDATE activity_log SET outcome = 'denied' WHERE seq = ?`).run(first.seq);
    try {
      await api.createWorkspace({ alias: 'after-the-edit' }); // appended since: checked
      expect((await activityItem()).status).toBe('pass'); // the edit is older than the last intact run
      expect(await api.verifyActivity()).toMatchObject({ ok: false, brokenAtSeq: first.seq });
      // Once a full run found damage, the checklist checks everything again.
      expect(await activityItem()).toMatchObject({ status: 'fail', evidence: expect.stringContaining(`record ${first.seq}`) });
    } finally {
      control.prepare(`UPDATE activity_log SET outcome = ? WHERE seq = ?`).run(first.outcome, first.seq);
    }
    expect((await activityItem()).status).toBe('pass');
  });

  it('lists every checklist item with a status and evidence, and the settings', async () => {
    const items = await api.checklist();
    expect(items.map((i) => i.id)).toEqual(expect.arrayContaining(['master-key', 'tls', 'tokens', 'console-mfa', 'activity-log', 'plaintext-scan', 'pii']));
    for (const i of items) {
      expect(['pass', 'warn', 'fail']).toContain(i.status);
      expect(i.evidence.length).toBeGreaterThan(5);
    }
    const s = await api.getSettings();
    expect(s.masterKey.kind).toBe('keychain');
    expect(s.console).toEqual({ passwordSet: false, mfaEnabled: false });
    expect(s.listenUrl).toBe('https://localhost:9443');
  });
});
