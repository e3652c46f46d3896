// The workspace, token and key commands through main(argv, io), and once through the built
// `node bin/ampule.mjs`. Key files stand in for the keychain so each test owns its master key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { main } from '../../../main/cli/index';
import { commands } from '../../../main/cli/commands';
import { parseExpiry } from '../../../main/cli/commands/token';
import { ensureBuilt } from './bin-process';

const root = resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'ampule-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function newKeyFile(name: string): string {
  const p = join(dir, name);
  writeFileSync(p, randomBytes(32));
  chmodSync(p, 0o600);
  return p;
}
const keyFile = newKeyFile('master.key');
const dataDir = join(dir, 'data');
const base = ['--data-dir', dataDir, '--master-key-file', keyFile];

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await main([...argv, ...base], { out: (l) => out.push(l), err: (l) => err.push(l), env: {} });
  return { status, out: out.join('\n'), err: err.join('\n') };
}

/** Runs a --json command: exit 0, stdout is exactly one JSON value, stderr empty. */
async function json(...argv: string[]) {
  const r = await run(...argv, '--json');
  expect(r.err).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.out) as unknown;
}

const WORKSPACE_FIELDS = ['alias', 'createdAt', 'status', 'tags', 'workspaceId'];

describe('workspace commands', () => {
  it('create/list/describe/update --json print one object or array with AMP field names', async () => {
    const created = (await json('workspace', 'create', '--alias', 'prod', '--tag', 'team=sre', '--tag', 'expr=a=b')) as Record<string, unknown>;
    expect(Object.keys(created).sort()).toEqual(WORKSPACE_FIELDS);
    expect(created).toMatchObject({ alias: 'prod', status: 'ACTIVE', tags: { team: 'sre', expr: 'a=b' } });
    const id = created.workspaceId as string;

    const list = (await json('workspace', 'list')) as Record<string, unknown>[];
    expect(Array.isArray(list)).toBe(true);
    expect(list.map((w) => w.workspaceId)).toContain(id);
    expect(Object.keys(list[0]!).sort()).toEqual(WORKSPACE_FIELDS);

    expect(await json('workspace', 'describe', id)).toEqual(created);

    const updated = (await json('workspace', 'update', id, '--alias', 'production', '--tag', 'tier=1', '--remove-tag', 'expr')) as Record<string, unknown>;
    expect(updated).toMatchObject({ workspaceId: id, alias: 'production', tags: { team: 'sre', tier: '1' } });
  });

  it('human output and usage errors', async () => {
    const created = await run('workspace', 'create', '--alias', 'human');
    expect(created.status).toBe(0);
    expect(created.out).toMatch(/^Created workspace ws-[0-9a-f-]{36}$/);
    const list = await run('workspace', 'list');
    expect(list.out.split('\n')[0]).toMatch(/^WORKSPACE ID\s+STATUS\s+CREATED\s+ALIAS$/);
    const noAlias = await run('workspace', 'create');
    expect(noAlias.status).toBe(2);
    expect(noAlias.err).toMatch(/--alias is required/);
    const badTag = await run('workspace', 'create', '--alias', 'x', '--tag', 'novalue');
    expect(badTag.status).toBe(2);
    expect(badTag.err).toMatch(/--tag "novalue" must look like key=value/);
    const nothing = await run('workspace', 'update', 'ws-00000000-0000-0000-0000-000000000000');
    expect(nothing.status).toBe(2);
    expect(nothing.err).toMatch(/nothing to change/);
  });

  it('validation failures name the field and the rule, exit 1, nothing on stdout', async () => {
    const long = await run('workspace', 'create', '--alias', 'x'.repeat(101), '--json');
    expect(long).toMatchObject({ status: 1, out: '' });
    expect(long.err).toBe('ampule workspace create: alias: must be 1 to 100 characters long (got 101)');
    const aws = await run('workspace', 'create', '--alias', 'x', '--tag', 'aws:x=1');
    expect(aws.err).toMatch(/tags: tag key "aws:x" must not start with "aws:"/);
    const missing = await run('workspace', 'describe', 'ws-00000000-0000-0000-0000-000000000000', '--json');
    expect(missing).toMatchObject({ status: 1, out: '' });
    expect(missing.err).toBe('ampule workspace describe: no workspace ws-00000000-0000-0000-0000-000000000000 (ampule workspace list shows them)');
  });

  it('delete needs --yes', async () => {
    const { workspaceId } = (await json('workspace', 'create', '--alias', 'doomed')) as { workspaceId: string };
    const refused = await run('workspace', 'delete', workspaceId);
    expect(refused.status).toBe(2);
    expect(refused.err).toMatch(/add --yes to confirm/);
    expect(await json('workspace', 'delete', workspaceId, '--yes')).toEqual({ workspaceId, status: 'DELETED' });
    expect((await run('workspace', 'describe', workspaceId)).status).toBe(1);
  });
});

describe('token commands', () => {
  it('create --json has the token once; list never does; revoke', async () => {
    const { workspaceId } = (await json('workspace', 'create', '--alias', 'tok')) as { workspaceId: string };
    const created = (await json('token', 'create', '--workspace', workspaceId, '--scope', 'remote_write,query', '--name', 'prom', '--expires', '30d')) as Record<string, unknown>;
    expect(created.token).toMatch(/^amp_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ workspaceId, name: 'prom', scopes: ['remote_write', 'query'], revokedAt: null });
    const days = (Date.parse(created.expiresAt as string) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);

    const list = (await json('token', 'list', '--workspace', workspaceId)) as Record<string, unknown>[];
    expect(list).toHaveLength(1);
    expect(list[0]).not.toHaveProperty('token');
    expect(JSON.stringify(list)).not.toContain(created.token as string);

    const revoked = (await json('token', 'revoke', created.tokenId as string)) as Record<string, unknown>;
    expect(revoked.revokedAt).toEqual(expect.any(String));
  });

  it('human create prints the token alone on stdout, the warning on stderr', async () => {
    const { workspaceId } = (await json('workspace', 'create', '--alias', 'tok2')) as { workspaceId: string };
    const r = await run('token', 'create', '--workspace', workspaceId, '--scope', 'admin', '--scope', 'query');
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/^amp_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(r.err).toMatch(/only time it is shown/);
    const bad = await run('token', 'create', '--workspace', workspaceId, '--scope', 'write');
    expect(bad.status).toBe(1);
    expect(bad.err).toMatch(/scopes: "write" is not a scope; use remote_write, query, admin/);
    const noScope = await run('token', 'create', '--workspace', workspaceId);
    expect(noScope.status).toBe(2);
    const badExpiry = await run('token', 'create', '--workspace', workspaceId, '--scope', 'query', '--expires', 'soon');
    expect(badExpiry.status).toBe(2);
    expect(badExpiry.err).toMatch(/--expires "soon" must be a duration like 30d/);
  });

  it('parses expiry durations and dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseExpiry('90m', now).toISOString()).toBe('2026-01-01T01:30:00.000Z');
    expect(parseExpiry('2w', now).toISOString()).toBe('2026-01-15T00:00:00.000Z');
    expect(parseExpiry('2026-03-01T00:00:00Z', now).toISOString()).toBe('2026-03-01T00:00:00.000Z');
  });
});

describe('key rotate', () => {
  it('a key-file store needs --new-master-key-file, then uses it', async () => {
    const own = ['--data-dir', join(dir, 'rot'), '--master-key-file'];
    const old = newKeyFile('rot-old.key');
    const next = newKeyFile('rot-next.key');
    const io = (out: string[], err: string[]) => ({ out: (l: string) => out.push(l), err: (l: string) => err.push(l), env: {} });
    const out: string[] = [];
    const err: string[] = [];
    expect(await main(['workspace', 'create', '--alias', 'r', ...own, old], io(out, err))).toBe(0);
    expect(await main(['key', 'rotate', ...own, old], io(out, err))).toBe(1);
    expect(err.join('\n')).toMatch(/cannot be rotated in place[\s\S]*--new-master-key-file/);
    out.length = 0;
    expect(await main(['key', 'rotate', '--new-master-key-file', next, '--json', ...own, old], io(out, err))).toBe(0);
    expect(JSON.parse(out.join('\n'))).toMatchObject({ rotated: true, masterKey: { kind: 'file' } });
    expect(await main(['workspace', 'list', ...own, old], io(out, err))).toBe(1);
    expect(err.join('\n')).toMatch(/is not the key this data directory was encrypted with/);
    out.length = 0;
    expect(await main(['workspace', 'list', '--json', ...own, next], io(out, err))).toBe(0);
    expect((JSON.parse(out.join('\n')) as { alias: string }[])[0]!.alias).toBe('r');
  });

  it('every command is forwarded to a running server, reads too; only the server itself and commands reading the caller\'s terminal or files stay here', () => {
    const local = commands.filter((c) => c.forwardToServer === false).map((c) => c.path.join(' '));
    expect(local.sort()).toEqual(['console set-password', 'promqltest', 'serve']);
  });
});

describe('bin/ampule.mjs (built bundle)', () => {
  beforeAll(() => {
    ensureBuilt();
  }, 120_000);

  it('workspace create --json prints exactly one JSON object', () => {
    const binData = join(dir, 'bin-data');
    const r = spawnSync(process.execPath, ['bin/ampule.mjs', 'workspace', 'create', '--alias', 'from-bin', '--json', '--data-dir', binData, '--master-key-file', keyFile], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const w = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(w).sort()).toEqual(WORKSPACE_FIELDS);
    expect(w.alias).toBe('from-bin');
    const bad = spawnSync(process.execPath, ['bin/ampule.mjs', 'workspace', 'create', '--alias', '', '--data-dir', binData, '--master-key-file', keyFile], { cwd: root, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
  });
});
