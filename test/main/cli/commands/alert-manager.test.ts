// `ampule alert-manager …` through main(argv, io) against a real data directory (a key file stands
// in for the keychain): put/describe/delete with the activity log, a refused definition that names
// the field and stores nothing, and no credential in describe output, the activity log, error
// output or any file of the data directory.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../../main/cli/index';
import { filesContaining } from '../../control/helpers';

const dir = mkdtempSync(join(tmpdir(), 'ampule-am-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const keyFile = join(dir, 'master.key');
writeFileSync(keyFile, randomBytes(32));
chmodSync(keyFile, 0o600);
const base = ['--data-dir', join(dir, 'data'), '--master-key-file', keyFile];
const PW = 'pw-' + randomBytes(8).toString('hex');
const TOKEN = 'tok-' + randomBytes(8).toString('hex');

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await main([...argv, ...base], { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { status, out: out.join('\n'), err: err.join('\n') };
}

describe('alert-manager commands', () => {
  it('put, describe, delete; the activity log records them; no credential is ever shown', async () => {
    const ws = (JSON.parse((await run('workspace', 'create', '--alias', 'am', '--json')).out) as { workspaceId: string }).workspaceId;
    const yaml = join(dir, 'am.yaml');
    writeFileSync(yaml, `alertmanagers:\n  - url: https://am.example:9093\n    basic_auth: { username: ops, password: ${PW} }\nwebhooks:\n  - name: pager\n    url: https://hooks.example/alert\n    authorization: { credentials: ${TOKEN} }\n`);
    const put = await run('alert-manager', 'put', '--workspace', ws, '--file', yaml);
    expect(put.status, put.err).toBe(0);
    expect(put.out).toBe(`Alert manager definition of ${ws}: 1 alertmanager(s), 1 webhook(s).`);

    const desc = await run('alert-manager', 'describe', '--workspace', ws);
    expect(desc.out).toContain('https://am.example:9093/');
    expect(desc.out).toContain('"password": "<secret>"');
    const json = JSON.parse((await run('alert-manager', 'describe', '--workspace', ws, '--json')).out) as { status: string; definition: { webhooks: { authorization: unknown }[] } };
    expect(json.status).toBe('ACTIVE');
    expect(json.definition.webhooks[0]!.authorization).toEqual({ type: 'Bearer', credentials: '<secret>' });

    const jsonFile = join(dir, 'am.json');
    writeFileSync(jsonFile, JSON.stringify({ alertmanagers: [{ url: 'http://am.example:9093', authorization: { credentials: TOKEN } }] }));
    const bad = await run('alert-manager', 'put', '--workspace', ws, '--file', jsonFile);
    expect(bad.status).toBe(1);
    expect(bad.err).toContain('alertmanagers[0].url: must use https');
    expect((await run('alert-manager', 'describe', '--workspace', ws)).out).toContain('https://hooks.example/alert'); // the previous one stays

    expect((await run('alert-manager', 'delete', '--workspace', ws)).status).toBe(0);
    const gone = await run('alert-manager', 'describe', '--workspace', ws);
    expect(gone.status).not.toBe(0);
    expect(gone.err).toContain('has no alert manager definition');
    expect((await run('alert-manager', 'delete', '--workspace', ws)).status).not.toBe(0);

    const audit = (await run('audit', 'export')).out;
    const log = audit.split('\n').filter((l) => l.includes('alert_manager.'));
    expect(log.map((l) => l.split('\t').slice(2, 4).join(' '))).toEqual(['alert_manager.put ok', 'alert_manager.put error', 'alert_manager.delete ok', 'alert_manager.delete error']);

    for (const text of [put.out, put.err, desc.out, JSON.stringify(json), bad.err, audit]) {
      expect(text).not.toContain(PW);
      expect(text).not.toContain(TOKEN);
    }
    expect(filesContaining(join(dir, 'data'), PW)).toEqual([]);
    expect(filesContaining(join(dir, 'data'), TOKEN)).toEqual([]);
  });
});
