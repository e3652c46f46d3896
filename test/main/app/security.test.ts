// Electron's security checklist as tests over the REAL values main.ts applies (no Electron needed:
// security.ts is plain data and pure functions).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  APP_ORIGIN,
  APP_START_URL,
  CONTENT_SECURITY_POLICY,
  CSP_DIRECTIVES,
  EXTERNAL_HOST_ALLOWLIST,
  PRIVILEGED_SCHEMES,
  RESPONSE_HEADERS,
  SESSION_PARTITION,
  createMainWindow,
  openVettedExternal,
  isAppUrl,
  isDownloadAllowed,
  isRequestAllowed,
  isNavigationAllowed,
  isTrustedSender,
  isVettedExternalUrl,
  permissionCheckDecision,
  permissionRequestDecision,
  resolveAppPath,
} from '../../../main/app/security';
import type { BrowserWindowConstructorOptions } from 'electron';

const root = mkdtempSync(join(tmpdir(), 'ampule-renderer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Stands in for Electron's BrowserWindow (no Electron runtime here): records its options. */
class RecordingBrowserWindow {
  static last: BrowserWindowConstructorOptions | null = null;
  constructor(options: BrowserWindowConstructorOptions) {
    RecordingBrowserWindow.last = options;
  }
}

describe('window options', () => {
  createMainWindow(RecordingBrowserWindow, { preloadPath: '/x/preload.cjs', devTools: false });
  const opts = RecordingBrowserWindow.last!;
  const web = opts.webPreferences!;
  it('isolate and sandbox the renderer, with no Node and no webviews', () => {
    expect(web.contextIsolation).toBe(true);
    expect(web.sandbox).toBe(true);
    expect(web.nodeIntegration).toBe(false);
    expect(web.nodeIntegrationInWorker).toBe(false);
    expect(web.nodeIntegrationInSubFrames).toBe(false);
    expect(web.webviewTag).toBe(false);
  });
  it('keep web security on and insecure content, experimental and Blink features off', () => {
    expect(web.webSecurity).toBe(true);
    expect(web.allowRunningInsecureContent).toBe(false);
    expect(web.experimentalFeatures).toBe(false);
    expect(web.enableBlinkFeatures).toBeUndefined();
    expect(web.disableBlinkFeatures).toContain('Auxclick');
    expect(web.navigateOnDragDrop).toBe(false);
  });
  it('use the given preload, an in-memory session, and load nothing remote', () => {
    expect(web.preload).toBe('/x/preload.cjs');
    expect(web.partition).toBe(SESSION_PARTITION);
    expect(web.partition!.startsWith('persist:')).toBe(false);
    expect(APP_START_URL.startsWith(`${APP_ORIGIN}/`)).toBe(true);
  });
  it('have DevTools only when asked', () => {
    expect(web.devTools).toBe(false);
    createMainWindow(RecordingBrowserWindow, { preloadPath: '/x', devTools: true });
    expect(RecordingBrowserWindow.last!.webPreferences!.devTools).toBe(true);
  });
});

describe('app:// scheme', () => {
  it('answers no other origin: no CORS allowance on any response', () => {
    expect(Object.keys(RESPONSE_HEADERS).some((h) => h.toLowerCase().startsWith('access-control-'))).toBe(false);
  });
  it('is registered standard and secure, without CSP bypass or service workers', () => {
    expect(PRIVILEGED_SCHEMES).toHaveLength(1);
    const [s] = PRIVILEGED_SCHEMES;
    expect(s!.scheme).toBe('app');
    expect(s!.privileges).toMatchObject({ standard: true, secure: true, bypassCSP: false, allowServiceWorkers: false });
  });
});

describe('Content-Security-Policy', () => {
  it('allows only our own scripts, no inline code, no eval', () => {
    expect(CSP_DIRECTIVES['default-src']).toBe("'self'");
    expect(CSP_DIRECTIVES['script-src']).toBe("'self'");
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|unsafe-hashes|wasm-unsafe-eval|\*|http:|https:/);
  });
  it('forbids plugins, framing, forms and base rewriting', () => {
    for (const d of ['object-src', 'frame-ancestors', 'frame-src', 'base-uri', 'form-action']) expect(CSP_DIRECTIVES[d], d).toBe("'none'");
  });
  it('is sent on every app:// response with nosniff and isolation headers', () => {
    expect(RESPONSE_HEADERS['Content-Security-Policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(RESPONSE_HEADERS['X-Content-Type-Options']).toBe('nosniff');
    expect(RESPONSE_HEADERS['Cross-Origin-Opener-Policy']).toBe('same-origin');
    expect(CONTENT_SECURITY_POLICY.split('; ')).toContain("object-src 'none'");
  });
});

describe('protocol handler path checks', () => {
  it('maps our origin onto files under the renderer folder', () => {
    expect(resolveAppPath(root, 'app://ampule/')).toBe(join(root, 'index.html'));
    expect(resolveAppPath(root, 'app://ampule/index.html')).toBe(join(root, 'index.html'));
    expect(resolveAppPath(root, 'app://ampule/app.js?v=1#x')).toBe(join(root, 'app.js'));
    expect(resolveAppPath(root, 'app://ampule/fonts/a.woff2')).toBe(join(root, 'fonts', 'a.woff2'));
  });
  it.each([
    'app://ampule/../../etc/passwd',
    'app://ampule/..%2f..%2fetc%2fpasswd',
    'app://ampule/%2e%2e/%2e%2e/etc/passwd.js',
    'app://ampule/..%5c..%5cwindows%5cwin.ini',
    'app://ampule/app.js%00.html',
    'app://ampule/.env',
    'app://ampule/sub/.git/config',
    'app://ampule/%E0%A4%A.js',
    'app://other/index.html',
    'app://user:pw@ampule/index.html',
    'file:///etc/passwd',
    'https://ampule/index.html',
    'app://ampule/server.key',
    'not a url',
  ])('refuses %s', (url) => {
    expect(resolveAppPath(root, url)).toBeNull();
  });
  it('never resolves outside the root, whatever the input', () => {
    const nasty = ['..', '%2e', '%2E%2E', '/', '\\', '.', 'a', '%252e'];
    for (const a of nasty) for (const b of nasty) for (const c of nasty) {
      const p = resolveAppPath(root, `app://ampule/${a}/${b}/${c}.js`);
      if (p !== null) expect(p.startsWith(root + sep), p).toBe(true);
    }
  });
});

describe('navigation, new windows and permissions', () => {
  it('navigation stays inside app://ampule', () => {
    expect(isNavigationAllowed('app://ampule/index.html#/workspaces')).toBe(true);
    for (const u of ['https://evil.example/', 'file:///etc/passwd', 'app://evil/index.html', 'javascript:alert(1)', 'data:text/html,x', 'about:blank'])
      expect(isNavigationAllowed(u), u).toBe(false);
  });
  it('only vetted links go to the browser', () => {
    const opened: string[] = [];
    const shell = { openExternal: async (u: string) => void opened.push(u) };
    expect(openVettedExternal(shell, 'https://prometheus.io/docs/')).toBe(true);
    expect(openVettedExternal(shell, 'app://ampule/index.html')).toBe(false);
    expect(openVettedExternal(shell, 'https://evil.example/')).toBe(false);
    expect(openVettedExternal(shell, 'file:///etc/passwd')).toBe(false);
    expect(opened).toEqual(['https://prometheus.io/docs/']);
  });
  it('the session loads only our origin, its blobs and DevTools; downloads only our blobs', () => {
    expect(isRequestAllowed('app://ampule/app.js')).toBe(true);
    expect(isRequestAllowed('blob:app://ampule/5f1c')).toBe(true);
    expect(isRequestAllowed('devtools://devtools/bundled/inspector.html')).toBe(true);
    for (const u of ['https://evil.example/x.js', 'http://127.0.0.1:9443/', 'file:///etc/passwd', 'ws://localhost/', 'blob:https://evil.example/1', 'app://evil/'])
      expect(isRequestAllowed(u), u).toBe(false);
    expect(isDownloadAllowed('blob:app://ampule/5f1c')).toBe(true);
    expect(isDownloadAllowed('https://evil.example/payload.exe')).toBe(false);
    expect(isDownloadAllowed('app://ampule/app.js')).toBe(false);
  });
  it('every permission request and check is denied', () => {
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen', 'unknown']) {
      expect(permissionRequestDecision(p)).toBe(false);
      expect(permissionCheckDecision(p)).toBe(false);
    }
  });
});

describe('isVettedExternalUrl', () => {
  it.each(['https://prometheus.io/docs/prometheus/latest/configuration/configuration/#remote_write', 'https://grafana.com/docs/', 'https://docs.aws.amazon.com/prometheus/latest/userguide/data-protection.html', 'https://github.com/'])(
    'accepts %s',
    (u) => expect(isVettedExternalUrl(u)).toBe(true),
  );
  it.each([
    'http://prometheus.io/',
    'https://prometheus.io.evil.example/',
    'https://evilprometheus.io/',
    'https://sub.prometheus.io/',
    'https://user:pw@prometheus.io/',
    'https://prometheus.io@evil.example/',
    'https://prometheus.io:8443/',
    'https://evil.example/?https://prometheus.io/',
    'file:///etc/passwd',
    'javascript:alert(1)//https://prometheus.io/',
    'smb://prometheus.io/share',
    'https://prometheus.io\\@evil.example/',
    'https://prometheus.io/\n',
    ' https://prometheus.io/',
    'https://prometheus.io.',
    'https://prometheus%2eio/',
    'https://' + 'a'.repeat(3000),
    '',
  ])('refuses %j', (u) => expect(isVettedExternalUrl(u)).toBe(false));
  it('allows exact hosts only', () => {
    for (const h of EXTERNAL_HOST_ALLOWLIST) expect(h).toMatch(/^[a-z0-9.-]+\.[a-z]+$/);
  });
});

describe('IPC sender validation', () => {
  const ok = { webContentsId: 7, frameUrl: 'app://ampule/index.html', isMainFrame: true };
  it('trusts only the main frame of our window showing our origin', () => {
    expect(isTrustedSender(ok, 7)).toBe(true);
    expect(isTrustedSender({ ...ok, webContentsId: 8 }, 7)).toBe(false);
    expect(isTrustedSender({ ...ok, isMainFrame: false }, 7)).toBe(false);
    expect(isTrustedSender({ ...ok, frameUrl: 'https://evil.example/' }, 7)).toBe(false);
    expect(isTrustedSender({ ...ok, frameUrl: 'file:///x/index.html' }, 7)).toBe(false);
    expect(isTrustedSender({ ...ok, frameUrl: null }, 7)).toBe(false);
    expect(isTrustedSender(ok, null)).toBe(false);
  });
  it('isAppUrl refuses look-alikes', () => {
    expect(isAppUrl('app://ampule/')).toBe(true);
    expect(isAppUrl('app://ampule.evil/')).toBe(false);
    expect(isAppUrl('app://x@ampule/')).toBe(false);
  });
});
