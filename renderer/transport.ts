// Where the API comes from: the Electron preload's `window.ampule` bridge in the desktop window,
// or the HTTPS console's RPC in a browser. Both answer ApiResult envelopes.
import { isApiMethod, type AmpuleBridge, type ApiResult } from '../shared/api';
import type { Transport } from '../shared/api-client';

declare global {
  interface Window {
    ampule?: AmpuleBridge;
  }
}

export function bridgeTransport(bridge: AmpuleBridge): Transport {
  return (method, args) => {
    if (!isApiMethod(method)) return Promise.resolve({ ok: false, error: { kind: 'not_found', message: `unknown method ${method}` } });
    const fn = bridge[method] as (...a: readonly unknown[]) => Promise<ApiResult<unknown>>;
    return fn(...args);
  };
}

export interface ConsoleSession {
  readonly authenticated: boolean;
  readonly csrfToken: string | null;
  readonly mfaRequired: boolean;
  readonly passwordSet: boolean;
}

const CSRF_HEADER = 'X-Ampule-CSRF';

/** The web console's client: JSON POSTs to /console/api/<method> carrying the session's CSRF token. */
export class ConsoleClient {
  private csrfToken: string | null = null;
  /** Called when the server says the session is gone, so the app can show the login page. */
  onSignedOut: () => void = () => {};

  constructor(private readonly base = '/console/api') {}

  async session(): Promise<ConsoleSession> {
    const res = await fetch(`${this.base}/session`, { credentials: 'same-origin', cache: 'no-store' });
    const s = (await res.json()) as ConsoleSession;
    this.csrfToken = s.csrfToken;
    return s;
  }

  async login(password: string, code: string): Promise<void> {
    const res = await this.post('login', { password, code });
    const body = (await res.json()) as { csrfToken?: string; error?: { message: string; advice?: string } };
    if (!res.ok || !body.csrfToken) throw new Error(body.error ? body.error.message + (body.error.advice ? ` — ${body.error.advice}` : '') : `sign-in failed (${res.status})`);
    this.csrfToken = body.csrfToken;
  }

  async logout(): Promise<void> {
    await this.post('logout', {});
    this.csrfToken = null;
  }

  readonly transport: Transport = async (method, args) => {
    let res: Response;
    try {
      res = await this.post(method, { args });
    } catch {
      return { ok: false, error: { kind: 'unavailable', message: 'the server does not answer', advice: 'check that ampule serve is running' } };
    }
    let body: ApiResult<unknown>;
    try {
      body = (await res.json()) as ApiResult<unknown>;
    } catch {
      return { ok: false, error: { kind: 'internal', message: `unexpected answer from the server (${res.status})` } };
    }
    if (!body.ok && body.error.kind === 'unauthorized') this.onSignedOut();
    return body;
  };

  private post(name: string, body: unknown): Promise<Response> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (this.csrfToken) headers[CSRF_HEADER] = this.csrfToken;
    return fetch(`${this.base}/${name}`, { method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' });
  }
}
