// The Electron main process: one hardened window on app://ampule, a tray with the ingestion
// rate, and the appliance core in a utility process (never on this thread). Every security
// decision comes from ./security, where tests read the same values.
import { join } from 'node:path';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  nativeImage,
  Notification,
  protocol,
  session,
  shell,
  Tray,
  utilityProcess,
  type NativeImage,
  type Session,
  type UtilityProcess,
} from 'electron';
import { ApiError, type ApiResult } from '../../shared/api';
import { defaultDataDir } from '../core/data-dir';
import { MAX_NOTICES_PER_EVENT, type CoreEvent, type CoreOptions } from '../worker/protocol';
import { serveAppRequest } from './app-protocol';
import { CoreClient } from './core-client';
import { drawIcon, rgbaToBgra } from './icon';
import { registerApiHandlers } from './ipc';
import { appMenuTemplate, statusLine, trayMenuTemplate, type MenuActions } from './menus';
import {
  APP_SCHEME,
  APP_START_URL,
  CONTENT_SECURITY_POLICY,
  createMainWindow,
  PRIVILEGED_SCHEMES,
  SESSION_PARTITION,
  isDownloadAllowed,
  isNavigationAllowed,
  isRequestAllowed,
  openVettedExternal,
  permissionCheckDecision,
  permissionRequestDecision,
} from './security';

const DEFAULT_PORT = 9443;
const STATUS_EVERY_MS = 5_000;
const SHUTDOWN_GRACE_MS = 20_000;

const devTools = !app.isPackaged;
const rendererRoot = join(__dirname, '..', 'renderer');
const coreModule = join(__dirname, '..', 'core-worker.mjs');
const preloadPath = join(__dirname, 'preload.cjs');

function coreOptions(env: NodeJS.ProcessEnv): CoreOptions {
  const port = env.AMPULE_PORT === undefined ? DEFAULT_PORT : Number(env.AMPULE_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`AMPULE_PORT must be a port number (0–65535), got '${env.AMPULE_PORT}'`);
  return {
    dataDir: env.AMPULE_DATA_DIR ?? defaultDataDir(env),
    ...(env.AMPULE_MASTER_KEY_FILE ? { masterKeyFile: env.AMPULE_MASTER_KEY_FILE } : {}),
    listen: env.AMPULE_LISTEN === 'off' ? null : { port, host: env.AMPULE_HOST ?? '127.0.0.1' },
  };
}

let window: BrowserWindow | null = null;
let trustedWebContentsId: number | null = null;
let tray: Tray | null = null;
let core: { client: CoreClient; child: UtilityProcess; opened: Promise<ApiResult<unknown>> } | null = null;
let quitState: 'running' | 'stopping' | 'stopped' = 'running';

function optionsOrExit(): CoreOptions {
  try {
    return coreOptions(process.env);
  } catch (e) {
    process.stderr.write(`ampule: ${e instanceof Error ? e.message : String(e)}\n`);
    return process.exit(2);
  }
}

// ---- Before 'ready': scheme privileges, sandbox for every renderer, one instance per data dir.
const options = optionsOrExit();
app.setName('Ampule');
// The single-instance lock lives in userData: one Ampule per data directory. Chromium's own
// files go to a sibling folder, and the window's session is in memory anyway.
app.setPath('userData', options.dataDir);
app.setPath('sessionData', `${options.dataDir}.chromium`);
protocol.registerSchemesAsPrivileged([...PRIVILEGED_SCHEMES]);
app.enableSandbox();

if (!app.requestSingleInstanceLock()) {
  process.stderr.write(`ampule: another Ampule is already running on ${options.dataDir}; showing it instead\n`);
  app.quit();
} else {
  app.on('second-instance', () => showWindow());
  app.on('web-contents-created', (_event, contents) => {
    // Never a new window; a vetted documentation link goes to the user's browser instead.
    contents.setWindowOpenHandler(({ url }) => {
      openVettedExternal(shell, url);
      return { action: 'deny' };
    });
    contents.on('will-navigate', (event) => {
      if (!isNavigationAllowed(event.url)) event.preventDefault();
    });
    contents.on('will-redirect', (event) => {
      if (!isNavigationAllowed(event.url)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
  app.on('window-all-closed', () => {
    // With a tray the appliance keeps ingesting; without one there is no way back in: quit.
    if (!tray) app.quit();
  });
  app.on('activate', () => showWindow());
  app.on('before-quit', (event) => {
    if (quitState === 'stopped') return;
    event.preventDefault();
    if (quitState === 'stopping') return;
    quitState = 'stopping';
    void stopCore().finally(() => {
      quitState = 'stopped';
      app.quit();
    });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit());
  app.whenReady().then(start, (e: unknown) => fail('Electron failed to start', e));
}

function hardenSession(ses: Session): void {
  ses.setPermissionRequestHandler((_contents, permission, callback) => callback(permissionRequestDecision(permission)));
  ses.setPermissionCheckHandler((_contents, permission) => permissionCheckDecision(permission));
  ses.setDevicePermissionHandler(() => false);
  ses.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !isRequestAllowed(details.url) }));
  ses.webRequest.onHeadersReceived((details, callback) =>
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } }),
  );
  ses.on('will-download', (event, item) => {
    if (!isDownloadAllowed(item.getURL())) event.preventDefault();
  });
}

async function start(): Promise<void> {
  hardenSession(session.defaultSession);
  const ses = session.fromPartition(SESSION_PARTITION);
  hardenSession(ses);
  ses.protocol.handle(APP_SCHEME, (request) => serveAppRequest(rendererRoot, request));

  const actions: MenuActions = {
    show: () => showWindow(),
    quit: () => app.quit(),
    openLink: (url) => void openVettedExternal(shell, url),
  };
  Menu.setApplicationMenu(Menu.buildFromTemplate(appMenuTemplate(process.platform === 'darwin', devTools, actions)));

  core = startCore();
  registerApiHandlers(
    ipcMain,
    () => trustedWebContentsId,
    async (method, args) => {
      const c = core;
      if (!c) return { ok: false, error: { kind: 'unavailable', message: 'Ampule is shutting down.' } };
      const opened = await c.opened;
      return opened.ok ? c.client.call(method, args) : opened;
    },
  );
  showWindow();
  tray = createTray(actions);

  const opened = await core.opened;
  if (!opened.ok) {
    const e = opened.error;
    dialog.showErrorBox('Ampule could not open its data', `${e.message}${e.advice ? `\n\n${e.advice}` : ''}\n\nData directory: ${options.dataDir}`);
    app.quit();
  }
}

function startCore(): NonNullable<typeof core> {
  const child = utilityProcess.fork(coreModule, [], { serviceName: 'Ampule core', stdio: 'inherit' });
  const client = new CoreClient({
    post: (m) => child.postMessage(m),
    onMessage: (listener) => child.on('message', listener),
    close: () => child.kill(),
  });
  client.onEvent((e) => showNotices(e.notices));
  child.once('exit', (code) => {
    client.lost(`the core process exited (code ${code})`);
    if (quitState === 'running') fail('The Ampule core stopped unexpectedly', new Error(`exit code ${code}`));
  });
  const opened = client.open(options).then(
    (value): ApiResult<unknown> => ({ ok: true, value }),
    (e: unknown): ApiResult<unknown> =>
      e instanceof ApiError ? { ok: false, error: e.toData() } : { ok: false, error: { kind: 'internal', message: String(e) } },
  );
  return { client, child, opened };
}

/** Asks the core to stop listening and flush and close every store; kills it only if it hangs. */
async function stopCore(): Promise<void> {
  const c = core;
  core = null;
  if (!c) return;
  const exited = new Promise<void>((resolve) => c.child.once('exit', () => resolve()));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), SHUTDOWN_GRACE_MS)));
  const outcome = await Promise.race([c.client.shutdown().then(() => exited).then(() => 'closed' as const, () => 'failed' as const), timeout]);
  clearTimeout(timer);
  if (outcome !== 'closed') {
    process.stderr.write(`ampule: the core did not close cleanly (${outcome}); stopping it\n`);
    c.child.kill();
  }
}

/** Alerts that fired, as OS notifications: the core decided which, and with what (screened) text. */
function showNotices(notices: CoreEvent['notices']): void {
  if (!Notification.isSupported()) return;
  for (const n of notices.slice(0, MAX_NOTICES_PER_EVENT)) {
    const shown = new Notification({ title: n.title, body: n.body });
    shown.on('click', () => showWindow());
    shown.show();
  }
}

function showWindow(): void {
  if (!app.isReady()) return;
  if (window) {
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
    return;
  }
  const win = createMainWindow(BrowserWindow, { preloadPath, devTools, icon: iconImage(64) });
  window = win;
  trustedWebContentsId = win.webContents.id;
  win.once('ready-to-show', () => win.show());
  win.on('closed', () => {
    window = null;
    trustedWebContentsId = null;
  });
  void win.loadURL(APP_START_URL);
}

function iconImage(size: number): NativeImage {
  return nativeImage.createFromBitmap(Buffer.from(rgbaToBgra(drawIcon(size))), { width: size, height: size });
}

function createTray(actions: MenuActions): Tray | null {
  let t: Tray;
  try {
    t = new Tray(iconImage(process.platform === 'darwin' ? 16 : 32));
  } catch (e) {
    process.stderr.write(`ampule: no system tray (${e instanceof Error ? e.message : String(e)}); closing the window will quit\n`);
    return null;
  }
  const render = (line: string) => {
    t.setToolTip(line);
    t.setContextMenu(Menu.buildFromTemplate(trayMenuTemplate(line, actions)));
  };
  const refresh = () => {
    const c = core;
    if (!c) return;
    // Only after the core is open: before that a status request would just say 'not open'.
    void c.opened.then((opened) => {
      if (!opened.ok) return render(statusLine(null, 'could not open the data'));
      c.client.status().then(
        (s) => render(statusLine(s)),
        (e: unknown) => render(statusLine(null, e instanceof ApiError && e.kind !== 'unavailable' ? 'core error' : 'core stopped')),
      );
    });
  };
  render(statusLine(null));
  refresh();
  t.on('click', () => actions.show());
  const timer = setInterval(refresh, STATUS_EVERY_MS);
  app.once('will-quit', () => {
    clearInterval(timer);
    t.destroy();
  });
  return t;
}

function fail(what: string, e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`ampule: ${what}: ${message}\n`);
  if (app.isReady()) dialog.showErrorBox(what, message);
  app.quit();
}
