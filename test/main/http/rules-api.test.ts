// Rule evaluation end to end on a real server: a rule-groups namespace with a recording rule and
// an alert (`for: 0s`, 1s interval) over remote-written data; the recorded series read back with
// /api/v1/query, the alert in /api/v1/alerts and /api/v1/rules (health ok) in Prometheus's shapes,
// and Debian's prometheus-alertmanager (TLS) receiving the firing alert, read back through its
// /api/v2/alerts. Namespace changes reload the scheduler.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlertManagerStore } from '../../../main/alerting/definition-store';
import { controlDatabase } from '../../../main/retention/key-lifecycle';
import { bearer, noKeychainReason, send, startHarness, type Harness } from './harness';
import { encodeV1, snappy, V1_TYPE } from '../ingest/encode';
import { ALERTMANAGER, amAlerts, freePort, makePki, startAlertmanager, type Pki, type RunningAlertmanager } from '../alerting/helpers';

const missing = noKeychainReason ?? (existsSync(ALERTMANAGER) ? null : `${ALERTMANAGER} is not installed (apt-get install prometheus-alertmanager)`);
const skip = missing ? ` (skipped: ${missing})` : '';
const RW_HEADERS = { 'Content-Type': V1_TYPE, 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' };

const RULES = `groups:
  - name: demo
    interval: 1s
    rules:
      - record: job:rules_e2e_metric:sum
        expr: sum by (job) (rules_e2e_metric)
      - alert: RulesE2EHigh
        expr: rules_e2e_metric > 3
        for: 0s
        labels:
          severity: page
        annotations:
          summary: 'value {{ $value }} on {{ $labels.instance }}'
`;

async function until<T>(what: string, f: () => Promise<T | null | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(missing)(`rule evaluation over HTTPS with a real Alertmanager${skip}`, () => {
  let h: Harness;
  let dir: string;
  let pki: Pki;
  let am: RunningAlertmanager;
  let reader: string;
  let writer: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ampule-rules-e2e-'));
    pki = makePki(dir);
    am = await startAlertmanager(dir, await freePort(), pki);
    h = await startHarness({}, {});
    reader = h.token(h.wsA, ['query']);
    writer = h.token(h.wsA, ['remote_write']);
  }, 30_000);
  afterAll(async () => {
    await h?.close();
    await am?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('records, fires, notifies Alertmanager and answers /api/v1/rules and /api/v1/alerts', async () => {
    const control = controlDatabase(h.appliance);
    const ca = pki.caPem.trimEnd().split('\n').map((l) => `        ${l}`).join('\n');
    new AlertManagerStore(control.db, (id) => control.dataKeys(id)).put(h.wsA, `alertmanagers:\n  - url: ${am.url}\n    tls_config:\n      ca: |\n${ca}\n`);
    // Samples kept fresh while the test runs (an instant query looks back 5 minutes).
    const write = async () => {
      const t = Date.now();
      const body = snappy(encodeV1([
        { labels: [['__name__', 'rules_e2e_metric'], ['instance', 'a'], ['job', 'j']], samples: [{ t, v: 5 }] },
        { labels: [['__name__', 'rules_e2e_metric'], ['instance', 'b'], ['job', 'j']], samples: [{ t, v: 1 }] },
      ]));
      const r = await send(h, { method: 'POST', path: `/workspaces/${h.wsA}/api/v1/remote_write`, headers: { ...RW_HEADERS, ...bearer(writer) }, body });
      expect(r.status).toBe(204);
    };
    await write();
    expect(h.host.rules!.workspace(h.wsA)).toBeNull();
    h.appliance.ruleNamespaces.put(h.wsA, 'team-a', RULES);
    expect(h.host.rules!.workspace(h.wsA)!.scheduler.groups().map((g) => g.name)).toEqual(['demo']);

    const api = (p: string) => send(h, { path: `/workspaces/${h.wsA}/api/v1/${p}`, headers: bearer(reader) });
    const recorded = await until('the recorded series', async () => {
      const r = await api(`query?query=${encodeURIComponent('job:rules_e2e_metric:sum')}`);
      const res = (r.json().data as { result: { metric: Record<string, string>; value: [number, string] }[] }).result;
      return res.length > 0 ? res : null;
    });
    expect(recorded[0]!.metric).toEqual({ __name__: 'job:rules_e2e_metric:sum', job: 'j' });
    expect(recorded[0]!.value[1]).toBe('6');

    const alerts = await until('a firing alert', async () => {
      const a = (await api('alerts')).json().data as { alerts: Record<string, unknown>[] };
      return a.alerts.length > 0 && a.alerts.every((x) => x.state === 'firing') ? a.alerts : null;
    });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ labels: { alertname: 'RulesE2EHigh', instance: 'a', job: 'j', severity: 'page' }, annotations: { summary: 'value 5 on a' }, state: 'firing', value: '5e+00' });
    expect(typeof alerts[0]!.activeAt).toBe('string');

    const rules = (await api('rules')).json();
    expect(rules.status).toBe('success');
    const groups = (rules.data as { groups: Record<string, unknown>[] }).groups;
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatchObject({ name: 'demo', file: 'team-a', interval: 1, limit: 0 });
    expect(groups[0]!.lastEvaluation).not.toBe('0001-01-01T00:00:00Z');
    const rs = groups[0]!.rules as Record<string, unknown>[];
    expect(rs.map((r) => [r.type, r.name, r.health, r.lastError])).toEqual([
      ['recording', 'job:rules_e2e_metric:sum', 'ok', ''],
      ['alerting', 'RulesE2EHigh', 'ok', ''],
    ]);
    expect(rs[1]).toMatchObject({ state: 'firing', query: 'rules_e2e_metric > 3', duration: 0, labels: { severity: 'page' } });
    expect((rs[1]!.alerts as unknown[]).length).toBe(1);

    // Filters: type, rule_name[], rule_group[], file[]; a bad type is a 400.
    const names = async (q: string) => (((await api(`rules?${q}`)).json().data as { groups: { rules: { name: string }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.name)));
    expect(await names('type=record')).toEqual(['job:rules_e2e_metric:sum']);
    expect(await names('type=alert')).toEqual(['RulesE2EHigh']);
    expect(await names(`rule_name[]=RulesE2EHigh`)).toEqual(['RulesE2EHigh']);
    expect(await names('rule_group[]=other')).toEqual([]);
    expect(await names('file[]=team-a&rule_group[]=demo')).toHaveLength(2);
    const bad = await api('rules?type=bogus');
    expect(bad.status).toBe(400);
    expect(bad.json().errorType).toBe('bad_data');
    // Query scope reads; a remote-write token cannot; another workspace sees no groups.
    expect((await send(h, { path: `/workspaces/${h.wsA}/api/v1/rules`, headers: bearer(writer) })).status).toBe(403);
    const other = await send(h, { path: `/workspaces/${h.wsB}/api/v1/alerts`, headers: bearer(h.token(h.wsB, ['query'])) });
    expect(other.json().data).toEqual({ alerts: [] });

    // Debian's Alertmanager received it over TLS.
    const received = await until('the alert in Alertmanager', async () => {
      const list = await amAlerts(am, pki.caPem);
      return list.find((a) => a.labels.alertname === 'RulesE2EHigh') ?? null;
    });
    expect(received.labels).toMatchObject({ instance: 'a', job: 'j', severity: 'page' });
    expect(received.annotations.summary).toBe('value 5 on a');
    expect(received.status.state).toBe('active');
    expect(h.host.rules!.workspace(h.wsA)!.notifications.status()[0]).toMatchObject({ lastError: null });

    // The window's contract (the Rules page) shows the same groups, counts, alert and delivery.
    const view = await h.host.api('test').workspaceRules(h.wsA);
    expect(view.evaluating).toBe(true);
    expect(view.groups).toHaveLength(1);
    expect(view.groups[0]).toMatchObject({ namespace: 'team-a', name: 'demo', intervalSeconds: 1, failed: 0 });
    expect(view.groups[0]!.evaluations).toBeGreaterThan(0);
    expect(view.groups[0]!.lastEvaluation).toMatch(/^\d{4}-/);
    expect(view.groups[0]!.rules.map((r) => [r.kind, r.name, r.health, r.state, r.lastError])).toEqual([
      ['recording', 'job:rules_e2e_metric:sum', 'ok', null, null],
      ['alerting', 'RulesE2EHigh', 'ok', 'firing', null],
    ]);
    expect(view.alerts).toEqual([expect.objectContaining({ namespace: 'team-a', group: 'demo', state: 'firing', value: 5, labels: { alertname: 'RulesE2EHigh', instance: 'a', job: 'j', severity: 'page' } })]);
    expect(view.notifications!.targets).toEqual([expect.objectContaining({ kind: 'alertmanager', url: `${am.url}/api/v2/alerts`, lastError: null, failed: 0 })]);
    expect(view.notifications!.targets[0]!.sent).toBeGreaterThan(0);
    await expect(h.host.api('test').workspaceRules('ws-nonexistent')).rejects.toThrow(/ws-nonexistent/);

    // Deleting the namespace stops evaluation: no groups any more.
    h.appliance.ruleNamespaces.delete(h.wsA, 'team-a');
    expect(h.host.rules!.workspace(h.wsA)).toBeNull();
    expect(((await api('rules')).json().data as { groups: unknown[] }).groups).toEqual([]);
  }, 60_000);

  it('shows a failing rule, failed evaluations and an Alertmanager that is down in the window\'s contract', async () => {
    const control = controlDatabase(h.appliance);
    const down = `https://127.0.0.1:${await freePort()}`; // nothing listens there
    new AlertManagerStore(control.db, (id) => control.dataKeys(id)).put(h.wsB, `alertmanagers:\n  - url: ${down}\n`);
    h.appliance.ruleNamespaces.put(
      h.wsB,
      'faulty',
      'groups:\n  - name: limited\n    interval: 1s\n    limit: 1\n    rules:\n      - record: two_series\n        expr: label_replace(vector(1), "x", "a", "", "") or label_replace(vector(2), "x", "b", "", "")\n      - alert: AlwaysFiring\n        expr: vector(1)\n',
    );
    const api = h.host.api('test');
    const view = await until('a failed evaluation and a failed delivery', async () => {
      const v = await api.workspaceRules(h.wsB);
      return v.groups[0]!.failed > 0 && (v.notifications?.targets[0]?.failed ?? 0) > 0 ? v : null;
    });
    const g = view.groups[0]!;
    expect(g.rules[0]).toMatchObject({ name: 'two_series', health: 'err', lastError: 'exceeded limit of 1 with 2 series' });
    expect(g.rules[1]).toMatchObject({ name: 'AlwaysFiring', health: 'ok', state: 'firing' });
    expect(g.failed).toBeGreaterThanOrEqual(g.evaluations - 1); // every finished evaluation failed (one may be under way)
    const t = view.notifications!.targets[0]!;
    expect(t).toMatchObject({ kind: 'alertmanager', sent: 0 });
    expect(t.lastError).toMatch(/127\.0\.0\.1|ECONNREFUSED|connect/);
    expect(t.queued).toBe(1); // kept for the retry, not lost
    expect(t.retryAt).not.toBeNull();
    // The Prometheus API says the same: /api/v1/alertmanagers with Ampule's delivery figures beside each url.
    const ams = await send(h, { path: `/workspaces/${h.wsB}/api/v1/alertmanagers`, headers: bearer(h.token(h.wsB, ['query'])) });
    expect(ams.json()).toMatchObject({ status: 'success', data: { activeAlertmanagers: [{ url: `${down}/api/v2/alerts`, sent: 0, queued: 1, lastError: t.lastError }], droppedAlertmanagers: [], webhooks: [] } });
    // Through the contract, a refused rule file is 'invalid' (the console answers 400) and stores nothing; the log says so.
    await expect(api.putRuleNamespace(h.wsB, 'bad', 'groups:\n  - name: g\n    rules:\n      - record: r\n        expr: sum(\n')).rejects.toMatchObject({ kind: 'invalid', field: 'data', message: expect.stringContaining('group "g", rule 1 ("r"), field expr') });
    expect(h.appliance.ruleNamespaces.list(h.wsB).map((n) => n.name)).toEqual(['faulty']);
    expect((await api.workspaceRules(h.wsB)).namespaces).toEqual([expect.objectContaining({ name: 'faulty', groups: 1, rules: 2 })]);
    await api.deleteRuleNamespace(h.wsB, 'faulty');
    const log = h.appliance.activity.list({ workspaceId: h.wsB, action: 'rule_groups.' }).entries.map((e) => [e.action, e.outcome, e.actor]);
    expect(log).toEqual([['rule_groups.delete', 'ok', 'test'], ['rule_groups.put', 'error', 'test']]);
  }, 30_000);

  it('stops evaluating a workspace that is deleted', async () => {
    h.appliance.ruleNamespaces.put(h.wsB, 'b', 'groups:\n  - name: g\n    interval: 1s\n    rules:\n      - record: r\n        expr: vector(1)\n');
    const rules = h.host.rules!.workspace(h.wsB)!;
    await until('an evaluation', async () => rules.scheduler.groups()[0]!.evaluations > 0);
    h.appliance.control.deleteWorkspace(h.wsB);
    await until('evaluation to stop', async () => h.host.rules!.workspace(h.wsB) === null, 5_000);
    const evaluations = rules.scheduler.groups()[0]!.evaluations;
    await new Promise((r) => setTimeout(r, 1500));
    expect(rules.scheduler.groups()[0]!.evaluations).toBe(evaluations);
  }, 20_000);
});
