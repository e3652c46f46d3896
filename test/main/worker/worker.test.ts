// The core worker protocol in plain Node: the real worker module in a worker_threads Worker,
// against a real appliance (temp data dir, real OS keychain, real HTTPS listener). The window's
// path: open → create workspace → token → remote write over TLS → query → shutdown (stores
// flushed and closed, so the data dir reopens with the data in it). An alert that fires is
// announced to the main process once, as a desktop notice.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedToken, PromResponse, WorkspaceSummary } from '../../../shared/api';
import { startCoreThread, type CoreThread } from '../../../main/app/core-client';
import type { CoreEvent } from '../../../main/worker/protocol';
import { openAppliance } from '../../../main/core/open-appliance';
import { readCaCertPem } from '../../../main/tls/local-ca';
import { encodeV1, snappy, V1_TYPE } from '../ingest/encode';
import { noKeychainReason, removeService, uniqueService } from '../crypto/keychain-env';

if (noKeychainReason) console.log(`worker.test: skipped: ${noKeychainReason}`);

const root = fileURLToPath(new URL('../../../', import.meta.url));
/** The worker bundled as build/build.mjs bundles it, inside the repo so its externals resolve. */
mkdirSync(join(root, '.tmp'), { recursive: true });
const bundleDir = mkdtempSync(join(root, '.tmp', 'worker-test-'));
const workerFile = join(bundleDir, 'core-worker.mjs');

async function bundleWorker(outfile: string): Promise<void> {
  await build({
    entryPoints: [join(root, 'main/worker/worker.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3', '@napi-rs/keyring', 'electron'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'silent',
  });
}

function post(url: string, ca: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: 'POST', ca, headers: { ...headers, 'Content-Length': String(body.length) }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

afterAll(() => rmSync(bundleDir, { recursive: true, force: true }));

describe.skipIf(!!noKeychainReason)('core worker over worker_threads', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ampule-worker-'));
  const keychainService = uniqueService();
  let core: CoreThread;
  let listenUrl: string | null = null;
  let ws: WorkspaceSummary;
  let token: CreatedToken;
  const t0 = Math.floor(Date.now() / 1000) - 60;

  beforeAll(async () => {
    await bundleWorker(workerFile);
    core = startCoreThread(workerFile);
    ({ listenUrl } = await core.client.open({ dataDir, keychainService, listen: { port: 0, host: '127.0.0.1' }, adminChannel: false }));
  });
  afterAll(async () => {
    await core?.stop().catch(() => {});
    removeService(keychainService);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('opens the appliance and its HTTPS listener', () => {
    expect(listenUrl).toMatch(/^https:\/\/(localhost|127\.0\.0\.1):\d+$/);
  });

  it('refuses a second open', async () => {
    await expect(core.client.open({ dataDir, keychainService, listen: null })).rejects.toMatchObject({ kind: 'conflict' });
  });

  it('answers API calls with envelopes: create workspace, token', async () => {
    const created = await core.client.call('createWorkspace', [{ alias: 'desktop-test', tags: { team: 'sre' } }]);
    expect(created.ok).toBe(true);
    ws = (created as { value: WorkspaceSummary }).value;
    expect(ws.workspaceId).toMatch(/^ws-/);
    const listed = await core.client.call('listWorkspaces', []);
    expect(listed).toMatchObject({ ok: true, value: [{ workspaceId: ws.workspaceId, alias: 'desktop-test' }] });
    const tok = await core.client.call('createToken', [ws.workspaceId, { name: 'prom', scopes: ['remote_write', 'query'] }]);
    expect(tok.ok).toBe(true);
    token = (tok as { value: CreatedToken }).value;
    expect(token.secret.length).toBeGreaterThan(20);
  });

  it('re-validates arguments in the core and reports failures as data', async () => {
    expect(await core.client.call('describeWorkspace', ['../etc'])).toMatchObject({ ok: false, error: { kind: 'invalid' } });
    expect(await core.client.call('describeWorkspace', ['ws-doesnotexist'])).toMatchObject({ ok: false, error: { kind: 'not_found' } });
    expect(await core.client.request({ op: 'call', method: 'noSuchMethod' as never, args: [] })).toMatchObject({ ok: false, error: { kind: 'not_found' } });
  });

  it('ingests remote write over TLS and answers the chart query', async () => {
    const samples = Array.from({ length: 30 }, (_, i) => ({ t: (t0 + i) * 1000, v: i * 2 }));
    const body = snappy(encodeV1([{ labels: [['__name__', 'worker_test_metric'], ['job', 'desk']], samples }]));
    const ca = readCaCertPem(dataDir)!;
    const res = await post(`${listenUrl}/workspaces/${ws.workspaceId}/api/v1/remote_write`, ca, {
      Authorization: `Bearer ${token.secret}`,
      'Content-Type': V1_TYPE,
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
    }, body);
    expect(res.status, res.text).toBeLessThan(300);
    const q = await core.client.call('queryRange', [ws.workspaceId, { query: 'worker_test_metric', start: t0, end: t0 + 29, step: 1 }]);
    expect(q.ok).toBe(true);
    const prom = (q as { value: PromResponse }).value;
    expect(prom.status).toBe('success');
    if (prom.status !== 'success' || prom.data.resultType !== 'matrix') throw new Error(`unexpected ${JSON.stringify(prom)}`);
    expect(prom.data.result).toHaveLength(1);
    expect(prom.data.result[0]!.values!.at(-1)).toEqual([t0 + 29, '58']);
  });

  it('reports status for the tray', async () => {
    const s = await core.client.status();
    expect(s.workspaces).toBe(1);
    expect(s.listenUrl).toBe(listenUrl);
    expect(s.samplesPerSecond).toBeGreaterThanOrEqual(0);
  });

  it('shuts down cleanly: the thread ends, calls fail as unavailable, the data is on disk', async () => {
    await core.stop();
    expect(await core.client.call('listWorkspaces', [])).toMatchObject({ ok: false, error: { kind: 'unavailable' } });
    const reopened = await openAppliance({ dataDir, keychainService });
    try {
      expect(reopened.control.listWorkspaces().map((w) => w.alias)).toEqual(['desktop-test']);
      expect(reopened.store(ws.workspaceId).stats().series).toBe(1);
    } finally {
      reopened.close();
    }
  });
});

describe.skipIf(!!noKeychainReason)('core worker: alerts that fire reach the main process as desktop notices', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ampule-worker-alerts-'));
  const keychainService = uniqueService();
  const file = join(bundleDir, 'alerts', 'core-worker.mjs');
  let core: CoreThread;
  const events: CoreEvent[] = [];

  beforeAll(async () => {
    await bundleWorker(file);
    // A workspace with an alert that fires at its first evaluation (every second).
    const app = await openAppliance({ dataDir, keychainService });
    const ws = app.control.createWorkspace({ alias: 'alerting-desk' }).workspaceId;
    app.ruleNamespaces.put(ws, 'desk', 'groups:\n  - name: g\n    interval: 1s\n    rules:\n      - alert: DeskAlert\n        expr: vector(1)\n        labels:\n          severity: warning\n        annotations:\n          summary: shown on the desktop\n');
    app.close();
    core = startCoreThread(file);
    core.client.onEvent((e) => events.push(e));
    await core.client.open({ dataDir, keychainService, listen: null, adminChannel: false });
  });
  afterAll(async () => {
    await core?.stop().catch(() => {});
    removeService(keychainService);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends one notice when the alert fires, and none while it stays firing', async () => {
    for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(events).toHaveLength(1);
    expect(events[0]!.notices).toEqual([{ workspaceId: expect.stringMatching(/^ws-/), title: 'Alert firing: DeskAlert (warning)', body: 'shown on the desktop — workspace alerting-desk' }]);
    await new Promise((r) => setTimeout(r, 2500)); // two more evaluations
    expect(events).toHaveLength(1);
  }, 20_000);
});
