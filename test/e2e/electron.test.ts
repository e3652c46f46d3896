// End to end through the real desktop app with Playwright's Electron runner: start Ampule (the
// staged app, native modules built for Electron), check the window's hardening from inside,
// create a workspace and a token, remote-write real samples, see Explore chart them, quit (the
// core flushes and closes its stores). Runs only where an Electron runtime exists; otherwise it
// is skipped and says exactly why.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { API_METHODS, type ApiResult, type WorkspaceEndpoints } from '../../shared/api';
import { openAppliance } from '../../main/core/open-appliance';
import { encodeV1, snappy } from '../main/ingest/encode';
import { noKeychainReason, removeService, uniqueService } from '../main/crypto/keychain-env';
import { createQueryToken, createWorkspace, exploreOneSeries, remoteWrite } from './window-flows';

const ROOT = join(import.meta.dirname, '..', '..');
const RESULTS = join(ROOT, 'test-results');

interface Launcher {
  findElectron(): { path?: string; reason?: string };
  noDisplayReason(env?: NodeJS.ProcessEnv): string | null;
}
interface Stager {
  stageApp(o?: { keepNativeModules?: boolean }): string;
  nativeModulesReady(): boolean;
  rebuildForElectron(): Promise<void>;
  offlineExplanation(e: unknown): string | null;
}
const launcher = (await import(join(ROOT, 'build', 'electron-launch.mjs'))) as Launcher;
const stager = (await import(join(ROOT, 'build', 'electron-app.mjs'))) as Stager;

const electron = launcher.findElectron();
const XVFB = '/usr/bin/Xvfb';

/** Why this test cannot run here (checked in order), or null; prepares the staged app when it can. */
async function skipReason(): Promise<string | null> {
  if (electron.reason) return `no Electron binary: ${electron.reason}`;
  if (noKeychainReason) return noKeychainReason;
  if (!existsSync(join(ROOT, 'dist', 'app', 'main.cjs')) || !existsSync(join(ROOT, 'dist', 'core-worker.mjs'))) return 'dist/ missing: run npm run build first';
  if (launcher.noDisplayReason() && !existsSync(XVFB)) return `${launcher.noDisplayReason()} and no ${XVFB} (apt-get install xvfb)`;
  try {
    const stage = stager.stageApp({ keepNativeModules: true });
    if (!stager.nativeModulesReady()) await stager.rebuildForElectron();
    void stage;
  } catch (e) {
    return `better-sqlite3 could not be built for Electron: ${stager.offlineExplanation(e) ?? (e as Error).message}`;
  }
  return null;
}

const skip = await skipReason();
if (skip) console.log(`electron e2e skipped: ${skip}`);

describe('desktop app end to end (Electron)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ampule-e2e-electron-'));
  const service = uniqueService();
  let xvfb: ChildProcess | null = null;
  let app: ElectronApplication;
  let page: Page;
  let workspaceId = '';
  let token = '';
  const consoleErrors: string[] = [];

  // Each test is skipped with the reason, so the run's summary says why.
  beforeEach((ctx) => {
    if (skip) ctx.skip(skip);
  });

  beforeAll(async () => {
    if (skip) return;
    mkdirSync(RESULTS, { recursive: true });
    const env: Record<string, string> = { ...(process.env as Record<string, string>), AMPULE_DATA_DIR: dataDir, AMPULE_KEYCHAIN_SERVICE: service, AMPULE_PORT: '0' };
    if (launcher.noDisplayReason()) {
      const display = `:${90 + (process.pid % 100)}`;
      xvfb = spawn(XVFB, [display, '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 500));
      env.DISPLAY = display;
    }
    app = await _electron.launch({ executablePath: electron.path!, args: [join(ROOT, 'out', 'electron-app')], env, timeout: 60_000 });
    page = await app.firstWindow();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor({ timeout: 60_000 });
  });

  afterAll(async () => {
    if (!skip) {
      await app?.close().catch(() => {});
      xvfb?.kill();
      removeService(service);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows app://ampule in a sandboxed, isolated window with only window.ampule', async () => {
    expect(page.url()).toMatch(/^app:\/\/ampule\//);
    const inside = await page.evaluate(() => ({
      require: typeof (globalThis as { require?: unknown }).require,
      process: typeof (globalThis as { process?: unknown }).process,
      methods: Object.keys((window as unknown as { ampule: object }).ampule).sort(),
      frozen: Object.isFrozen((window as unknown as { ampule: object }).ampule),
    }));
    expect(inside).toMatchObject({ require: 'undefined', process: 'undefined' });
    expect(inside.methods).toEqual([...API_METHODS].sort());
    // The preload runs sandboxed: the page's renderer process has no Node, and there are no webviews.
    expect(await page.evaluate(() => document.createElement('webview') instanceof HTMLUnknownElement)).toBe(true);
    // A new window is denied; the window cannot navigate away.
    await page.evaluate(() => window.open('https://evil.example/'));
    expect(app.windows()).toHaveLength(1);
    await page.evaluate(() => { location.href = 'https://evil.example/'; }).catch(() => {});
    await page.waitForTimeout(300);
    expect(page.url()).toMatch(/^app:\/\/ampule\//);
  });

  it('creates a workspace and a token', async () => {
    workspaceId = await createWorkspace(page, 'e2e-desktop');
    token = await createQueryToken(page, 'prometheus');
    expect(token.length).toBeGreaterThan(20);
    await page.getByRole('button', { name: 'Done' }).click();
  });

  it('charts remote-written samples in Explore', async () => {
    const endpoints = (await page.evaluate((id) => (window as unknown as { ampule: { workspaceEndpoints(id: string): Promise<unknown> } }).ampule.workspaceEndpoints(id), workspaceId)) as ApiResult<WorkspaceEndpoints>;
    if (!endpoints.ok || !endpoints.value.remoteWriteUrl || !endpoints.value.caPem) throw new Error(`no listener: ${JSON.stringify(endpoints)}`);
    const now = Date.now();
    const series = [{ labels: [['__name__', 'e2e_desktop_total'], ['job', 'a']] as [string, string][], samples: Array.from({ length: 30 }, (_, i) => ({ t: now - (30 - i) * 10_000, v: i + 1 })) }];
    expect(await remoteWrite(endpoints.value.remoteWriteUrl, endpoints.value.caPem, token, snappy(encodeV1(series)))).toBe(204);

    await exploreOneSeries(page, workspaceId, 'e2e_desktop_total');
    await page.screenshot({ path: join(RESULTS, 'electron-explore.png') });
    expect(consoleErrors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
  });

  it('quits cleanly: the core closes its stores and the data reopens', async () => {
    await app.close();
    const reopened = await openAppliance({ dataDir, keychainService: service });
    try {
      expect(reopened.control.listWorkspaces().map((w) => w.alias)).toEqual(['e2e-desktop']);
      expect(reopened.store(workspaceId).stats().series).toBe(1);
    } finally {
      reopened.close();
    }
  });
});
