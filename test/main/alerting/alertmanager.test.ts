// The notifier against Debian's real prometheus-alertmanager 0.25, over TLS with its own CA:
// alerts from a real GroupEvaluator reach it firing (read back through its /api/v2/alerts with
// Prometheus's startsAt/endsAt/generatorURL) and then resolved; basic auth from the sealed
// definition is accepted and a wrong password is an error that names no secret; an Alertmanager
// that is down gets retries and then everything once it starts. A local TLS server stands in
// for a webhook receiver and for counting batches.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../../../shared/labels';
import { createCipher } from '../../../main/crypto/cipher';
import { openTsdb, type Tsdb } from '../../../main/tsdb';
import { GroupEvaluator } from '../../../main/rules/evaluator';
import { parseRuleFile } from '../../../main/rules/rule-file';
import { parseDefinition } from '../../../main/alerting/definition';
import { Notifier } from '../../../main/alerting/notifier';
import type { NotifierAlert } from '../../../main/alerting/webhook';
import { RuleAlertSender, evaluatorAlerts } from '../../../main/alerting/rule-alerts';
import { fingerprint, type WebhookMessage } from '../../../main/alerting/webhook';
import { amAlerts, bcrypt, freePort, haveAlertmanager, makePki, recordingServer, startAlertmanager, until, type Pki, type RunningAlertmanager } from './helpers';

const PASSWORD = 'am-pw-' + randomBytes(6).toString('hex');
const BASIC = `Basic ${Buffer.from(`ops:${PASSWORD}`).toString('base64')}`;
const EXTERNAL_URL = 'https://ampule.local:9443/workspaces/ws-test';

let dir: string;
let pki: Pki;
const running: RunningAlertmanager[] = [];
const notifiers: Notifier[] = [];

if (!haveAlertmanager) console.warn('SKIPPED: /usr/bin/prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ampule-alerting-'));
  pki = makePki(dir);
});
afterAll(async () => {
  for (const n of notifiers) n.stop();
  for (const am of running) await am.stop();
  rmSync(dir, { recursive: true, force: true });
});

const ca = (pem: string) => `    tls_config:\n      ca: |\n${pem.trimEnd().split('\n').map((l) => `        ${l}`).join('\n')}\n`;

function notifier(def: string, opts: ConstructorParameters<typeof Notifier>[1] = {}): Notifier {
  const n = new Notifier(parseDefinition(def), { minBackoffMs: 100, maxBackoffMs: 400, externalURL: EXTERNAL_URL, ...opts });
  notifiers.push(n);
  return n;
}

function alert(name: string, extra: Record<string, string> = {}, endsInMs = 300_000): NotifierAlert {
  const now = Date.now();
  return { labels: { alertname: name, ...extra }, annotations: { summary: `${name} fired` }, startsAt: now - 1000, endsAt: now + endsInMs, generatorURL: `${EXTERNAL_URL}/graph` };
}

describe.skipIf(!haveAlertmanager)('notifier → Debian prometheus-alertmanager 0.25 over TLS', () => {
  it('rule alerts arrive firing with Prometheus times, then resolved; basic auth from the definition', async () => {
    const am = await startAlertmanager(join(dir, 'am1'), await freePort(), pki, { ops: bcrypt(PASSWORD) });
    running.push(am);
    const n = notifier(`alertmanagers:\n  - url: ${am.url}\n    basic_auth: { username: ops, password: ${PASSWORD} }\n${ca(pki.caPem)}`, { externalLabels: { site: 'lab', severity: 'overridden' } });

    const tdir = join(dir, 'tsdb');
    const cipher = createCipher(randomBytes(32));
    const db: Tsdb = openTsdb({ path: `${tdir}.db`, workspaceId: 'ws-test', keys: { current: 1, get: () => cipher }, outOfOrderWindowMs: Number.MAX_SAFE_INTEGER });
    try {
      const storage = { querier: () => db.querier(), appender: () => db.appender() };
      const ev = new GroupEvaluator(parseRuleFile('groups:\n  - name: g\n    interval: 30s\n    rules:\n      - alert: TempHigh\n        expr: temp > 40\n        for: 1m\n        labels: { severity: page }\n        annotations: { summary: "{{ $labels.room }} is {{ $value }}" }\n').groups[0]!, { externalURL: EXTERNAL_URL });
      const sender = new RuleAlertSender(n, { resendDelayMs: 60_000, externalURL: EXTERNAL_URL });
      const source = evaluatorAlerts(ev, 60_000);
      const t0 = Date.now() - 125_000;
      const load = (t: number, v: number) => {
        const app = db.appender();
        app.append(0, labelsFromRecord({ __name__: 'temp', room: 'lab1' }), t, v);
        app.commit();
      };

      load(t0, 45);
      ev.eval(storage, t0);
      expect(sender.sendAlerts(source, t0)).toEqual([]); // pending is never sent
      load(t0 + 60_000, 46);
      ev.eval(storage, t0 + 60_000);
      const sent = sender.sendAlerts(source, t0 + 60_000);
      expect(sent).toHaveLength(1);
      // endsAt = now + 4 × max(resend delay 1m, interval 30s)
      expect(sent[0]).toMatchObject({ startsAt: t0 + 60_000, endsAt: t0 + 60_000 + 4 * 60_000 });
      ev.eval(storage, t0 + 90_000);
      expect(sender.sendAlerts(source, t0 + 90_000)).toEqual([]); // sent 30s ago: not yet due again
      await n.idle();

      const firing = await amAlerts(am, pki.caPem, BASIC);
      expect(firing).toHaveLength(1);
      const a = firing[0]!;
      expect(a.labels).toEqual({ alertname: 'TempHigh', room: 'lab1', severity: 'page', site: 'lab' });
      expect(a.annotations).toEqual({ summary: 'lab1 is 46' });
      expect(Date.parse(a.startsAt)).toBe(t0 + 60_000);
      expect(Date.parse(a.endsAt)).toBe(t0 + 300_000);
      expect(a.generatorURL).toBe(`${EXTERNAL_URL}/graph?g0.expr=temp+%3E+40&g0.tab=1`);
      expect(a.status.state).toBe('active');
      expect(a.fingerprint).toBe(fingerprint(a.labels)); // our webhook fingerprints match Alertmanager's

      load(t0 + 120_000, 20);
      ev.eval(storage, t0 + 120_000);
      const resolved = sender.sendAlerts(source, t0 + 120_000);
      expect(resolved).toMatchObject([{ startsAt: t0 + 60_000, endsAt: t0 + 120_000 }]);
      await n.idle();
      await until(async () => (await amAlerts(am, pki.caPem, BASIC)).length === 0, 5000, 'the alert to resolve in Alertmanager');
      expect(n.status()[0]).toMatchObject({ kind: 'alertmanager', url: `${am.url}/api/v2/alerts`, sent: 2, failed: 0, dropped: 0, queued: 0, lastError: null });
    } finally {
      db.close();
    }

    // A wrong password: Alertmanager answers 401, the error is kept, retried, and names no secret.
    const wrong = notifier(`alertmanagers:\n  - url: ${am.url}\n    basic_auth: { username: ops, password: wrong-${PASSWORD} }\n${ca(pki.caPem)}`);
    wrong.send([alert('AuthCheck')]);
    await until(() => wrong.status()[0]!.failed >= 2, 5000, 'two failed attempts');
    const st = wrong.status()[0]!;
    expect(st.lastError).toMatch(/HTTP 401/);
    expect(st.queued).toBe(1);
    expect(JSON.stringify(st)).not.toContain(PASSWORD);
    expect(am.log()).not.toContain(PASSWORD);
    wrong.stop();

    // Without the custom CA the certificate is not trusted.
    const untrusted = notifier(`alertmanagers:\n  - url: ${am.url}\n    basic_auth: { username: ops, password: ${PASSWORD} }\n`);
    untrusted.send([alert('CaCheck')]);
    await until(() => untrusted.status()[0]!.failed >= 1, 5000, 'a TLS failure');
    expect(untrusted.status()[0]!.lastError).toMatch(/certificate|self[- ]signed|issuer/i);
    untrusted.stop();
  });

  it('an Alertmanager that is down: retries with backoff, then everything is delivered once it starts', async () => {
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    const n = notifier(`alertmanagers:\n  - url: ${url}\n${ca(pki.caPem)}`);
    const alerts = Array.from({ length: 100 }, (_, i) => alert('Outage', { instance: `host-${i}` }));
    n.send(alerts);
    await until(() => n.status()[0]!.failed >= 3 * 64, 10_000, 'three failed attempts');
    const down = n.status()[0]!;
    expect(down.lastError).toMatch(/ECONNREFUSED/);
    expect(down.queued).toBe(100);
    expect(down.sent).toBe(0);
    expect(down.retryAt).not.toBeNull();
    n.send(alerts.slice(0, 10)); // resends of the same alerts replace, not add
    expect(n.status()[0]!.queued).toBe(100);

    const am = await startAlertmanager(join(dir, 'am2'), port, pki);
    running.push(am);
    await n.idle();
    expect(n.status()[0]).toMatchObject({ sent: 100, queued: 0, dropped: 0 });
    const got = await amAlerts(am, pki.caPem);
    expect(got.map((a) => a.labels.instance).sort()).toEqual(alerts.map((a) => a.labels.instance).sort());
  });
});

describe('notifier queue, batches and webhook receivers (local TLS server)', () => {
  it('batches of at most 64 to /api/v2/alerts in the API v2 JSON shape', async () => {
    const srv = await recordingServer(pki);
    try {
      const n = notifier(`alertmanagers:\n  - url: ${srv.url}/prefix/\n    authorization: { credentials: tok-${PASSWORD} }\n${ca(pki.caPem)}`);
      n.send(Array.from({ length: 150 }, (_, i) => alert('Many', { i: String(i) })));
      await n.idle();
      expect(srv.posts.map((p) => [p.path, (p.body as unknown[]).length])).toEqual([['/prefix/api/v2/alerts', 64], ['/prefix/api/v2/alerts', 64], ['/prefix/api/v2/alerts', 22]]);
      expect(srv.posts[0]!.authorization).toBe(`Bearer tok-${PASSWORD}`);
      const first = (srv.posts[0]!.body as Record<string, unknown>[])[0]!;
      expect(Object.keys(first).sort()).toEqual(['annotations', 'endsAt', 'generatorURL', 'labels', 'startsAt']);
      expect(first.startsAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    } finally {
      await srv.close();
    }
  });

  it('a full queue drops the oldest alerts and counts them', async () => {
    const n = notifier(`queue_capacity: 3\nalertmanagers:\n  - url: https://127.0.0.1:${await freePort()}\n`);
    n.send(['a', 'b', 'c', 'd', 'e'].map((x) => alert('Q', { x })));
    await until(() => n.status()[0]!.failed > 0, 5000, 'a failed attempt');
    expect(n.status()[0]).toMatchObject({ queued: 3, dropped: 2 });
    n.send([alert('Q', { x: 'f' })]);
    expect(n.status()[0]).toMatchObject({ queued: 3, dropped: 3 });
  });

  it('a 400 is not retried: the batch is dropped and the error kept', async () => {
    const srv = await recordingServer(pki, () => 400);
    try {
      const n = notifier(`alertmanagers:\n  - url: ${srv.url}\n${ca(pki.caPem)}`);
      n.send([alert('Bad')]);
      await n.idle();
      expect(srv.posts).toHaveLength(1);
      expect(n.status()[0]).toMatchObject({ sent: 0, failed: 1, queued: 0 });
      expect(n.status()[0]!.lastError).toMatch(/HTTP 400/);
    } finally {
      await srv.close();
    }
  });

  it('a target that never answers times out and is retried', async () => {
    let requests = 0;
    const server = createServer({ cert: readFileSync(pki.certFile), key: readFileSync(pki.keyFile) }, () => void requests++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const n = notifier(`alertmanagers:\n  - url: https://127.0.0.1:${(server.address() as { port: number }).port}\n    timeout: 200ms\n${ca(pki.caPem)}`);
      n.send([alert('Slow')]);
      await until(() => n.status()[0]!.failed >= 2, 5000, 'two timed-out attempts');
      expect(n.status()[0]).toMatchObject({ sent: 0, queued: 1 });
      expect(n.status()[0]!.lastError).toMatch(/no answer within 200 ms/);
      expect(requests).toBeGreaterThanOrEqual(2);
      n.stop();
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('a webhook receiver gets the Alertmanager webhook message, grouped by alertname', async () => {
    const srv = await recordingServer(pki);
    try {
      const n = notifier(`webhooks:\n  - name: pager\n    url: ${srv.url}/hook\n    authorization: { credentials: hook-${PASSWORD} }\n${ca(pki.caPem)}`);
      const firing = alert('DiskFull', { instance: 'a', team: 'ops' });
      const resolved = { ...alert('DiskFull', { instance: 'b', team: 'ops' }), endsAt: Date.now() - 1000 };
      n.send([firing, resolved, alert('Other')]);
      await n.idle();
      expect(srv.posts.map((p) => p.path)).toEqual(['/hook', '/hook']);
      expect(srv.posts[0]!.authorization).toBe(`Bearer hook-${PASSWORD}`);
      const m = srv.posts[0]!.body as WebhookMessage;
      expect(m).toMatchObject({
        version: '4',
        groupKey: '{}:{alertname="DiskFull"}',
        truncatedAlerts: 0,
        status: 'firing',
        receiver: 'pager',
        groupLabels: { alertname: 'DiskFull' },
        commonLabels: { alertname: 'DiskFull', team: 'ops' },
        commonAnnotations: { summary: 'DiskFull fired' },
        externalURL: EXTERNAL_URL,
      });
      expect(m.alerts.map((a) => [a.status, a.labels.instance, a.fingerprint])).toEqual([
        ['firing', 'a', fingerprint(firing.labels)],
        ['resolved', 'b', fingerprint(resolved.labels)],
      ]);
      expect(m.alerts[0]!.endsAt).toBe(new Date(firing.endsAt).toISOString());
      expect((srv.posts[1]!.body as WebhookMessage).groupKey).toBe('{}:{alertname="Other"}');
      expect(n.status()[0]).toMatchObject({ kind: 'webhook', sent: 3, failed: 0 });
    } finally {
      await srv.close();
    }
  });
});
