// The web console on a real HTTPS listener with a real appliance (real keychain): security
// headers, login with password + TOTP, cookie flags, CSRF, same-origin, rate limiting, logout.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableMfa, setPassword } from '../../../main/console/credentials';
import { CONSOLE_CSP } from '../../../main/console/headers';
import { mountConsole } from '../../../main/console/mount';
import { totp } from '../../../main/console/totp';
import type { ServiceRuntime } from '../../../main/service/runtime';
import { noKeychainReason, send, startHarness, type Harness, type Reply } from '../http/harness';

const PASSWORD = 'console test password';

if (noKeychainReason) console.log(`console handler tests skipped: ${noKeychainReason}`);

describe.skipIf(noKeychainReason !== null)('web console handler', () => {
  let h: Harness;
  let runtime: ServiceRuntime;
  let secret: Buffer;
  const staticDir = mkdtempSync(join(tmpdir(), 'ampule-console-static-'));
  // Each test's logins come from 127.0.0.1; steps apart so a used TOTP step is never reused.
  let clock = Date.now();
  const code = () => totp(secret, (clock += 30_000));

  beforeAll(async () => {
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>Ampule</title>');
    writeFileSync(join(staticDir, 'app.js'), 'export {};');
    h = await startHarness();
    runtime = h.host.runtime;
    await setPassword(h.dataDir, PASSWORD);
    secret = enableMfa(h.dataDir, h.appliance.tlsKeys).secret;
    // The console's clock is ours, so every login can use a fresh TOTP step.
    mountConsole(h.server, h.appliance, runtime, { staticDir, now: () => clock });
  });

  afterAll(async () => {
    await h?.close();
    rmSync(staticDir, { recursive: true, force: true });
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    send(h, { method: 'POST', path: `/console/api/${path}`, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

  async function login(): Promise<{ cookie: string; csrf: string; reply: Reply }> {
    const reply = await post('login', { password: PASSWORD, code: code() });
    expect(reply.status, reply.text).toBe(200);
    const setCookie = reply.headers['set-cookie']![0]!;
    return { cookie: setCookie.split(';')[0]!, csrf: (JSON.parse(reply.text) as { csrfToken: string }).csrfToken, reply };
  }

  it('sends a strict CSP and hardening headers on every response', async () => {
    for (const r of [await send(h, { path: '/console/' }), await send(h, { path: '/console/nope' }), await post('listWorkspaces', { args: [] })]) {
      expect(r.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['x-frame-options']).toBe('DENY');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
    }
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
    const page = await send(h, { path: '/console/' });
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>Ampule</title>');
    expect((await send(h, { path: '/console/../control.db' })).status).not.toBe(200);
  });

  it('sends a browser that opens the server root to the console; the API paths stay as they are', async () => {
    const root = await send(h, { path: '/' });
    expect(root.status).toBe(302);
    expect(root.headers['location']).toBe('/console/');
    expect(root.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect((await send(h, { method: 'POST', path: '/' })).status).toBe(404);
    expect((await send(h, { path: '/api/v1/query' })).status).not.toBe(302);
  });

  it('sets the session cookie Secure, HttpOnly, SameSite=Strict, host-only', async () => {
    const { reply } = await login();
    const cookie = reply.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/^__Host-ampule-console=[\w-]{40,};/);
    expect(cookie).toContain('; Secure');
    expect(cookie).toContain('; HttpOnly');
    expect(cookie).toContain('; SameSite=Strict');
    expect(cookie).toContain('; Path=/');
    expect(cookie).not.toContain('Domain=');
  });

  it('refuses calls without a session, without or with a wrong CSRF token, cross-origin, or not JSON', async () => {
    const { cookie, csrf } = await login();
    expect((await post('listWorkspaces', { args: [] })).status).toBe(401);
    const noCsrf = await post('createWorkspace', { args: [{ alias: 'x' }] }, { Cookie: cookie });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.json()).toMatchObject({ ok: false, error: { kind: 'forbidden' } });
    expect((await post('createWorkspace', { args: [{ alias: 'x' }] }, { Cookie: cookie, 'X-Ampule-CSRF': csrf.slice(0, -2) + 'xx' })).status).toBe(403);
    const crossSite = await post('createWorkspace', { args: [{ alias: 'x' }] }, { Cookie: cookie, 'X-Ampule-CSRF': csrf, Origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    const form = await send(h, { method: 'POST', path: '/console/api/createWorkspace', headers: { Cookie: cookie, 'X-Ampule-CSRF': csrf, 'Content-Type': 'text/plain' }, body: '{"args":[{"alias":"x"}]}' });
    expect(form.status).toBe(415);
    expect(h.appliance.control.listWorkspaces().some((w) => w.alias === 'x')).toBe(false);

    const ok = await post('createWorkspace', { args: [{ alias: 'console-made' }] }, { Cookie: cookie, 'X-Ampule-CSRF': csrf });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json()).toMatchObject({ ok: true, value: { alias: 'console-made', status: 'ACTIVE' } });
    h.appliance.activity.flush();
    expect(h.appliance.activity.list({ action: 'console.csrf', outcome: 'denied' }).entries.length).toBeGreaterThan(0);
  });

  it('validates RPC arguments at the edge and maps errors to statuses', async () => {
    const { cookie, csrf } = await login();
    const auth = { Cookie: cookie, 'X-Ampule-CSRF': csrf };
    const bad = await post('createWorkspace', { args: [{ alias: '', extra: 1 }] }, auth);
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ ok: false, error: { kind: 'invalid' } });
    const huge = await post('checkQuery', { args: ['x'.repeat(2 << 20)] }, auth);
    expect(huge.status).toBe(413);
    const unknown = await post('dropEverything', { args: [] }, auth);
    expect(unknown.status).toBe(404);
    const missing = await post('describeWorkspace', { args: ['ws-doesnotexist'] }, auth);
    expect(missing.status).toBe(404);
  });

  it('needs the TOTP code, refuses its reuse, and logs logins and failures', async () => {
    expect((await post('login', { password: PASSWORD })).status).toBe(401);
    const c = code();
    expect((await post('login', { password: PASSWORD, code: c })).status).toBe(200);
    // Same code, still within its step: a replay.
    expect((await post('login', { password: PASSWORD, code: c })).status).toBe(401);
    h.appliance.activity.flush();
    const ok = h.appliance.activity.list({ action: 'console.login', outcome: 'ok' }).entries;
    const denied = h.appliance.activity.list({ action: 'console.login', outcome: 'denied' }).entries;
    expect(ok.length).toBeGreaterThan(0);
    expect(ok[0]!.actor).toBe('console:admin');
    expect(denied.length).toBeGreaterThan(0);
    expect(JSON.stringify(denied)).not.toContain(PASSWORD);
  });

  it('logout ends the session', async () => {
    const { cookie, csrf } = await login();
    const auth = { Cookie: cookie, 'X-Ampule-CSRF': csrf };
    expect((await post('listWorkspaces', { args: [] }, auth)).status).toBe(200);
    expect((await post('logout', {}, auth)).status).toBe(200);
    expect((await post('listWorkspaces', { args: [] }, auth)).status).toBe(401);
  });

  // Last: it locks 127.0.0.1 out for the window.
  it('rate-limits failed sign-ins, even with the right password afterwards', async () => {
    let last: Reply | undefined;
    for (let i = 0; i < 6; i++) last = await post('login', { password: 'wrong password', code: code() });
    expect(last!.status).toBe(429);
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    expect((await post('login', { password: PASSWORD, code: code() })).status).toBe(429);
  });
});
