// Data written in one start reads in the next, for each headless protection of the master key:
// two separate `ampule serve` processes (node bin/ampule.mjs, the bundle `npm start` runs), a
// sample remote-written to the first and queried from the second.
//  - keychain: each server in its own private keychain session (build/ci/with-keychain.sh), the two
//    sessions reusing one keyring folder (AMPULE_KEYRING_HOME);
//  - passphrase: no D-Bus at all, the key sealed in the data directory; a wrong passphrase then
//    fails clearly and leaves the sealed key as it was.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeV1, snappy } from '../main/ingest/encode';
import { remoteWrite } from '../e2e/window-flows';
import { bearer, send } from '../main/http/harness';
import { withoutBus } from '../main/crypto/keychain-env';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'ampule.mjs');
const WITH_KEYCHAIN = join(ROOT, 'build', 'ci', 'with-keychain.sh');
const skip = !existsSync(join(ROOT, 'dist', 'cli.mjs')) ? 'dist/ missing: run npm run build first' : null;
if (skip) console.log(`persistence test skipped: ${skip}`);

const work = mkdtempSync(join(tmpdir(), 'ampule-persist-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Server {
  readonly pid: number;
  readonly port: number;
  stop(): Promise<number | string>;
}

/** Starts `node bin/ampule.mjs serve` (optionally through a wrapper) and waits for its URL; `pid` is the server's own. */
function serve(dataDir: string, env: NodeJS.ProcessEnv, extra: string[] = [], wrapper: string[] = []): Promise<Server> {
  // `exec` keeps the shell's pid for node, so the test stops the server itself, not the wrapper.
  const cmd = ['sh', '-c', 'echo "pid $$" >&2; exec "$@"', 'sh', process.execPath, BIN, 'serve', '--data-dir', dataDir, '--port', '0', ...extra];
  const argv = [...wrapper, ...cmd];
  const p: ChildProcess = spawn(argv[0]!, argv.slice(1), { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<number | string>((r) => p.on('exit', (code, signal) => r(code ?? signal ?? -1)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 60_000);
    p.stderr!.on('data', (c: Buffer) => (err += c));
    p.stdout!.on('data', (c: Buffer) => {
      out += c;
      const m = /listening on https:\/\/localhost:(\d+)/.exec(out);
      const pid = /pid (\d+)/.exec(err);
      if (m && pid) {
        clearTimeout(timer);
        resolve({
          pid: Number(pid[1]),
          port: Number(m[1]),
          stop: () => (process.kill(Number(pid[1]), 'SIGTERM'), exited),
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}) before listening: ${err}`));
    });
  });
}

function cli(args: string[], env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [BIN, ...args], { env, cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
}

/** First start: a workspace, a token and one sample; returns what the second start needs. */
async function writeOne(dataDir: string, env: NodeJS.ProcessEnv, server: Server): Promise<{ ws: string; token: string; t: number }> {
  // The CLI reaches the running server over its admin socket: no key needed on this side.
  const created = cli(['workspace', 'create', '--data-dir', dataDir, '--alias', 'persist', '--json'], env);
  expect(created.status, created.stderr).toBe(0);
  const ws = (JSON.parse(created.stdout) as { workspaceId: string }).workspaceId;
  const tok = cli(['token', 'create', '--data-dir', dataDir, '--workspace', ws, '--scope', 'remote_write,query', '--json'], env);
  expect(tok.status, tok.stderr).toBe(0);
  const token = (JSON.parse(tok.stdout) as { token: string }).token;
  const t = Date.now() - 60_000;
  const body = snappy(encodeV1([{ labels: [['__name__', 'persist_check'], ['job', 'start']], samples: [{ t, v: 42 }] }]));
  const ca = readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
  expect(await remoteWrite(`https://localhost:${server.port}/workspaces/${ws}/api/v1/remote_write`, ca, token, body)).toBe(204);
  return { ws, token, t };
}

async function readOne(dataDir: string, server: Server, w: { ws: string; token: string; t: number }): Promise<unknown> {
  const ca = readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
  const r = await send({ server: { port: server.port }, caPem: ca } as Parameters<typeof send>[0], {
    path: `/workspaces/${w.ws}/api/v1/query?query=persist_check&time=${(w.t + 1000) / 1000}`,
    headers: bearer(w.token),
  });
  expect(r.status, r.text).toBe(200);
  return (r.json() as { data: { result: { value: [number, string] }[] } }).data.result.map((s) => s.value[1]);
}

describe.skipIf(skip !== null)('data written in one start reads in the next (two server processes)', () => {
  it('keychain: two separate keychain sessions on one kept keyring folder', async () => {
    const dataDir = join(work, 'kc-data');
    const keyring = join(work, 'keyring');
    const pw = join(work, 'keyring-pw');
    writeFileSync(pw, 'a keyring password for this test', { mode: 0o600 });
    const env = { ...withoutBus(), AMPULE_KEYRING_HOME: keyring, AMPULE_KEYRING_PASSWORD_FILE: pw, AMPULE_KEYCHAIN_SERVICE: `AmpuleTest-persist-${process.pid}` };
    const first = await serve(dataDir, env, [], [WITH_KEYCHAIN]);
    const written = await writeOne(dataDir, env, first);
    expect(await first.stop()).toBe(0);
    expect(existsSync(join(dataDir, 'master-key.sealed'))).toBe(false);
    expect(existsSync(join(keyring, 'keyrings'))).toBe(true);

    const second = await serve(dataDir, env, [], [WITH_KEYCHAIN]);
    try {
      expect(await readOne(dataDir, second, written)).toEqual(['42']);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });

  it('passphrase: no D-Bus at all; the sealed key reopens, a wrong passphrase fails and changes nothing', async () => {
    const dataDir = join(work, 'pp-data');
    const pass = join(work, 'pass');
    writeFileSync(pass, 'correct horse battery staple\n', { mode: 0o600 });
    const env = withoutBus();
    const first = await serve(dataDir, env, ['--passphrase-file', pass]);
    const written = await writeOne(dataDir, env, first);
    expect(await first.stop()).toBe(0);
    const sealed = readFileSync(join(dataDir, 'master-key.sealed'));

    const second = await serve(dataDir, { ...env, AMPULE_PASSPHRASE_FILE: pass });
    try {
      expect(await readOne(dataDir, second, written)).toEqual(['42']);
    } finally {
      expect(await second.stop()).toBe(0);
    }

    const wrong = join(work, 'wrong');
    writeFileSync(wrong, 'not the passphrase at all', { mode: 0o600 });
    const r = cli(['serve', '--data-dir', dataDir, '--port', '0', '--passphrase-file', wrong], env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/passphrase does not open the master key/);
    expect(readFileSync(join(dataDir, 'master-key.sealed')).equals(sealed)).toBe(true);
  });
});
