// The checklist from a real appliance's state (control.db, activity log, tokens, data keys).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openAppliance } from '../../../main/core/open-appliance';
import { tempKeyFileDir } from '../core/key-file-dir';
import type { Appliance } from '../../../main/core/appliance';
import { computeChecklist, type ChecklistExtra } from '../../../main/checklist/compute';
import { controlDatabase } from '../../../main/retention/key-lifecycle';
import { AlertManagerStore } from '../../../main/alerting/definition-store';
import { DestinationStore } from '../../../main/forward/destination-store';
import { DiscoveryIndex } from '../../../main/discovery/scan';
import { labelsFromRecord } from '../../../shared/labels';
import type { ChecklistItem } from '../../../shared/checklist';

let dir: string;
let app: Appliance;
const DAY = 86_400_000;

beforeEach(async () => {
  const made = tempKeyFileDir('ampule-checklist-');
  dir = made.dir;
  app = await openAppliance({ dataDir: join(dir, 'data'), masterKeyFile: made.keyFile });
});
afterEach(() => {
  app.close();
  rmSync(dir, { recursive: true, force: true });
});

const item = (items: ChecklistItem[], id: string) => items.find((i) => i.id === id)!;
const healthy = (now: number): ChecklistExtra => ({
  now,
  tls: { enabled: true, protocol: 'TLS 1.3', certificateExpiresAt: new Date(now + 300 * DAY).toISOString() },
  console: { passwordSet: true, mfaEnabled: true },
  selfTest: { state: 'passed', filesScanned: 4, filesTotal: 4, bytesScanned: 1000, findings: [], damage: [], message: 'no stored string found in clear in 4 files', finishedAt: new Date(now).toISOString() },
  findings: [],
});

describe('computeChecklist', () => {
  it('passes a healthy appliance except the key file, with evidence for every item', () => {
    const ws = app.control.createWorkspace({ alias: 'prod' }).workspaceId;
    app.control.createToken(ws, { scopes: ['remote_write'], expiresAt: new Date(Date.now() + 90 * DAY) });
    const items = computeChecklist(app, healthy(Date.now()));
    expect(items.map((i) => i.id)).toEqual(['tls', 'master-key', 'data-keys', 'plaintext-scan', 'store-integrity', 'tokens', 'console-mfa', 'pii', 'activity-log', 'retention', 'notifications', 'forwarding']);
    expect(item(items, 'forwarding')).toMatchObject({ status: 'pass', evidence: 'no forwarding destination: samples stay on this machine' });
    expect(item(items, 'notifications')).toMatchObject({ status: 'pass', evidence: 'no alert manager defined: alerts stay on this machine' });
    expect(items.filter((i) => i.status !== 'pass').map((i) => i.id)).toEqual(['master-key']);
    expect(item(items, 'master-key')).toMatchObject({ status: 'warn', evidence: expect.stringContaining('key file') });
    expect(item(items, 'tls').evidence).toMatch(/TLS 1\.3; server certificate expires \d{4}-\d\d-\d\d \((299|300) days\)/);
    expect(item(items, 'data-keys').evidence).toMatch(/^1 workspace\(s\), each with its own AES-256-GCM data key/);
    for (const i of items) expect(i.evidence.length).toBeGreaterThan(10);
  });

  it('names where alert notifications go, all over TLS', () => {
    const ws = app.control.createWorkspace({ alias: 'prod' }).workspaceId;
    const control = controlDatabase(app);
    new AlertManagerStore(control.db, (id) => control.dataKeys(id)).put(ws, 'alertmanagers:\n  - url: https://am.example:9093\nwebhooks:\n  - name: chat\n    url: https://hooks.example/x\n');
    const n = item(computeChecklist(app, healthy(Date.now())), 'notifications');
    expect(n.status).toBe('pass');
    expect(n.evidence).toBe('1 workspace(s) send alerts over HTTPS (TLS 1.2+, certificates verified) to Alertmanagers: am.example:9093; webhooks: hooks.example');
  });

  it('names where forwarded samples go, over TLS, and with which CA', () => {
    const ws = app.control.createWorkspace({ alias: 'prod' }).workspaceId;
    const control = controlDatabase(app);
    new DestinationStore(control.db, (id) => control.dataKeys(id)).add(ws, 'name: amp\nurl: https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write\nsigv4: { region: eu-west-1 }\n', { seq: 0, ackedMaxT: null });
    const f = item(computeChecklist(app, healthy(Date.now())), 'forwarding');
    expect(f).toMatchObject({ status: 'pass', evidence: `1 destination(s) receive samples over HTTPS (TLS 1.2+, certificates verified): ${ws} → aps-workspaces.eu-west-1.amazonaws.com (system CAs)` });
  });

  it('warns about old keys, unfinished rotations, token hygiene, MFA, findings; fails a broken chain or expired certificate', () => {
    const now = Date.now();
    const ws = app.control.createWorkspace({ alias: 'prod' }).workspaceId;
    const over = app.control.createToken(ws, { scopes: ['query', 'admin'] });
    const later = now + 400 * DAY;
    const extra: ChecklistExtra = { ...healthy(later), console: { passwordSet: true, mfaEnabled: false }, tls: { enabled: true, certificateExpiresAt: new Date(later - DAY).toISOString() } };
    const index = new DiscoveryIndex();
    index.observeNewSeries(ws, [labelsFromRecord({ __name__: 'x', email: 'bob@example.com' })]);
    let items = computeChecklist(app, { ...extra, findings: index.all() });
    expect(item(items, 'tls')).toMatchObject({ status: 'fail', fix: { action: 'ampule cert issue' } });
    expect(item(items, 'data-keys')).toMatchObject({ status: 'warn', evidence: expect.stringContaining('older than a year'), fix: { action: `ampule key rotate-data --workspace ${ws}` } });
    const tokens = item(items, 'tokens');
    expect(tokens.status).toBe('warn');
    expect(tokens.evidence).toContain('unused for 30+ days');
    expect(tokens.evidence).toContain('combine admin with other scopes');
    expect(tokens.evidence).toContain('never expire');
    expect(tokens.fix!.action).toBe(`ampule token revoke ${over.tokenId}`);
    expect(item(items, 'console-mfa')).toMatchObject({ status: 'warn', fix: { action: 'ampule console mfa enable' } });
    expect(item(items, 'pii')).toMatchObject({ status: 'warn', evidence: expect.stringContaining('E-mail address'), fix: { action: `ampule rules set --workspace ${ws} --hash email` } });
    expect(item(items, 'pii').evidence).not.toContain('bob@');

    app.closeStore(ws);
    const control = controlDatabase(app);
    app.settings.beginRotation(ws, control.keys.rotate(ws, new Date().toISOString()));
    expect(item(computeChecklist(app, healthy(now)), 'data-keys')).toMatchObject({ status: 'warn', fix: { action: `ampule key rotate-data --workspace ${ws}` } });

    control.db.prepare(`UPDATE activity_log SET action = 'workspace.list' WHERE seq = 1`).run();
    items = computeChecklist(app, healthy(now));
    expect(item(items, 'activity-log')).toMatchObject({ status: 'fail', evidence: expect.stringContaining('broken at record 1') });
    expect(item(computeChecklist(app, {}), 'plaintext-scan')).toMatchObject({ status: 'warn', fix: { action: 'startSelfTest' } });
    expect(item(computeChecklist(app, {}), 'tls').status).toBe('warn');
  });
});
