// The desktop window's whole path without an Electron runtime: Debian's Chromium shows
// dist/renderer served by the real app:// handler (same files, same CSP and isolation headers);
// the real bundled preload runs in the page with its `electron` module stood in by
// BindingElectron (contextBridge → a page global, ipcRenderer.invoke → a Playwright binding);
// every call then goes through the real IPC adapter (sender check, argument check) to the real
// core worker protocol and core (worker thread, real appliance, real keychain, real HTTPS
// listener). Flow: workspaces → create → token → remote write → Explore chart, no CSP errors.
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { API_METHODS, isApiMethod, type ApiResult, type WorkspaceLimitsInfo } from '../../shared/api';
import { serveAppRequest } from '../../main/app/app-protocol';
import { startCoreThread, type CoreThread } from '../../main/app/core-client';
import { handleApiCall } from '../../main/app/ipc';
import { APP_ORIGIN } from '../../main/app/security';
import { encodeV1, snappy } from '../main/ingest/encode';
import { noKeychainReason, removeService, uniqueService } from '../main/crypto/keychain-env';
import { createQueryToken, createWorkspace, exploreOneSeries, remoteWrite } from './window-flows';

const ROOT = join(import.meta.dirname, '..', '..');
const DIST = join(ROOT, 'dist');
const CHROMIUM = '/usr/bin/chromium';
const RESULTS = join(ROOT, 'test-results');
const skipReason =
  noKeychainReason ??
  (!existsSync(CHROMIUM)
    ? `${CHROMIUM} missing: apt-get install chromium`
    : ['app/preload.cjs', 'core-worker.mjs', 'renderer/index.html', 'renderer/app.js'].some((f) => !existsSync(join(DIST, f)))
      ? 'dist/ missing: run npm run build first'
      : null);
if (skipReason) console.log(`desktop window e2e skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)('desktop window in Chromium, real preload, IPC adapter and core', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ampule-e2e-window-'));
  const keychainService = uniqueService();
  let core: CoreThread;
  let listenUrl = '';
  let server: Server;
  let origin = '';
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const refused: string[] = [];

  beforeAll(async () => {
    mkdirSync(RESULTS, { recursive: true });
    core = startCoreThread(join(DIST, 'core-worker.mjs'));
    listenUrl = (await core.client.open({ dataDir, keychainService, listen: { port: 0, host: '127.0.0.1' }, adminChannel: false })).listenUrl!;

    // The app:// handler answers for this origin: same files, same headers.
    server = createServer((req, res) => {
      void serveAppRequest(join(DIST, 'renderer'), { url: `${APP_ORIGIN}${req.url}`, method: req.method ?? 'GET' }).then(async (r) => {
        res.writeHead(r.status, Object.fromEntries(r.headers));
        res.end(Buffer.from(await r.arrayBuffer()));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // ipcRenderer.invoke, as the main process receives it: the sending frame, then the adapter.
    await context.exposeBinding('__ampuleIpcInvoke', async (source, channel: string, args: unknown[]) => {
      const method = channel.replace(/^ampule:/, '');
      if (!isApiMethod(method)) return { ok: false, error: { kind: 'not_found', message: channel } };
      const frameUrl = source.frame.url().replace(origin, APP_ORIGIN);
      const result = await handleApiCall(method, args, { webContentsId: 1, frameUrl, isMainFrame: source.frame === source.page.mainFrame() }, 1, (m, a) => core.client.call(m, a));
      if (!result.ok) refused.push(`${method}: ${result.error.kind}`);
      return result;
    });
    const preload = readFileSync(join(DIST, 'app', 'preload.cjs'), 'utf8');
    await context.addInitScript(`(() => {
      const BindingElectron = {
        contextBridge: { exposeInMainWorld: (key, api) => Object.defineProperty(window, key, { value: api, writable: false }) },
        ipcRenderer: { invoke: (channel, ...args) => window.__ampuleIpcInvoke(channel, args) },
      };
      const module = { exports: {} };
      const require = (name) => { if (name === 'electron') return BindingElectron; throw new Error('sandboxed preload: ' + name); };
      (function (module, exports, require) { ${preload}\n })(module, module.exports, require);
    })();`);
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
    await core?.stop().catch(() => {});
    removeService(keychainService);
    rmSync(dataDir, { recursive: true, force: true });
  });

  let workspaceId = '';
  let token = '';

  it('starts on the workspaces page through window.ampule', async () => {
    await page.goto(`${origin}/index.html`);
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    const inside = await page.evaluate(() => {
      const w = window as unknown as { ampule: object; require?: unknown };
      return { frozen: Object.isFrozen(w.ampule), require: typeof w.require, methods: Object.keys(w.ampule).length };
    });
    expect(inside).toEqual({ frozen: true, require: 'undefined', methods: API_METHODS.length });
  });

  it('creates a workspace and a token', async () => {
    workspaceId = await createWorkspace(page, 'desktop-window');
    expect(await page.locator('pre.code').first().textContent()).toContain(`/workspaces/${workspaceId}/api/v1/remote_write`);
    token = await createQueryToken(page, 'prometheus');
    expect(token.length).toBeGreaterThan(20);
    await page.getByRole('button', { name: 'Done' }).click();
  });

  it('shows the limits, refuses a bad value by name, and a limit set in the window governs ingestion', async () => {
    const limits = page.getByRole('form', { name: 'Limits' });
    const rate = limits.getByLabel('Ingestion rate', { exact: true });
    const burst = limits.getByLabel('Ingestion burst', { exact: true });
    // The hint of a field (the form is drawn anew after each save, with new ids).
    const hint = (label: string) => limits.locator('.field').filter({ has: page.getByText(label, { exact: true }) }).locator('.hint').textContent({ timeout: 10_000 });
    await expect.poll(() => rate.inputValue()).toBe('170000');
    expect(await hint('Ingestion rate')).toBe('samples per second · default');
    const save = limits.getByRole('button', { name: 'Save limits' });
    const error = limits.getByRole('alert');
    const limitsNow = async (): Promise<WorkspaceLimitsInfo> => {
      const r = await core.client.call('getLimits', [workspaceId]);
      if (!r.ok) throw new Error(r.error.message);
      return r.value as WorkspaceLimitsInfo;
    };

    // Not a number: refused in the window, the field marked.
    await rate.fill('lots');
    await save.click();
    await expect.poll(() => error.textContent()).toBe('Ingestion rate: must be a whole number, got "lots"');
    expect(await rate.getAttribute('aria-invalid')).toBe('true');
    // Under the limit's minimum: refused by the appliance, named the same way.
    await rate.fill('170000');
    await burst.fill('0');
    await save.click();
    await expect.poll(() => error.textContent()).toBe('Ingestion burst: must be a whole number of at least 1');
    expect(await burst.getAttribute('aria-invalid')).toBe('true');
    expect(await rate.getAttribute('aria-invalid')).toBe('false');
    expect(refused.splice(0)).toEqual(['setLimits: invalid']); // that refusal, and only it
    expect((await limitsNow()).overridden).toEqual([]);

    // A burst of 10 samples: a 30-sample request is over it (413, never retried)…
    const ca = readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
    const url = `${listenUrl}/workspaces/${workspaceId}/api/v1/remote_write`;
    const body = (t0: number) => snappy(encodeV1([{ labels: [['__name__', 'limits_window_total']], samples: Array.from({ length: 30 }, (_, i) => ({ t: t0 + i * 1000, v: i })) }]));
    await burst.fill('10');
    await save.click();
    await expect.poll(() => hint('Ingestion burst')).toBe('samples at once · set for this workspace (default 3,500,000)');
    expect(await remoteWrite(url, ca, token, body(Date.now() - 60_000))).toBe(413);
    // …until the window raises it, with the rate (thousands separators are fine).
    await rate.fill('1,000,000');
    await burst.fill('5000000');
    await save.click();
    await expect
      .poll(async () => (await limitsNow()).limits)
      .toMatchObject({ ingestionRate: 1_000_000, ingestionBurst: 5_000_000 });
    expect(await remoteWrite(url, ca, token, body(Date.now() - 60_000))).toBe(204);
    await expect.poll(() => rate.inputValue()).toBe('1000000');
    expect(await hint('Ingestion rate')).toBe('samples per second · set for this workspace (default 170,000)');
    await page.getByRole('heading', { name: 'Limits' }).scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(RESULTS, 'desktop-window-limits.png') });
  });

  it('charts remote-written samples in Explore', async () => {
    const now = Date.now();
    const series = [{ labels: [['__name__', 'desktop_window_total'], ['job', 'w']] as [string, string][], samples: Array.from({ length: 30 }, (_, i) => ({ t: now - (30 - i) * 10_000, v: i + 1 })) }];
    const ca = readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
    expect(await remoteWrite(`${listenUrl}/workspaces/${workspaceId}/api/v1/remote_write`, ca, token, snappy(encodeV1(series)))).toBe(204);
    await exploreOneSeries(page, workspaceId, 'desktop_window_total');
    const max = await page.evaluate(() => {
      const u = (window as unknown as { ampuleCharts: Record<string, { data: (number | null)[][] }> }).ampuleCharts['explore']!;
      return Math.max(...u.data.slice(1).flatMap((c) => c.filter((v): v is number => v !== null)));
    });
    expect(max).toBe(30);
    await page.screenshot({ path: join(RESULTS, 'desktop-window-explore.png') });
  });

  it('ran under the strict CSP without a violation, and no call was refused', () => {
    expect(consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
    expect(refused).toEqual([]);
  });

  it('still refuses bad arguments the page sends', async () => {
    const r = (await page.evaluate(() => (window as unknown as { ampule: { describeWorkspace(id: string): Promise<unknown> } }).ampule.describeWorkspace('../x'))) as ApiResult<unknown>;
    expect(r).toMatchObject({ ok: false, error: { kind: 'invalid', field: 'describeWorkspace argument 1' } });
  });
});
