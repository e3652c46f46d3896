// A workspace's notifications from its sealed definition: a real GroupEvaluator's firing alert
// reaches the target (a local TLS server), a changed definition sends current alerts to the new
// target at once, and a deleted one stops sending.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { labelsFromRecord } from '../../../shared/labels';
import { createCipher } from '../../../main/crypto/cipher';
import { openTsdb } from '../../../main/tsdb';
import { GroupEvaluator } from '../../../main/rules/evaluator';
import { parseRuleFile } from '../../../main/rules/rule-file';
import { AlertManagerStore } from '../../../main/alerting/definition-store';
import { WorkspaceNotifications } from '../../../main/alerting/workspace-notifications';
import { testControl, type TestControl } from '../control/helpers';
import { makePki, recordingServer, type Pki } from './helpers';

let dir: string;
let pki: Pki;
let t: TestControl;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ampule-ws-notif-'));
  pki = makePki(dir);
  t = testControl();
});
afterAll(() => {
  t.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const def = (url: string) => `alertmanagers:\n  - url: ${url}\n    tls_config:\n      ca: |\n${pki.caPem.trimEnd().split('\n').map((l) => `        ${l}`).join('\n')}\n`;

it('sends from the stored definition, follows a change at once, stops on delete', async () => {
  const a = await recordingServer(pki);
  const b = await recordingServer(pki);
  const cipher = createCipher(randomBytes(32));
  const db = openTsdb({ path: join(dir, 's.db'), workspaceId: 'ws', keys: { current: 1, get: () => cipher }, outOfOrderWindowMs: Number.MAX_SAFE_INTEGER });
  try {
    const ws = t.control.createWorkspace({ alias: 'n' }).workspaceId;
    const store = new AlertManagerStore(t.control.db, (id) => t.control.dataKeys(id));
    store.put(ws, def(a.url));
    const notifications = new WorkspaceNotifications(ws, store, { defaultIntervalMs: 60_000, externalURL: 'https://ampule.local' });
    const storage = { querier: () => db.querier(), appender: () => db.appender() };
    const ev = new GroupEvaluator(parseRuleFile('groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n').groups[0]!);
    const now = Date.now();
    const app = db.appender();
    app.append(0, labelsFromRecord({ __name__: 'up', job: 'x' }), now, 0);
    app.commit();

    ev.eval(storage, now);
    notifications.afterEval(ev, now);
    await notifications.idle();
    expect(a.posts.map((p) => (p.body as { labels: Record<string, string> }[]).map((x) => x.labels))).toEqual([[{ alertname: 'Down', job: 'x' }]]);
    expect(notifications.status()).toMatchObject([{ url: `${a.url}/api/v2/alerts`, sent: 1 }]);

    store.put(ws, def(b.url));
    notifications.reload();
    ev.eval(storage, now + 1000);
    notifications.afterEval(ev, now + 1000); // within the resend delay, but the new target has not seen it
    await notifications.idle();
    expect(b.posts).toHaveLength(1);
    expect(a.posts).toHaveLength(1);

    store.delete(ws);
    notifications.reload();
    expect(notifications.status()).toEqual([]);
    notifications.afterEval(ev, now + 120_000);
    await notifications.idle();
    expect(a.posts.length + b.posts.length).toBe(2);
    notifications.stop();
  } finally {
    db.close();
    await a.close();
    await b.close();
  }
});
