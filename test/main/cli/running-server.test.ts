// Every command while `ampule serve` runs (issue 13): the server is a real `node bin/ampule.mjs
// serve` with the real keychain; the commands are separate `node bin/ampule.mjs` processes whose
// environment reaches no keychain at all, so each one that succeeds was run by the server over the
// admin socket — proven at the end, when the same read fails with the keychain error once the
// server is gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keychainSkipNote, noKeychainReason, removeService, uniqueService } from '../crypto/keychain-env';
import { ampule, ensureBuilt, startBinServe, type BinResult, type BinServe } from './bin-process';

const NO_STACK = /\n\s+at |ERR_|EACCES|ENOENT|EPERM|EEXIST|ENOTDIR/;

describe.skipIf(noKeychainReason || process.platform === 'win32')(`every command while ampule serve runs${keychainSkipNote}`, () => {
  const service = uniqueService();
  const dir = mkdtempSync(join(tmpdir(), 'ampule-running-'));
  const dataDir = join(dir, 'data');
  const work = join(dir, 'work'); // the caller's working directory, not the server's
  const serverEnv = { ...process.env, AMPULE_KEYCHAIN_SERVICE: service };
  // A session bus that does not exist: run here, any command that needs the master key fails.
  const clientEnv = { ...serverEnv, DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(dir, 'no-bus')}` };
  let serve: BinServe;
  let workspaceId: string;
  const cli = (args: string[], cwd = work): Promise<BinResult> => ampule([...args, '--data-dir', dataDir], { env: clientEnv, cwd });

  beforeAll(async () => {
    ensureBuilt();
    mkdirSync(work);
    serve = await startBinServe(dataDir, serverEnv);
  }, 120_000);
  afterAll(async () => {
    if (serve && serve.process.exitCode === null) await serve.stop();
    removeService(service);
    rmSync(dir, { recursive: true, force: true });
  });

  it('workspace create warns about an e-mail address in the alias and a card number in a tag', async () => {
    const r = await cli(['workspace', 'create', '--alias', 'jane.doe@example.com', '--tag', 'billing=4111 1111 1111 1111', '--json']);
    expect(r.status).toBe(0);
    workspaceId = (JSON.parse(r.stdout) as { workspaceId: string }).workspaceId;
    expect(r.stderr).toMatch(/Warning: this looks like sensitive data/);
    expect(r.stderr).toMatch(/E-mail address in the alias: j\*\*\*@e\*\*\*\.com/);
    expect(r.stderr).toMatch(/Payment card number in tag billing: .*1111/);
    expect(r.stderr).not.toContain('jane.doe@example.com');
  });

  it('the read-only commands answer through the server', async () => {
    const list = await cli(['workspace', 'list', '--json']);
    expect(list.stderr).toBe('');
    expect((JSON.parse(list.stdout) as { workspaceId: string }[]).map((w) => w.workspaceId)).toEqual([workspaceId]);

    const described = await cli(['workspace', 'describe', workspaceId]);
    expect(described.status).toBe(0);
    expect(described.stdout).toContain(`workspaceId  ${workspaceId}`);

    expect((await cli(['token', 'create', '--workspace', workspaceId, '--scope', 'query', '--name', 'grafana'])).status).toBe(0);
    const tokens = await cli(['token', 'list', '--workspace', workspaceId, '--json']);
    expect(tokens.status).toBe(0);
    expect(JSON.parse(tokens.stdout)).toMatchObject([{ name: 'grafana', scopes: ['query'] }]);

    const retention = await cli(['retention', 'show', '--workspace', workspaceId, '--json']);
    expect(JSON.parse(retention.stdout)).toEqual({ workspaceId, retentionDays: 150, default: true });

    const audit = await cli(['audit', 'verify']);
    expect(audit.status).toBe(0);
    expect(audit.stdout).toMatch(/^Activity log verified/);

    const status = await cli(['status', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, url: `https://localhost:${serve.port}`, consoleUrl: `https://localhost:${serve.port}/console/` });
  });

  it('describe of an unknown id names it and where the ids are, not the keychain', async () => {
    const r = await cli(['workspace', 'describe', 'ws-00000000-0000-4000-8000-000000000000']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe('ampule workspace describe: no workspace ws-00000000-0000-4000-8000-000000000000 (ampule workspace list shows them)');
  });

  it('relative paths are the caller\'s: ca export --out writes into the caller\'s folder; a missing folder is explained', async () => {
    const r = await cli(['ca', 'export', '--out', 'ampule-ca.pem']);
    expect(r.status).toBe(0);
    expect(readFileSync(join(work, 'ampule-ca.pem'), 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);

    const missing = await cli(['ca', 'export', '--out', 'no/such/folder/ca.pem']);
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim()).toBe(`ampule ca export: cannot use ${join(work, 'no/such/folder/ca.pem')}: the folder ${join(work, 'no/such/folder')} does not exist. Create it first (mkdir -p ${join(work, 'no/such/folder')}) or choose another path.`);
    expect(missing.stderr).not.toMatch(NO_STACK);
  });

  it('a command that takes a while (cert issue, asynchronous crypto) gets its answer; --out-dir is the caller\'s', async () => {
    const r = await cli(['cert', 'issue', '--workspace', workspaceId, '--out-dir', 'certs']);
    expect(r.stderr).toMatch(/^Client certificate for ws-/);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${join(work, 'certs', `${workspaceId}.crt`)}\n${join(work, 'certs', `${workspaceId}.key`)}\n`);
    expect(readFileSync(join(work, 'certs', `${workspaceId}.crt`), 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('console set-password prints the running server\'s console URL', async () => {
    writeFileSync(join(work, 'pw'), 'a long console password\n', { mode: 0o600 });
    const r = await cli(['console', 'set-password', '--password-file', 'pw']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`Sign in at https://localhost:${serve.port}/console/ (the running ampule serve)`);
    expect(r.stdout).not.toContain('<port>');
  });

  it('a second serve on the same data directory is refused before it opens anything', async () => {
    const r = await cli(['serve', '--port', '0']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(`ampule serve: Ampule already runs on ${dataDir} (ampule serve or the desktop app) and holds its stores; stop it first (\`ampule status\` shows it)`);
  });

  it('with the server stopped, the same reads run here and need the keychain (so they were forwarded)', async () => {
    expect(await serve.stop()).toBe(0);
    const r = await cli(['workspace', 'list']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/keychain/i);
    const status = await cli(['status']);
    expect(status.stdout).toBe(`No ampule serve (or desktop app) runs on ${dataDir}; start one with \`ampule serve\`.\n`);
    const pw = await cli(['console', 'set-password', '--password-file', 'pw']);
    expect(pw.stdout).toContain('Sign in at https://localhost:9443/console/ once `ampule serve` runs');
    expect(existsSync(join(dataDir, 'admin.sock'))).toBe(false);
  });
});
