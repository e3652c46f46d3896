// `ampule export` while `ampule serve` runs on the data directory: the server holds the stores, so
// the export runs there and its text is streamed back over the admin socket frame by frame (a real
// `node bin/ampule.mjs serve`, the export a separate `node bin/ampule.mjs` process with no key of
// its own). The same export after the server stopped, run locally, gives the same bytes; a caller
// that stops reading ends the server's export without harming the server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { tempKeyFileDir } from '../core/key-file-dir';
import { openAppliance } from '../../../main/core/open-appliance';
import { labelsFromRecord } from '../../../shared/labels';
import { ampule, ensureBuilt, ROOT } from '../cli/bin-process';
import { spawnServe, type ServeProcess } from '../../serve-process';

let dir: string;
let keyFile: string;
let ws: string;
let serve: ServeProcess | null = null;
const dataDir = () => join(dir, 'data');

beforeAll(async () => {
  ensureBuilt();
  ({ dir, keyFile } = tempKeyFileDir('ampule-export-serve-'));
  const app = await openAppliance({ dataDir: dataDir(), masterKeyFile: keyFile });
  ws = app.control.createWorkspace({ alias: 'srv' }).workspaceId;
  const a = app.store(ws).appender();
  const t0 = Date.now() - 24 * 3600_000;
  for (let k = 0; k < 50; k++) {
    let ref = 0;
    for (let i = 0; i < 5760; i++) ref = a.append(ref, labelsFromRecord({ __name__: 'node_load', cpu: String(k) }), t0 + i * 15_000 + k, (i % 97) / 4);
  }
  a.commit();
  app.close();
  serve = await spawnServe([join(ROOT, 'bin', 'ampule.mjs'), 'serve', '--data-dir', dataDir(), '--master-key-file', keyFile, '--port', '0'], { cwd: ROOT, env: { ...process.env } });
}, 180_000);
afterAll(async () => {
  if (serve && serve.process.exitCode === null) {
    serve.process.kill('SIGTERM');
    await serve.exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('ampule export while ampule serve runs', () => {
  let streamed = '';
  it('streams the text from the server to the caller\'s stdout; progress and summary on stderr', async () => {
    const r = await ampule(['export', '--workspace', ws, '--data-dir', dataDir()], { env: { ...process.env } });
    expect(r.stderr).toMatch(/export: 50 series, 288000 samples of ws-\S+ to stdout/);
    expect(r.status).toBe(0);
    expect(r.stdout.endsWith('# EOF\n')).toBe(true);
    expect(r.stdout.split('\n').length).toBe(288_000 + 2);
    streamed = r.stdout;
  }, 120_000);

  it('a caller that stops reading ends the export on the server, which keeps serving', async () => {
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'ampule.mjs'), 'export', '--workspace', ws, '--data-dir', dataDir()], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let got = 0;
    await new Promise<void>((resolve) => {
      p.stdout!.on('data', (c: Buffer) => {
        got += c.length;
        if (got > 100_000) {
          p.stdout!.destroy(); // like `| head`
          resolve();
        }
      });
    });
    const status = await new Promise<number | null>((resolve) => p.on('close', resolve));
    expect(status).not.toBe(0);
    const again = await ampule(['export', '--workspace', ws, '--data-dir', dataDir(), '--match', 'node_load{cpu="7"}'], { env: { ...process.env } });
    expect(again.status).toBe(0);
    expect(again.stdout.split('\n').length).toBe(5760 + 2);
  }, 120_000);

  it('a caller gone during a remote-write export run by the server ends it there (the next command is not held up)', async () => {
    const { makeTls, startReceiver } = await import('../forward/tls-fixture');
    const tls = await makeTls();
    let got!: () => void;
    const requested = new Promise<void>((r) => (got = r));
    const rx = await startReceiver(tls, () => got()); // never answers
    try {
      const p = spawn(process.execPath, [join(ROOT, 'bin', 'ampule.mjs'), 'export', '--workspace', ws, '--data-dir', dataDir(), '--url', rx.url('/api/v1/write').href, '--ca', tls.caFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      await requested;
      p.kill('SIGINT');
      await new Promise((resolve) => p.on('close', resolve));
      const started = Date.now();
      const next = await ampule(['export', '--workspace', ws, '--data-dir', dataDir(), '--match', 'node_load{cpu="1"}'], { env: { ...process.env } });
      expect(next.status).toBe(0);
      expect(Date.now() - started).toBeLessThan(20_000); // the stalled request alone would hold the queue 30 s
    } finally {
      await rx.close();
      tls.cleanup();
    }
  }, 120_000);

  it('gives the same bytes as a local export once the server is gone', async () => {
    serve!.process.kill('SIGTERM');
    await serve!.exited;
    const local = await ampule(['export', '--workspace', ws, '--data-dir', dataDir(), '--master-key-file', keyFile], { env: { ...process.env } });
    expect(local.status).toBe(0);
    expect(local.stdout.length).toBe(streamed.length);
    expect(local.stdout === streamed).toBe(true);
  }, 120_000);
});

describe('ampule export interrupted', () => {
  it('Ctrl-C (SIGINT) ends an export waiting on a stalled receiver: exit 1, "interrupted"', async () => {
    const { makeTls, startReceiver } = await import('../forward/tls-fixture');
    const tls = await makeTls();
    let got!: () => void;
    const requested = new Promise<void>((r) => (got = r));
    const rx = await startReceiver(tls, () => got()); // never answers
    try {
      const p = spawn(process.execPath, [join(ROOT, 'bin', 'ampule.mjs'), 'export', '--workspace', ws, '--data-dir', dataDir(), '--master-key-file', keyFile, '--url', rx.url('/api/v1/write').href, '--ca', tls.caFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      p.stderr!.on('data', (c: Buffer) => (stderr += c));
      await requested;
      p.kill('SIGINT');
      const status = await new Promise<number | null>((resolve) => p.on('close', resolve));
      expect(stderr).toMatch(/ampule export: interrupted/);
      expect(status).toBe(1);
    } finally {
      await rx.close();
      tls.cleanup();
    }
  }, 120_000);
});
