// The Electron main process as bundled (main.cjs), run in plain Node against FakeElectron — a
// recording stand-in for the `electron` module, since no Electron runtime exists here. Its
// utility process is a real worker thread running the bundled core worker against a real
// appliance (temp data dir, real keychain, real HTTPS listener), so an IPC call goes the whole
// way: sender check → argument check → core → SQLite. Checks the wiring main.ts owns: scheme
// and sandbox before ready, hardened window and session, IPC handlers, tray, clean quit.
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_METHODS, type ApiResult, type WorkspaceSummary } from '../../../shared/api';
import { ipcChannel } from '../../../main/app/channels';
import { CONTENT_SECURITY_POLICY, PRIVILEGED_SCHEMES } from '../../../main/app/security';
import { openAppliance } from '../../../main/core/open-appliance';
import { noKeychainReason, removeService, uniqueService } from '../crypto/keychain-env';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const require = createRequire(import.meta.url);
if (noKeychainReason) console.log(`main-process test skipped: ${noKeychainReason}`);

type Handler = (...args: unknown[]) => unknown;

class FakeSession {
  permissionRequest: Handler | null = null;
  permissionCheck: Handler | null = null;
  devicePermission: Handler | null = null;
  beforeRequest: Handler | null = null;
  headersReceived: Handler | null = null;
  readonly protocolHandlers = new Map<string, Handler>();
  readonly events = new EventEmitter();
  setPermissionRequestHandler(h: Handler) { this.permissionRequest = h; }
  setPermissionCheckHandler(h: Handler) { this.permissionCheck = h; }
  setDevicePermissionHandler(h: Handler) { this.devicePermission = h; }
  webRequest = {
    onBeforeRequest: (h: Handler) => { this.beforeRequest = h; },
    onHeadersReceived: (h: Handler) => { this.headersReceived = h; },
  };
  protocol = { handle: (scheme: string, h: Handler) => void this.protocolHandlers.set(scheme, h) };
  on(event: string, h: Handler) { this.events.on(event, h); }
}

/** A utility process that is really a worker thread running the same bundled core module. */
class ThreadUtilityProcess extends EventEmitter {
  readonly worker: Worker;
  constructor(modulePath: string) {
    super();
    this.worker = new Worker(modulePath, { workerData: { ampuleCore: true } });
    this.worker.on('message', (m) => this.emit('message', m));
    this.worker.on('exit', (code) => this.emit('exit', code));
    this.worker.on('error', (e) => console.error(`core thread error: ${e.stack}`));
  }
  postMessage(m: { op?: string; options?: object }) {
    // A thread may not set the process umask, which the CLI admin channel needs: off here only.
    this.worker.postMessage(m.op === 'open' ? { ...m, options: { ...m.options, adminChannel: false } } : m);
  }
  kill() { void this.worker.terminate(); }
}

let nextId = 1;
class FakeWebContents extends EventEmitter {
  readonly id = nextId++;
  readonly mainFrame = { processId: 7, routingId: 1 };
  windowOpenHandler: Handler | null = null;
  setWindowOpenHandler(h: Handler) { this.windowOpenHandler = h; }
}

/** Records what main.cjs asks of Electron. */
class FakeElectron {
  readonly calls: string[] = [];
  readonly appEvents = new EventEmitter();
  readonly windows: FakeBrowserWindow[] = [];
  /** OS notifications shown: title and body. */
  readonly notifications: { title: string; body: string; clicked: () => void }[] = [];
  readonly trays: FakeTray[] = [];
  readonly ipc = new Map<string, Handler>();
  readonly opened: string[] = [];
  readonly errors: string[] = [];
  readonly forks: ThreadUtilityProcess[] = [];
  privileged: unknown = null;
  appMenu: unknown = null;
  ready = false;
  quitted = false;
  private resolveReady!: () => void;
  readonly readyPromise = new Promise<void>((r) => (this.resolveReady = r));
  readonly defaultSession = new FakeSession();
  readonly partitions = new Map<string, FakeSession>();

  makeReady() {
    this.ready = true;
    this.resolveReady();
  }

  module() {
    const fake = this;
    class BrowserWindow extends EventEmitter {
      readonly webContents = new FakeWebContents();
      url = '';
      shown = false;
      constructor(readonly options: Record<string, unknown>) {
        super();
        fake.windows.push(this as unknown as FakeBrowserWindow);
        fake.appEvents.emit('web-contents-created', {}, this.webContents);
      }
      loadURL(u: string) { this.url = u; this.emit('ready-to-show'); return Promise.resolve(); }
      show() { this.shown = true; }
      focus() {}
      isMinimized() { return false; }
      restore() {}
    }
    class Tray {
      tooltip = '';
      menu: unknown = null;
      constructor() { fake.trays.push(this as unknown as FakeTray); }
      setToolTip(t: string) { this.tooltip = t; }
      setContextMenu(m: unknown) { this.menu = m; }
      on() {}
      destroy() {}
    }
    return {
      app: {
        isPackaged: false,
        setName: (n: string) => fake.calls.push(`setName ${n}`),
        setPath: (k: string, v: string) => fake.calls.push(`setPath ${k} ${v}`),
        enableSandbox: () => fake.calls.push('enableSandbox'),
        requestSingleInstanceLock: () => (fake.calls.push('requestSingleInstanceLock'), true),
        on: (e: string, h: Handler) => fake.appEvents.on(e, h),
        once: (e: string, h: Handler) => fake.appEvents.once(e, h),
        whenReady: () => fake.readyPromise,
        isReady: () => fake.ready,
        quit: () => {
          let prevented = false;
          fake.appEvents.emit('before-quit', { preventDefault: () => (prevented = true) });
          if (prevented) return;
          fake.appEvents.emit('will-quit', {});
          fake.quitted = true;
        },
        exit: () => {},
      },
      protocol: { registerSchemesAsPrivileged: (s: unknown) => { fake.calls.push(`registerSchemesAsPrivileged ready=${fake.ready}`); fake.privileged = s; } },
      session: {
        defaultSession: fake.defaultSession,
        fromPartition: (p: string) => {
          if (!fake.partitions.has(p)) fake.partitions.set(p, new FakeSession());
          return fake.partitions.get(p)!;
        },
      },
      BrowserWindow,
      Tray,
      Notification: class {
        private click: Handler = () => {};
        static isSupported() { return true; }
        constructor(private readonly o: { title: string; body: string }) {}
        on(event: string, h: Handler) { if (event === 'click') this.click = h; }
        show() { fake.notifications.push({ ...this.o, clicked: () => void this.click() }); }
      },
      Menu: { buildFromTemplate: (t: unknown) => t, setApplicationMenu: (m: unknown) => { fake.appMenu = m; } },
      nativeImage: { createFromBitmap: (b: Buffer, o: object) => ({ bitmap: b, ...o }) },
      dialog: { showErrorBox: (t: string, m: string) => fake.errors.push(`${t}: ${m}`) },
      shell: { openExternal: async (u: string) => void fake.opened.push(u) },
      ipcMain: {
        handle: (c: string, h: Handler) => fake.ipc.set(c, h),
        removeHandler: (c: string) => fake.ipc.delete(c),
      },
      utilityProcess: {
        fork: (modulePath: string, _args: string[], opts: { serviceName?: string }) => {
          fake.calls.push(`fork ${opts.serviceName}`);
          const p = new ThreadUtilityProcess(modulePath);
          fake.forks.push(p);
          return p;
        },
      },
    };
  }
}
interface FakeBrowserWindow { options: { webPreferences: Record<string, unknown> }; webContents: FakeWebContents; url: string; shown: boolean }
interface FakeTray { tooltip: string; menu: { label?: string }[] }

describe.skipIf(!!noKeychainReason)('Electron main process (bundled, on FakeElectron)', () => {
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const out = mkdtempSync(join(ROOT, '.tmp', 'main-process-'));
  const dataDir = mkdtempSync(join(tmpdir(), 'ampule-main-process-'));
  const service = uniqueService();
  const fake = new FakeElectron();
  const electronPath = require.resolve('electron');
  const saved = { ...process.env };

  beforeAll(async () => {
    const common = { bundle: true, platform: 'node' as const, target: 'node20', external: ['better-sqlite3', '@napi-rs/keyring', 'electron'], logLevel: 'silent' as const };
    await build({ ...common, entryPoints: [join(ROOT, 'main/app/main.ts')], outfile: join(out, 'app', 'main.cjs'), format: 'cjs' });
    await build({
      ...common,
      entryPoints: [join(ROOT, 'main/worker/worker.ts')],
      outfile: join(out, 'core-worker.mjs'),
      format: 'esm',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    mkdirSync(join(out, 'renderer'));
    writeFileSync(join(out, 'renderer', 'index.html'), '<!doctype html><title>Ampule</title>');
    Object.assign(process.env, { AMPULE_DATA_DIR: dataDir, AMPULE_KEYCHAIN_SERVICE: service, AMPULE_PORT: '0' });
    // require('electron') from main.cjs gets the fake: planted in the module cache under electron's own path.
    require.cache[electronPath] = { id: electronPath, filename: electronPath, loaded: true, exports: fake.module() } as unknown as NodeJS.Module;
    require(join(out, 'app', 'main.cjs'));
    fake.makeReady();
    for (let i = 0; i < 100 && fake.ipc.size < API_METHODS.length; i++) await new Promise((r) => setTimeout(r, 100));
  });

  afterAll(async () => {
    for (const f of fake.forks) await f.worker.terminate();
    delete require.cache[electronPath];
    process.env = saved;
    removeService(service);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  it('registers app:// and the sandbox before ready, and takes the single-instance lock', () => {
    expect(fake.calls).toContain('registerSchemesAsPrivileged ready=false');
    expect(fake.privileged).toEqual(PRIVILEGED_SCHEMES);
    expect(fake.calls.indexOf('enableSandbox')).toBeLessThan(fake.calls.indexOf(`fork Ampule core`));
    expect(fake.calls).toContain('requestSingleInstanceLock');
    expect(fake.calls).toContain(`setPath userData ${dataDir}`);
  });

  it('opens one hardened window on app://ampule', () => {
    expect(fake.windows).toHaveLength(1);
    const w = fake.windows[0]!;
    expect(w.url).toBe('app://ampule/index.html');
    expect(w.shown).toBe(true);
    expect(w.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false, devTools: true });
    expect(String(w.options.webPreferences.preload)).toMatch(/preload\.cjs$/);
  });

  it('denies new windows, foreign navigation and webviews on every web contents', () => {
    const wc = fake.windows[0]!.webContents;
    expect(wc.windowOpenHandler!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    expect(wc.windowOpenHandler!({ url: 'https://prometheus.io/docs/' })).toEqual({ action: 'deny' });
    expect(fake.opened).toEqual(['https://prometheus.io/docs/']);
    for (const event of ['will-navigate', 'will-redirect']) {
      let prevented = 0;
      wc.emit(event, { url: 'https://evil.example/', preventDefault: () => prevented++ });
      wc.emit(event, { url: 'app://ampule/index.html#/explore', preventDefault: () => prevented++ });
      expect(prevented, event).toBe(1);
    }
    let attached = true;
    wc.emit('will-attach-webview', { preventDefault: () => (attached = false) });
    expect(attached).toBe(false);
  });

  it('hardens the window session: permissions denied, foreign requests cancelled, CSP on app://', async () => {
    const ses = fake.partitions.get('ampule')!;
    for (const s of [ses, fake.defaultSession]) {
      let granted: boolean | null = null;
      s.permissionRequest!({}, 'media', (g: boolean) => (granted = g));
      expect(granted).toBe(false);
      expect(s.permissionCheck!({}, 'clipboard-read')).toBe(false);
      let cancel: boolean | null = null;
      s.beforeRequest!({ url: 'https://evil.example/x.js' }, (r: { cancel: boolean }) => (cancel = r.cancel));
      expect(cancel).toBe(true);
      let headers: Record<string, string[]> = {};
      s.headersReceived!({ responseHeaders: {} }, (r: { responseHeaders: Record<string, string[]> }) => (headers = r.responseHeaders));
      expect(headers['Content-Security-Policy']).toEqual([CONTENT_SECURITY_POLICY]);
    }
    const res = (await ses.protocolHandlers.get('app')!({ url: 'app://ampule/index.html', method: 'GET' })) as Response;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(((await ses.protocolHandlers.get('app')!({ url: 'app://ampule/../app/main.cjs', method: 'GET' })) as Response).status).toBe(404);
  });

  it('routes IPC from the window to the core, and refuses other senders and bad arguments', async () => {
    const wc = fake.windows[0]!.webContents;
    const event = (url: string, webContentsId = wc.id) => ({ sender: { id: webContentsId, mainFrame: wc.mainFrame }, senderFrame: { url, parent: null, ...wc.mainFrame } });
    const invoke = (method: string, e: object, ...args: unknown[]) => fake.ipc.get(ipcChannel(method))!(e, ...args) as Promise<ApiResult<unknown>>;
    const created = await invoke('createWorkspace', event('app://ampule/index.html'), { alias: 'from-the-window' });
    expect(created.ok, JSON.stringify(created)).toBe(true);
    expect((created as { value: WorkspaceSummary }).value.alias).toBe('from-the-window');
    expect(await invoke('listWorkspaces', event('https://evil.example/'))).toMatchObject({ ok: false, error: { kind: 'forbidden' } });
    expect(await invoke('listWorkspaces', event('app://ampule/index.html', 999))).toMatchObject({ ok: false, error: { kind: 'forbidden' } });
    expect(await invoke('createWorkspace', event('app://ampule/index.html'), { alias: '' })).toMatchObject({ ok: false, error: { kind: 'invalid' } });
  });

  it('shows the core\'s alert notices as OS notifications (at most 5 per event), ignoring malformed ones', () => {
    const core = fake.forks[0]!;
    const notice = (i: number) => ({ workspaceId: 'ws-1', title: `Alert firing: A${i}`, body: `In workspace w` });
    core.emit('message', { event: 'alerts-firing', notices: Array.from({ length: 7 }, (_, i) => notice(i)) });
    expect(fake.notifications.map((n) => n.title)).toEqual(['Alert firing: A0', 'Alert firing: A1', 'Alert firing: A2', 'Alert firing: A3', 'Alert firing: A4']);
    core.emit('message', { event: 'alerts-firing', notices: [{ workspaceId: 'ws-1', title: 'x'.repeat(1000), body: '' }] });
    core.emit('message', { event: 'alerts-firing', notices: 'nope' });
    expect(fake.notifications).toHaveLength(5);
    fake.windows[0]!.shown = false;
    fake.notifications[0]!.clicked(); // a click brings the window up
    expect(fake.windows[0]!.shown).toBe(true);
  });

  it('shows a tray with Show and Quit, and an application menu', () => {
    expect(fake.trays).toHaveLength(1);
    // Filled in from the core as soon as it is open (then every few seconds): nothing ingested yet.
    expect(fake.trays[0]!.tooltip).toMatch(/^Ampule — 0\.0 samples\/s · \d+ workspaces?$/);
    expect(fake.trays[0]!.menu.map((i) => i.label)).toEqual(expect.arrayContaining(['Show Ampule', 'Quit Ampule']));
    expect(JSON.stringify(fake.appMenu)).toContain('Quit Ampule');
  });

  it('quits only after the core has closed its stores', async () => {
    const exited = new Promise((r) => fake.forks[0]!.once('exit', r));
    fake.module().app.quit();
    expect(fake.quitted).toBe(false); // held back while the core shuts down
    await exited;
    await expect.poll(() => fake.quitted).toBe(true);
    expect(fake.errors).toEqual([]);
    const reopened = await openAppliance({ dataDir, keychainService: service });
    try {
      expect(reopened.control.listWorkspaces().map((w) => w.alias)).toEqual(['from-the-window']);
    } finally {
      reopened.close();
    }
  });
});
