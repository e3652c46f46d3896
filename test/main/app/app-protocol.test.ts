// The app:// handler over real files: what it serves, with which headers, and what it refuses.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveAppRequest } from '../../../main/app/app-protocol';
import { CONTENT_SECURITY_POLICY } from '../../../main/app/security';

const base = mkdtempSync(join(tmpdir(), 'ampule-proto-'));
const root = join(base, 'renderer');
beforeAll(() => {
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>Ampule</title>');
  writeFileSync(join(root, 'app.js'), 'export {}');
  writeFileSync(join(root, 'sub', 'style.css'), 'body{}');
  // A secret next to the served folder: must stay unreachable.
  writeFileSync(join(dirname(root), 'secret.js'), 'the master key');
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

const get = (url: string, method = 'GET') => serveAppRequest(root, { url, method });

describe('serveAppRequest', () => {
  it('serves the renderer with its type and the strict headers', async () => {
    const r = await get('app://ampule/');
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('<title>Ampule</title>');
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    const js = await get('app://ampule/app.js');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await get('app://ampule/sub/style.css')).status).toBe(200);
  });

  it('puts the CSP on refusals too', async () => {
    const r = await get('app://ampule/missing.js');
    expect(r.status).toBe(404);
    expect(r.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
  });

  it.each(['app://ampule/../secret.js', 'app://ampule/%2e%2e/secret.js', 'app://ampule/sub/..%2f..%2fsecret.js', 'app://ampule/..%5csecret.js'])('refuses traversal %s', async (url) => {
    const r = await get(url);
    expect(r.status).toBe(404);
    expect(await r.text()).not.toContain('master key');
  });

  it('answers HEAD without a body and refuses other methods', async () => {
    const head = await get('app://ampule/app.js', 'HEAD');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await get('app://ampule/app.js', 'POST')).status).toBe(405);
  });
});
