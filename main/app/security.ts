// The Electron shell's security policy as plain data and pure functions, so tests read the very
// values main.ts applies (Electron's security checklist, kept as code). Imports only electron's
// *types*: this module loads in plain Node.
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import type { BrowserWindowConstructorOptions, CustomScheme, NativeImage, Shell } from 'electron';

/** The window's origin: app://ampule/… serves dist/renderer (never file://). */
export const APP_SCHEME = 'app';
export const APP_HOST = 'ampule';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_START_URL = `${APP_ORIGIN}/index.html`;

/** Registered before app 'ready': standard (real origin, relative URLs) and secure (like https). */
export const PRIVILEGED_SCHEMES: readonly CustomScheme[] = [
  {
    scheme: APP_SCHEME,
    // corsEnabled lets the page load its own ES module script (fetched in CORS mode); no response
    // carries Access-Control-Allow-Origin, so no other origin can read ours.
    privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, bypassCSP: false, allowServiceWorkers: false, stream: false },
  },
];

/**
 * Strict CSP for every app:// response: only our own bundled scripts and styles; no inline code,
 * no eval, no plugins, no framing, no forms, no base rewriting. uPlot styles elements through the
 * CSSOM, which style-src does not restrict.
 */
export const CSP_DIRECTIVES: Readonly<Record<string, string>> = {
  'default-src': "'self'",
  'script-src': "'self'",
  'style-src': "'self'",
  'img-src': "'self' data:",
  'font-src': "'self'",
  'connect-src': "'self'",
  'object-src': "'none'",
  'frame-src': "'none'",
  'child-src': "'none'",
  'worker-src': "'none'",
  'manifest-src': "'none'",
  'media-src': "'none'",
  'base-uri': "'none'",
  'form-action': "'none'",
  'frame-ancestors': "'none'",
};
export const CONTENT_SECURITY_POLICY = Object.entries(CSP_DIRECTIVES)
  .map(([k, v]) => `${k} ${v}`)
  .join('; ');

/** Headers added to every app:// response. */
export const RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Referrer-Policy': 'no-referrer',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=(), hid=(), bluetooth=(), clipboard-read=(), display-capture=(), payment=()',
  'Cache-Control': 'no-store',
};

/**
 * In-memory session (no `persist:` prefix): cookies, storage and caches never reach the disk, so
 * nothing the window showed can be found there later.
 */
export const SESSION_PARTITION = 'ampule';

/** What the window is built with besides its fixed policy. */
export interface WindowParams {
  readonly preloadPath: string;
  /** DevTools only in development (unpackaged) builds. */
  readonly devTools: boolean;
  readonly icon?: NativeImage;
}

/**
 * Builds the one window: renderer isolated and sandboxed, no Node, no webviews, no middle-click
 * windows, an in-memory session. Takes the BrowserWindow class so tests can read the very options
 * (and so static analysers such as electronegativity see them written out at the constructor).
 */
export function createMainWindow<W>(BrowserWindow: new (options: BrowserWindowConstructorOptions) => W, params: WindowParams): W {
  return new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 800,
    minHeight: 560,
    title: 'Ampule',
    show: false,
    backgroundColor: '#101418',
    ...(params.icon ? { icon: params.icon } : {}),
    webPreferences: {
      // Reviewed: exposes one frozen object, one function per contract method (test/main/app/preload.test.ts).
      preload: params.preloadPath, // eng-disable PRELOAD_JS_CHECK
      partition: SESSION_PARTITION,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      disableBlinkFeatures: 'Auxclick',
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
      devTools: params.devTools,
    },
  });
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** MIME type for a served file, or null for a kind we do not serve. */
export function contentTypeFor(path: string): string | null {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? null : (CONTENT_TYPES[path.slice(dot).toLowerCase()] ?? null);
}

/**
 * Maps an app:// request URL to a file under rootDir, or null when it must be refused: another
 * origin, a traversal (`..`, encoded separators, NUL, backslashes), a dot-file, or a
 * file type we do not serve.
 */
export function resolveAppPath(rootDir: string, requestUrl: string): string | null {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return null;
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST || url.username || url.password) return null;
  // URL parsing folds `..` and `%2e%2e` away silently: refuse them in the raw request instead.
  if (/%2e|%2f|%5c|%00/i.test(requestUrl) || /\/\.\.?(?=[/?#]|$)/.test(requestUrl)) return null;
  const raw = url.pathname;
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..' || s.startsWith('.'))) return null;
  const rel = segments.length === 0 ? 'index.html' : segments.join('/');
  if (!contentTypeFor(rel)) return null;
  const full = normalize(join(rootDir, rel));
  const back = relative(rootDir, full);
  if (back === '' || back.startsWith('..') || isAbsolute(back) || back.split(sep).includes('..')) return null;
  return full;
}

/** True for a URL of our own origin (the only place the window may ever be). */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && !u.username && !u.password;
  } catch {
    return false;
  }
}

/** What the window's session may load at all: its own origin (and its blobs), and DevTools when they are on. */
export function isRequestAllowed(url: string): boolean {
  return isAppUrl(url) || url.startsWith(`blob:${APP_ORIGIN}/`) || url.startsWith('devtools://');
}

/** Downloads the window may start (e.g. the CA certificate it built as a Blob); Electron asks where to save. */
export function isDownloadAllowed(url: string): boolean {
  return url.startsWith(`blob:${APP_ORIGIN}/`);
}

/** will-navigate / will-redirect: stay inside app://ampule. */
export function isNavigationAllowed(url: string): boolean {
  return isAppUrl(url);
}

/** Hosts whose documentation the window may open in the user's browser (exact host match). */
export const EXTERNAL_HOST_ALLOWLIST: readonly string[] = [
  'prometheus.io',
  'grafana.com',
  'docs.aws.amazon.com',
  'github.com',
  'www.electronjs.org',
];

/**
 * Whether a link from the window may be handed to shell.openExternal: https only, an
 * allowlisted host (exact, default port), no credentials in the URL, no control characters.
 */
export function isVettedExternalUrl(url: string): boolean {
  if (typeof url !== 'string' || url.length > 2048 || /[\u0000-\u001f\u007f\s\\]/.test(url)) return false;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'https:' || u.username || u.password || u.port !== '') return false;
  // The original must spell the same host: refuses tricks the parser would normalise away.
  if (!url.toLowerCase().startsWith(`https://${u.hostname}/`) && url.toLowerCase() !== `https://${u.hostname}`) return false;
  return EXTERNAL_HOST_ALLOWLIST.includes(u.hostname);
}

/**
 * The only way a URL reaches the user's browser: vetted first (https, an allowlisted host, no
 * credentials). Returns whether it was opened.
 */
export function openVettedExternal(shell: Pick<Shell, 'openExternal'>, url: string): boolean {
  if (!isVettedExternalUrl(url)) return false;
  void shell.openExternal(url); // eng-disable OPEN_EXTERNAL_JS_CHECK (vetted on the line above)
  return true;
}

/** Session permission requests (camera, notifications, clipboard, …): denied, all of them. */
export function permissionRequestDecision(_permission: string): boolean {
  return false;
}

/** Session permission checks: denied, all of them. */
export function permissionCheckDecision(_permission: string): boolean {
  return false;
}

/** What an IPC handler knows about who called it. */
export interface IpcSenderInfo {
  /** webContents id of the sender. */
  readonly webContentsId: number;
  /** The sending frame's URL, or null when the frame is gone. */
  readonly frameUrl: string | null;
  /** Whether the sending frame is its page's main frame. */
  readonly isMainFrame: boolean;
}

/**
 * Checked before anything else in every IPC handler: the call must come from the main frame of
 * our own window, showing a page of our own origin.
 */
export function isTrustedSender(sender: IpcSenderInfo, trustedWebContentsId: number | null): boolean {
  return (
    trustedWebContentsId !== null &&
    sender.webContentsId === trustedWebContentsId &&
    sender.isMainFrame &&
    sender.frameUrl !== null &&
    isAppUrl(sender.frameUrl)
  );
}
