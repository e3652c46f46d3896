// `ampule audit verify|export` end to end on a real data directory (master key from a 0600 file):
// control-plane actions and token failures land in the log, tampering makes verify exit 1.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli, tempKeyFileDir } from '../core/key-file-dir';
import { openAppliance } from '../../../main/core/open-appliance';

let dir: string;
let keyFile: string;
beforeEach(() => {
  ({ dir, keyFile } = tempKeyFileDir('ampule-audit-cli-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const run = (...argv: string[]) => runCli(dir, keyFile, argv);

describe('ampule audit', () => {
  it('records control-plane actions and aggregated token failures; verify and export', async () => {
    const created = await run('workspace', 'create', '--alias', 'secret-project-aardvark', '--json');
    expect(created.status).toBe(0);
    const ws = JSON.parse(created.out.join('\n')).workspaceId as string;
    const app = await openAppliance({ dataDir: join(dir, 'data'), masterKeyFile: keyFile });
    for (let i = 0; i < 500; i++) app.control.verifyToken('amp_0123456789abcdef_' + 'x'.repeat(43));
    app.close();

    const exp = await run('audit', 'export', '--json');
    expect(exp.status).toBe(0);
    const records = exp.out.map((l) => JSON.parse(l));
    expect(records.find((r) => r.action === 'workspace.create')).toMatchObject({ workspaceId: ws, outcome: 'ok' });
    const failures = records.filter((r) => r.action === 'token.verify');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ count: 500, outcome: 'denied' });
    expect(JSON.stringify(records)).not.toContain('xxxxxxxx');

    expect((await run('audit', 'export', '--since', '2099-01-01T00:00:00Z')).out).toEqual([]);
    const ok = await run('audit', 'verify');
    expect(ok).toMatchObject({ status: 0 });
    expect(ok.out[0]).toMatch(/^Activity log verified: all \d+ records are intact/);

    const db = new Database(join(dir, 'data', 'control.db'));
    db.prepare(`UPDATE activity_log SET workspace_id = NULL WHERE seq = 1`).run();
    db.close();
    const bad = await run('audit', 'verify');
    expect(bad.status).toBe(1);
    expect(bad.err[0]).toMatch(/BROKEN at record 1: record 1 was edited/);
  });

  it('stays verifiable and readable after a master-key rotation', async () => {
    expect((await run('workspace', 'create', '--alias', 'before-rotation')).status).toBe(0);
    const next = join(dir, 'next.key');
    writeFileSync(next, randomBytes(32).toString('hex'), { mode: 0o600 });
    expect((await run('key', 'rotate', '--new-master-key-file', next)).status).toBe(0);
    keyFile = next;
    const v = await run('audit', 'verify');
    expect(v.status).toBe(0);
    const records = (await run('audit', 'export', '--json')).out.map((l) => JSON.parse(l));
    expect(records.map((r) => r.action)).toEqual(expect.arrayContaining(['workspace.create', 'key.rotate']));
    expect(records.find((r) => r.action === 'key.rotate')).toMatchObject({ outcome: 'ok', detail: 'provider=file' });
  });

  it('rejects a bad --since', async () => {
    const r = await run('audit', 'export', '--since', 'yesterday-ish');
    expect(r.status).toBe(2);
    expect(r.err[0]).toMatch(/not a time/);
  });
});
