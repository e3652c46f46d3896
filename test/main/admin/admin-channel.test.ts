// The admin channel of a running `ampule serve` (real processes, real keychain): state-changing
// commands are forwarded to the server and run with its open appliance (proven by running the
// client without any keychain access), the socket is private, stale sockets are cleaned up, and a
// second server on the same data directory is refused.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminSocketPath } from '../../../main/admin/channel';
import { noKeychainReason, removeService, uniqueService, withoutBus } from '../crypto/keychain-env';
import { runCli, startServe } from '../http/cli-process';

const skip = noKeychainReason ? ` (skipped: ${noKeychainReason})` : '';

describe.skipIf(noKeychainReason || process.platform === 'win32')(`admin channel${skip}`, () => {
  const service = uniqueService();
  const dataDir = mkdtempSync(join(tmpdir(), 'ampule-admin-'));
  const env = { ...process.env, AMPULE_KEYCHAIN_SERVICE: service };
  afterAll(() => {
    removeService(service);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('forwards workspace and token commands to the running server, over a 0600 socket', async () => {
    const serve = await startServe(dataDir, env);
    try {
      const sock = adminSocketPath(dataDir);
      expect(statSync(sock).mode & 0o777).toBe(0o600);
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      // No D-Bus at all: run locally these commands would fail to reach the keychain.
      const local = { ...withoutBus(), AMPULE_KEYCHAIN_SERVICE: service };
      const created = await runCli(['workspace', 'create', '--data-dir', dataDir, '--alias', 'forwarded', '--json'], local);
      expect(created.stderr).toBe('');
      expect(created.status).toBe(0);
      const ws = JSON.parse(created.stdout).workspaceId as string;
      const token = await runCli(['token', 'create', '--data-dir', dataDir, '--workspace', ws, '--scope', 'query', '--json'], local);
      expect(token.status).toBe(0);
      expect(JSON.parse(token.stdout).token).toMatch(/^amp_/);
      // Errors come back with the command's status and message.
      const bad = await runCli(['token', 'create', '--data-dir', dataDir, '--workspace', 'ws-nope', '--scope', 'query'], local);
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
      const again = await runCli(['workspace', 'create', '--data-dir', dataDir, '--alias', 'second', '--json'], local);
      expect(again.status).toBe(0);
    } finally {
      serve.process.kill('SIGTERM');
      expect(await serve.exited).toBe(0);
    }
    expect(existsSync(adminSocketPath(dataDir))).toBe(false);
    // Without a server the same command runs locally (with the keychain).
    const list = await runCli(['workspace', 'list', '--data-dir', dataDir, '--json'], env);
    expect(list.status).toBe(0);
    expect(JSON.parse(list.stdout)).toHaveLength(2);
  });

  it('refuses a second server on the same data directory', async () => {
    const serve = await startServe(dataDir, env);
    try {
      await expect(startServe(dataDir, env)).rejects.toThrow(/already running/);
    } finally {
      serve.process.kill('SIGTERM');
      await serve.exited;
    }
  });

  it('runs commands locally past a socket left by a killed server, and a new server replaces it', async () => {
    const serve = await startServe(dataDir, env);
    serve.process.kill('SIGKILL');
    await serve.exited;
    expect(existsSync(adminSocketPath(dataDir))).toBe(true);
    const created = await runCli(['workspace', 'create', '--data-dir', dataDir, '--alias', 'after-crash', '--json'], env);
    expect(created.status).toBe(0);
    const next = await startServe(dataDir, env);
    next.process.kill('SIGTERM');
    expect(await next.exited).toBe(0);
  });
});
