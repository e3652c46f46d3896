// The admin channel of a running `ampule serve` (real processes, real keychain): state-changing
// commands are forwarded to the server and run with its open appliance (proven by giving the
// client a master-key file that does not exist), the socket is private, stale sockets are cleaned up, and a
// second server on the same data directory is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminSocketPath, isAdminRequest } from '../../../main/admin/channel';
import { AdminChannelBusyError, startAdminChannel } from '../../../main/admin/server';
import { openAppliance } from '../../../main/core/open-appliance';
import { main } from '../../../main/cli/index';
import { keychainSkipNote, noKeychainReason, removeService, uniqueService } from '../crypto/keychain-env';
import { startServe } from '../http/cli-process';

/** Runs the CLI in this process; `env` is what the command sees (data dir, keychain service). */
async function runCli(args: string[], env: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), env });
  return { status, stdout: out.join('\n'), stderr: err.join('\n') };
}

const noKeyFile = (dataDir: string) => ['--master-key-file', join(dataDir, 'no-such-key-file')];

describe.skipIf(noKeychainReason || process.platform === 'win32')(`admin channel${keychainSkipNote}`, () => {
  const service = uniqueService();
  const dataDir = mkdtempSync(join(tmpdir(), 'ampule-admin-'));
  const env = { ...process.env, AMPULE_KEYCHAIN_SERVICE: service };
  // Commands run in this process open the keychain service named by the process environment.
  const previousService = process.env.AMPULE_KEYCHAIN_SERVICE;
  beforeAll(() => {
    process.env.AMPULE_KEYCHAIN_SERVICE = service;
  });
  afterAll(() => {
    if (previousService === undefined) delete process.env.AMPULE_KEYCHAIN_SERVICE;
    else process.env.AMPULE_KEYCHAIN_SERVICE = previousService;
    removeService(service);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('forwards workspace and token commands to the running server, over a 0600 socket', async () => {
    const serve = await startServe(dataDir, env);
    try {
      const sock = adminSocketPath(dataDir);
      expect(statSync(sock).mode & 0o777).toBe(0o600);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      // A master-key file that does not exist: run locally, these commands could not open the data
      // directory at all; forwarded, the server runs them with its already open appliance.
      const noKey = noKeyFile(dataDir);
      const local = env;
      const created = await runCli(['workspace', 'create', '--data-dir', dataDir, ...noKey, '--alias', 'forwarded', '--json'], local);
      expect(created.stderr).toBe('');
      expect(created.status).toBe(0);
      const ws = JSON.parse(created.stdout).workspaceId as string;
      const token = await runCli(['token', 'create', '--data-dir', dataDir, ...noKey, '--workspace', ws, '--scope', 'query', '--json'], local);
      expect(token.status).toBe(0);
      expect(JSON.parse(token.stdout).token).toMatch(/^amp_/);
      // Errors come back with the command's status and message.
      const bad = await runCli(['token', 'create', '--data-dir', dataDir, ...noKey, '--workspace', 'ws-nope', '--scope', 'query'], local);
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toMatch(/ws-nope|not found|workspace/i);
      // A malformed request gets a clear refusal, and the server keeps going.
      const reply = await new Promise<string>((resolve) => {
        const s = connect(sock);
        let got = '';
        s.on('data', (c) => (got += c));
        s.on('close', () => resolve(got));
        s.end('{"v":1,"argv":"not a list"}\n');
      });
      expect(JSON.parse(reply)).toMatchObject({ status: 2 });
      const again = await runCli(['workspace', 'create', '--data-dir', dataDir, ...noKey, '--alias', 'second', '--json'], local);
      expect(again.status).toBe(0);
      // A second server on the same data directory is refused (what `ampule serve` runs at start).
      const second = await openAppliance({ dataDir, keychainService: service });
      try {
        await expect(startAdminChannel(second, main)).rejects.toThrow(AdminChannelBusyError);
      } finally {
        second.close();
      }
    } finally {
      serve.process.kill('SIGTERM');
      expect(await serve.exited).toBe(0);
    }
    expect(existsSync(adminSocketPath(dataDir))).toBe(false);
    // Without a server the key file is needed, and missing: the command now runs locally.
    expect((await runCli(['workspace', 'create', '--data-dir', dataDir, ...noKeyFile(dataDir), '--alias', 'x'], env)).status).not.toBe(0);
    const list = await runCli(['workspace', 'list', '--data-dir', dataDir, '--json'], env);
    expect(list.status).toBe(0);
    expect(JSON.parse(list.stdout)).toHaveLength(2);
  });

  it('runs commands locally past a socket left by a killed server, and a new server replaces it', async () => {
    const serve = await startServe(dataDir, env);
    serve.process.kill('SIGKILL');
    await serve.exited;
    expect(existsSync(adminSocketPath(dataDir))).toBe(true);
    const created = await runCli(['workspace', 'create', '--data-dir', dataDir, '--alias', 'after-crash', '--json'], env);
    expect(created.status).toBe(0);
    const appliance = await openAppliance({ dataDir, keychainService: service });
    try {
      const channel = await startAdminChannel(appliance, main);
      expect(statSync(channel.path).mode & 0o777).toBe(0o600);
      const listed = await runCli(['workspace', 'create', '--data-dir', dataDir, ...noKeyFile(dataDir), '--alias', 'via-new-channel', '--json'], env);
      expect(listed.status).toBe(0);
      await channel.close();
      expect(existsSync(channel.path)).toBe(false);
    } finally {
      appliance.close();
    }
  });
});

describe('admin requests', () => {
  it('carry an absolute working directory or none', () => {
    expect(isAdminRequest({ v: 1, argv: ['workspace', 'list'] })).toBe(true);
    expect(isAdminRequest({ v: 1, argv: ['ca', 'export', '--out', 'ca.pem'], cwd: process.platform === 'win32' ? 'C:\\work' : '/work' })).toBe(true);
    expect(isAdminRequest({ v: 1, argv: [], cwd: 'relative/dir' })).toBe(false);
    expect(isAdminRequest({ v: 1, argv: [], cwd: 42 })).toBe(false);
    expect(isAdminRequest({ v: 1, argv: [], cwd: '/' + 'x'.repeat(5000) })).toBe(false);
    expect(isAdminRequest({ v: 2, argv: [] })).toBe(false);
  });
});
