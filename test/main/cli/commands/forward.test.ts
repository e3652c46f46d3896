// `ampule forward …` through main(argv, io) against a real data directory (a key file stands in for
// the keychain): add/list/describe/update/remove with the activity log, a refused definition naming
// its field, and no credential or URL path in any output, the activity log or any file.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../../main/cli/index';
import { filesContaining } from '../../control/helpers';

const dir = mkdtempSync(join(tmpdir(), 'ampule-fwd-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const keyFile = join(dir, 'master.key');
writeFileSync(keyFile, randomBytes(32));
chmodSync(keyFile, 0o600);
const base = ['--data-dir', join(dir, 'data'), '--master-key-file', keyFile];
const PW = 'pw-' + randomBytes(8).toString('hex');
const HOSTNAME = `mimir-${randomBytes(4).toString('hex')}.example`;

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await main([...argv, ...base], { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { status, out: out.join('\n'), err: err.join('\n') };
}

describe('forward commands', () => {
  it('add, list, describe, update, status, remove; activity log; no credential anywhere', async () => {
    const ws = (JSON.parse((await run('workspace', 'create', '--alias', 'fw', '--json')).out) as { workspaceId: string }).workspaceId;
    const yaml = join(dir, 'dest.yaml');
    writeFileSync(yaml, `name: mimir\nurl: https://${HOSTNAME}/api/v1/push\nheaders: { X-Scope-OrgID: team-a }\nbasic_auth: { username: ops, password: ${PW} }\nqueue_config: { max_samples_per_send: 2000, batch_send_deadline: 2s }\n`);
    const add = await run('forward', 'add', '--workspace', ws, '--file', yaml, '--json');
    expect(add.status, add.err).toBe(0);
    const info = JSON.parse(add.out) as { id: string; name: string; definition: { url: string; tenant: string; auth: { kind: string; username: string } } };
    expect(info).toMatchObject({ name: 'mimir', definition: { tenant: 'team-a', auth: { kind: 'basic', username: 'ops' } } });
    expect(info.id).toMatch(/^fwd-[0-9a-f]{16}$/);

    const dup = await run('forward', 'add', '--workspace', ws, '--file', yaml);
    expect(dup.status).not.toBe(0);
    expect(dup.err).toContain('already has a destination named "mimir"');

    const list = await run('forward', 'list', '--workspace', ws);
    expect(list.out).toContain(info.id);
    expect(list.out).toContain('basic');
    const desc = await run('forward', 'describe', '--workspace', ws, '--destination', 'mimir');
    expect(desc.out).toContain(`https://${HOSTNAME}/api/v1/push`);

    const http = join(dir, 'http.yaml');
    writeFileSync(http, `name: mimir\nurl: http://${HOSTNAME}/push\n`);
    const bad = await run('forward', 'update', '--workspace', ws, '--destination', info.id, '--file', http);
    expect(bad.status).toBe(1);
    expect(bad.err).toContain('url: must use https (TLS), not http');

    writeFileSync(http, `name: mimir\nurl: https://${HOSTNAME}/v2\nprotobuf_message: io.prometheus.write.v2.Request\nauthorization: { credentials: ${PW} }\n`);
    const up = await run('forward', 'update', '--workspace', ws, '--destination', 'mimir', '--file', http, '--json');
    expect(up.status, up.err).toBe(0);
    expect(JSON.parse(up.out)).toMatchObject({ id: info.id, definition: { protobufMessage: 'io.prometheus.write.v2.Request', auth: { kind: 'bearer' } } });

    const st = await run('forward', 'status', '--workspace', ws);
    expect(st.out).toContain('No server is running');

    expect((await run('forward', 'remove', '--workspace', ws, '--destination', 'mimir')).status).toBe(0);
    expect((await run('forward', 'list', '--workspace', ws)).out).toBe(`${ws} forwards nowhere.`);
    const gone = await run('forward', 'remove', '--workspace', ws, '--destination', 'mimir');
    expect(gone.status).not.toBe(0);
    expect(gone.err).toContain('has no forwarding destination "mimir"');

    const audit = (await run('audit', 'export')).out;
    const log = audit.split('\n').filter((l) => l.includes('forward.'));
    expect(log.map((l) => l.split('\t').slice(2, 4).join(' '))).toEqual(['forward.add ok', 'forward.add error', 'forward.update error', 'forward.update ok', 'forward.remove ok', 'forward.remove error']);
    expect(log[0]).toContain(`https://${HOSTNAME}`);
    expect(log[0]).not.toContain('/api/v1/push');

    for (const text of [add.out, add.err, list.out, desc.out, bad.err, up.out, audit]) expect(text).not.toContain(PW);
    expect(filesContaining(join(dir, 'data'), PW)).toEqual([]);
    expect(filesContaining(join(dir, 'data'), HOSTNAME)).toEqual([]);
  });
});
