// The web console under /console/ on the appliance's HTTPS listener: the built renderer's static
// files, a login (password + optional TOTP) that opens a cookie session, and the API contract as
// JSON RPC (POST /console/api/<method>, body {"args":[…]}) through the generic dispatcher.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AmpuleApi, ApiErrorData } from '../../shared/api';
import type { Cipher } from '../crypto/types';
import { readBody } from '../http/body';
import { HttpError, sendJson } from '../http/errors';
import type { HttpHandler } from '../http/types';
import { dispatch, httpStatusOf } from '../service/dispatch';
import { consoleStatus, loadCredentials, verifyPasswordHash } from './credentials';
import { setSecurityHeaders } from './headers';
import { LoginLimiter } from './rate-limit';
import { CSRF_HEADER, readCookie, SESSION_COOKIE, SessionStore } from './sessions';
import { verifyTotp } from './totp';

export interface ConsoleEvent {
  readonly action: 'console.login' | 'console.logout' | 'console.csrf';
  readonly outcome: 'ok' | 'denied';
  /** Remote address. */
  readonly client: string;
  readonly detail: string;
}

export interface ConsoleOptions {
  readonly dataDir: string;
  /** The service the console's admin acts through. */
  readonly api: AmpuleApi;
  /** Opens the sealed TOTP secret (the appliance's secrets cipher). */
  readonly cipher: () => Cipher;
  /** Folder with the built renderer (index.html, app.js, style.css, uPlot.min.css). */
  readonly staticDir: string;
  /** Records logins, failures and refused changes in the activity log. */
  readonly record: (e: ConsoleEvent) => void;
  readonly limiter?: LoginLimiter;
  readonly now?: () => number;
}

const STATIC_FILES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
  '/uPlot.min.css': 'uPlot.min.css',
};
const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};
const MAX_BODY = 1 << 20;

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly data: ApiErrorData,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(data.message);
  }
}

async function readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  // A JSON content type cannot be sent cross-site without a CORS preflight, which we never grant.
  if (type !== 'application/json') throw new HttpFailure(415, { kind: 'invalid', message: 'send the body as application/json' });
  const body = await readBody(req, res, MAX_BODY);
  try {
    return JSON.parse(body.toString('utf8') || '{}');
  } catch {
    throw new HttpFailure(400, { kind: 'invalid', message: 'the body is not valid JSON' });
  }
}

/** Same-origin check: browsers send Origin on POST; a mismatch is a cross-site request. */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return origin === `https://${req.headers.host ?? ''}`;
}

function clientOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

export function createConsoleHandler(opts: ConsoleOptions): HttpHandler {
  const sessions = new SessionStore();
  const limiter = opts.limiter ?? new LoginLimiter();
  const now = opts.now ?? Date.now;
  /** Highest TOTP step used so far: a code is good once (RFC 6238 §5.2). */
  let lastTotpCounter = -1;

  function sessionOf(req: IncomingMessage) {
    const id = readCookie(req.headers.cookie, SESSION_COOKIE);
    return { id, session: sessions.get(id, now()) };
  }

  async function serveStatic(res: ServerResponse, subpath: string, head: boolean): Promise<void> {
    const file = STATIC_FILES[subpath];
    if (!file) throw new HttpFailure(404, { kind: 'not_found', message: 'no such page' });
    let body: Buffer;
    try {
      body = await readFile(join(opts.staticDir, file));
    } catch {
      throw new HttpFailure(503, { kind: 'unavailable', message: 'the console is not built', advice: "run 'npm run build' (creates dist/renderer)" });
    }
    res.writeHead(200, { 'Content-Type': TYPES[file.split('.').pop()!]!, 'Content-Length': body.length, 'Cache-Control': 'no-cache' });
    res.end(head ? undefined : body);
  }

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const client = clientOf(req);
    const decision = limiter.check(client, now());
    if (!decision.allowed) {
      opts.record({ action: 'console.login', outcome: 'denied', client, detail: 'rate limited' });
      throw new HttpFailure(
        429,
        { kind: 'rate_limited', message: `too many failed sign-ins; try again in ${decision.retryAfterSeconds} s` },
        { 'Retry-After': String(decision.retryAfterSeconds) },
      );
    }
    const body = (await readJson(req, res)) as { password?: unknown; code?: unknown };
    const creds = loadCredentials(opts.dataDir, opts.cipher);
    if (!creds) {
      throw new HttpFailure(503, { kind: 'unavailable', message: 'no console password is set', advice: "run 'ampule console set-password' on the server" });
    }
    const password = typeof body.password === 'string' && body.password.length <= 1024 ? body.password : '';
    const code = typeof body.code === 'string' ? body.code.trim() : '';
    let ok = password !== '' && (await verifyPasswordHash(creds.passwordHash, password));
    let matched: number | null = null;
    if (ok && creds.totpSecret) {
      matched = verifyTotp(creds.totpSecret, code, now(), lastTotpCounter);
      ok = matched !== null;
    }
    if (!ok) {
      limiter.fail(client, now());
      opts.record({ action: 'console.login', outcome: 'denied', client, detail: creds.totpSecret ? 'wrong password or code' : 'wrong password' });
      throw new HttpFailure(401, { kind: 'unauthorized', message: creds.totpSecret ? 'wrong password or authenticator code' : 'wrong password' });
    }
    if (matched !== null) lastTotpCounter = Math.max(lastTotpCounter, matched);
    limiter.succeed(client);
    const old = readCookie(req.headers.cookie, SESSION_COOKIE);
    sessions.destroy(old); // never reuse a pre-login session id (fixation)
    const { id, session } = sessions.create(now());
    opts.record({ action: 'console.login', outcome: 'ok', client, detail: creds.totpSecret ? 'password + TOTP' : 'password' });
    sendJson(res, 200, { csrfToken: session.csrfToken }, { 'Set-Cookie': SessionStore.cookie(id) });
  }

  async function route(req: IncomingMessage, res: ServerResponse, subpath: string): Promise<void> {
    const method = req.method ?? 'GET';
    if (subpath === '') {
      res.writeHead(308, { Location: '/console/' });
      res.end();
      return;
    }
    if (!subpath.startsWith('/api/')) {
      if (method !== 'GET' && method !== 'HEAD') throw new HttpFailure(405, { kind: 'invalid', message: 'use GET' });
      return serveStatic(res, subpath, method === 'HEAD');
    }
    const name = subpath.slice('/api/'.length);
    if (name === 'session' && method === 'GET') {
      const { session } = sessionOf(req);
      const status = consoleStatus(opts.dataDir);
      return sendJson(res, 200, { authenticated: !!session, csrfToken: session?.csrfToken ?? null, mfaRequired: status.mfaEnabled, passwordSet: status.passwordSet });
    }
    if (method !== 'POST') throw new HttpFailure(405, { kind: 'invalid', message: 'use POST' });
    if (!sameOrigin(req)) {
      opts.record({ action: 'console.csrf', outcome: 'denied', client: clientOf(req), detail: 'cross-origin request refused' });
      throw new HttpFailure(403, { kind: 'forbidden', message: 'cross-origin request refused' });
    }
    if (name === 'login') return login(req, res);
    const { id, session } = sessionOf(req);
    if (!session) throw new HttpFailure(401, { kind: 'unauthorized', message: 'sign in first (the session is missing or has expired)' });
    const csrf = req.headers[CSRF_HEADER];
    if (!SessionStore.csrfMatches(session, typeof csrf === 'string' ? csrf : undefined)) {
      opts.record({ action: 'console.csrf', outcome: 'denied', client: clientOf(req), detail: `missing or wrong CSRF token on ${name.slice(0, 40)}` });
      throw new HttpFailure(403, { kind: 'forbidden', message: 'missing or wrong CSRF token; reload the page' });
    }
    if (name === 'logout') {
      sessions.destroy(id);
      opts.record({ action: 'console.logout', outcome: 'ok', client: clientOf(req), detail: '' });
      return sendJson(res, 200, { ok: true, value: null }, { 'Set-Cookie': SessionStore.clearCookie() });
    }
    const body = (await readJson(req, res)) as { args?: unknown };
    const result = await dispatch(opts.api, name, body.args ?? []);
    sendJson(res, result.ok ? 200 : httpStatusOf(result.error.kind), result);
  }

  return async (req, res, subpath) => {
    setSecurityHeaders(res);
    try {
      await route(req, res, subpath);
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof HttpFailure) sendJson(res, e.status, { ok: false, error: e.data }, e.headers);
      else if (e instanceof HttpError) {
        if (e.closeConnection) res.shouldKeepAlive = false;
        sendJson(res, e.status, { ok: false, error: { kind: e.status < 500 ? 'invalid' : 'internal', message: e.message } }, e.headers);
      } else sendJson(res, 500, { ok: false, error: { kind: 'internal', message: 'internal error in the console' } });
    }
  };
}
