// `ampule backup` / `ampule restore` end to end on a real data directory: settings, rule-groups
// namespaces and the alert manager definition (its credential never in clear) travel with the
// data, a restore lands in a new workspace, and a bad file or passphrase restores nothing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempKeyFileDir } from '../core/key-file-dir';
import { openAppliance } from '../../../main/core/open-appliance';
import { labelsFromRecord } from '../../../shared/labels';
import { AlertManagerStore } from '../../../main/alerting/definition-store';
import { controlDatabase } from '../../../main/retention/key-lifecycle';
import type { Appliance } from '../../../main/core/appliance';

const RULES = 'groups:\n  - name: orders\n    interval: 30s\n    rules:\n      - record: shop:orders_total:sum\n        expr: sum by (shop) (orders_total)\n';
const AM_SECRET = 'am-bearer-backup-secret-7731';
const AM = `alertmanagers:\n  - url: https://am.example:9093\n    authorization:\n      credentials: ${AM_SECRET}\n`;
const alertManagers = (app: Appliance) => {
  const control = controlDatabase(app);
  return new AlertManagerStore(control.db, (id) => control.dataKeys(id));
};

let dir: string;
let keyFile: string;
beforeEach(() => {
  ({ dir, keyFile } = tempKeyFileDir('ampule-backup-cli-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function run(env: Record<string, string>, ...argv: string[]) {
  const { status, out, err } = await runCli(dir, keyFile, argv, env);
  return { status, out: out.join('\n'), err: err.join('\n') };
}

describe('ampule backup / restore', () => {
  it('round-trips a workspace with its settings into a new workspace; refuses bad input', async () => {
    const app = await openAppliance({ dataDir: join(dir, 'data'), masterKeyFile: keyFile });
    const ws = app.control.createWorkspace({ alias: 'orders', tags: { env: 'prod' } }).workspaceId;
    app.settings.setRetentionDays(ws, 42);
    app.ingestRules.set(ws, { drop: ['pod'], hash: [] });
    app.ruleNamespaces.put(ws, 'orders-rules', RULES);
    app.ruleNamespaces.put(ws, 'second', 'groups:\n  - name: g2\n    rules:\n      - record: two\n        expr: vector(2)\n');
    alertManagers(app).put(ws, AM);
    const a = app.store(ws).appender();
    const t0 = Date.now() - 3600_000;
    for (let i = 0; i < 100; i++) a.append(0, labelsFromRecord({ __name__: 'orders_total', shop: `s${i % 5}` }), t0 + i * 1000, i);
    a.commit();
    app.close();

    const env = { AMPULE_BACKUP_PASSPHRASE: 'correct horse battery staple' };
    const file = join(dir, 'orders.ampbak');
    expect(await run({ AMPULE_BACKUP_PASSPHRASE: 'short' }, 'backup', '--workspace', ws, '--out', file)).toMatchObject({ status: 2, err: expect.stringContaining('at least 12') });
    const b = await run(env, 'backup', '--workspace', ws, '--out', file);
    expect(b).toMatchObject({ status: 0, err: expect.stringMatching(/backup: 5 series, 100 samples/) });
    expect(readFileSync(file).includes(Buffer.from('orders_total'))).toBe(false);
    expect(readFileSync(file).includes(Buffer.from(AM_SECRET))).toBe(false); // the definition's credential is sealed with the rest

    expect(await run(env, 'restore', file)).toMatchObject({ status: 1, err: expect.stringContaining('still exists') });
    expect(await run({ AMPULE_BACKUP_PASSPHRASE: 'wrong passphrase!!' }, 'restore', file, '--as-new')).toMatchObject({ status: 1, err: expect.stringMatching(/wrong passphrase.*Nothing was restored/) });
    const damaged = Buffer.from(readFileSync(file));
    damaged[damaged.length - 20]! ^= 1;
    writeFileSync(join(dir, 'bad.ampbak'), damaged);
    expect(await run(env, 'restore', join(dir, 'bad.ampbak'), '--as-new')).toMatchObject({ status: 1, err: expect.stringContaining('damaged') });
    const pf = join(dir, 'pass.txt');
    writeFileSync(pf, 'correct horse battery staple\n', { mode: 0o600 });
    let listed = await run({}, 'workspace', 'list', '--json');
    expect(JSON.parse(listed.out)).toHaveLength(1); // nothing was half-restored

    const r = await run({}, 'restore', file, '--as-new', '--passphrase-file', pf, '--json');
    expect(r.status).toBe(0);
    const restored = JSON.parse(r.out) as { workspaceId: string; originalWorkspaceId: string; samples: number };
    expect(restored).toMatchObject({ originalWorkspaceId: ws, samples: 100, ruleNamespaces: 2, alertManager: true, refused: [] });
    expect(r.out).not.toContain(AM_SECRET);
    expect(restored.workspaceId).not.toBe(ws);

    const again = await openAppliance({ dataDir: join(dir, 'data'), masterKeyFile: keyFile });
    const all = [{ type: '=' as const, name: '__name__', value: 'orders_total' }];
    const src = again.store(ws).querier().select(all, 0, Date.now());
    const dst = again.store(restored.workspaceId).querier().select(all, 0, Date.now());
    expect(JSON.stringify(dst.map((s) => [s.labels, [...s.timestamps], [...s.values]]))).toBe(JSON.stringify(src.map((s) => [s.labels, [...s.timestamps], [...s.values]])));
    expect(again.control.describeWorkspace(restored.workspaceId)).toMatchObject({ alias: 'orders', tags: { env: 'prod' } });
    expect(again.settings.retentionDays(restored.workspaceId)).toBe(42);
    // Rule namespaces and the alert manager definition (with its credential) came back, sealed under the new workspace's key.
    expect(again.ruleNamespaces.list(restored.workspaceId).map((n) => n.name)).toEqual(['orders-rules', 'second']);
    expect(again.ruleNamespaces.describe(restored.workspaceId, 'orders-rules').data).toBe(RULES);
    expect(alertManagers(again).text(restored.workspaceId)).toBe(AM);
    expect(alertManagers(again).definition(restored.workspaceId)!.alertmanagers[0]).toMatchObject({ url: 'https://am.example:9093/' });
    expect(again.ingestRules.get(restored.workspaceId)).toEqual({ drop: ['pod'], hash: [] });
    // The label-hash key travels too: values hashed before and after the restore still match.
    expect(again.ingestRules.exportState(restored.workspaceId)!.hashKey).toBe(again.ingestRules.exportState(ws)!.hashKey);
    again.close();
    listed = await run({}, 'audit', 'export', '--json');
    expect(listed.out).toContain('workspace.restore');
  }, 60_000);
});
