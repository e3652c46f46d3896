// The HTTPS listener over real TLS: authentication and authorization answers, credentials in URLs,
// body limits, protocol hygiene (TLS versions, plain HTTP, slow headers), mutual TLS, certificate
// renewal while running, and a graceful close. The server must keep serving after each abuse.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bearer, keychainSkipNote, noKeychainReason, send, startHarness, type Harness } from './harness';
import { pkcs8ToPem } from '../../../main/tls/certificates';
import { LocalCa } from '../../../main/tls/local-ca';
import { createCipher } from '../../../main/crypto/cipher';
import { startServer } from '../../../main/http/server';
import { randomBytes } from 'node:crypto';


function tlsOpen(h: Harness, opts: Record<string, unknown> = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: 'localhost', port: h.server.port, ca: h.caPem, servername: 'localhost', ...opts }, () => resolve(s));
    s.on('error', reject);
  });
}

/** Writes `text` on a raw socket and collects everything until the server closes it. */
function rawExchange(socket: NodeJS.WritableStream & NodeJS.ReadableStream, text: string): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    socket.on('data', (c: Buffer) => (got += c.toString('latin1')));
    socket.on('close', () => resolve(got));
    socket.on('error', () => {});
    socket.write(text);
  });
}

describe.skipIf(noKeychainReason)(`HTTPS listener${keychainSkipNote}`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ headersTimeoutMs: 1000 });
  });
  afterAll(async () => h?.close());

  const labelsPath = (ws: string) => `/workspaces/${ws}/api/v1/labels`;
  const writePath = (ws: string) => `/workspaces/${ws}/api/v1/remote_write`;

  it('answers 401 the same way for an existing and a made-up workspace', async () => {
    const real = await send(h, { path: labelsPath(h.wsA) });
    const fake = await send(h, { path: labelsPath('ws-00000000-0000-4000-8000-000000000000') });
    expect(real.status).toBe(401);
    expect(fake.status).toBe(401);
    expect(fake.text).toBe(real.text);
    expect(real.json()).toMatchObject({ status: 'error', errorType: 'unauthorized' });
    expect(real.headers['www-authenticate']).toMatch(/Bearer/);
    expect(real.headers['content-type']).toMatch(/application\/json/);
    const badToken = 'amp_0123456789abcdef_' + 'x'.repeat(43);
    const r1 = await send(h, { path: labelsPath(h.wsA), headers: bearer(badToken) });
    const r2 = await send(h, { path: labelsPath('ws-00000000-0000-4000-8000-000000000000'), headers: bearer(badToken) });
    expect([r1.status, r2.status]).toEqual([401, 401]);
    expect(r2.text).toBe(r1.text);
  });

  it('refuses expired and revoked tokens with 401', async () => {
    const expired = h.token(h.wsA, ['query'], new Date(Date.now() + 1500));
    const revokedToken = h.token(h.wsA, ['query']);
    h.appliance.control.revokeToken(revokedToken.split('_')[1]!);
    await new Promise((r) => setTimeout(r, 1600));
    for (const t of [expired, revokedToken]) {
      const r = await send(h, { path: labelsPath(h.wsA), headers: bearer(t) });
      expect(r.status).toBe(401);
      expect(r.json().error).toMatch(/invalid, expired or revoked/);
    }
  });

  it("answers 403 for a token of workspace A used on B, for a missing scope, and for another X-Scope-OrgID", async () => {
    const a = h.token(h.wsA, ['query', 'remote_write']);
    const aQuery = h.token(h.wsA, ['query']);
    const onB = await send(h, { path: labelsPath(h.wsB), headers: bearer(a) });
    expect(onB.status).toBe(403);
    expect(onB.json()).toMatchObject({ errorType: 'forbidden' });
    const noScope = await send(h, { method: 'POST', path: writePath(h.wsA), headers: { ...bearer(aQuery), 'Content-Type': 'application/x-protobuf' }, body: 'x' });
    expect(noScope.status).toBe(403);
    expect(noScope.json().error).toMatch(/remote_write/);
    const org = await send(h, { path: '/api/v1/labels', headers: { ...bearer(a), 'X-Scope-OrgID': h.wsB } });
    expect(org.status).toBe(403);
    const basicWrongUser = await send(h, { path: labelsPath(h.wsA), headers: { Authorization: 'Basic ' + Buffer.from(`${h.wsB}:${a}`).toString('base64') } });
    expect(basicWrongUser.status).toBe(403);
  });

  it('refuses credentials in the query string or path with 400, naming the Authorization header', async () => {
    const t = h.token(h.wsA, ['query']);
    for (const path of [`${labelsPath(h.wsA)}?access_token=${t}`, `${labelsPath(h.wsA)}?token=abc`, `${labelsPath(h.wsA)}?auth=abc`, `${labelsPath(h.wsA)}?match[]=${t}`, `/api/v1/labels?x=${t}`]) {
      const r = await send(h, { path, headers: bearer(t) });
      expect(r.status, path).toBe(400);
      expect(r.json().error).toMatch(/Authorization header/);
      expect(r.text).not.toContain(t);
    }
  });

  it('refuses an absolute-form request target carrying userinfo', async () => {
    const s = await tlsOpen(h);
    const reply = await rawExchange(s, `GET https://user:secret@localhost:${h.server.port}/api/v1/labels HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply).toMatch(/credentials never belong in a URL/);
  });

  it('answers 413 at once to a 1 GB Content-Length, without reading the body', async () => {
    const t = h.token(h.wsA, ['remote_write']);
    const s = await tlsOpen(h);
    const started = Date.now();
    const reply = await rawExchange(
      s,
      `POST ${writePath(h.wsA)} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${t}\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nContent-Length: 1000000000\r\n\r\n` + 'x'.repeat(1000),
    );
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
    expect(reply).toMatch(/exceeds the limit/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('answers 413 to an unauthenticated huge body with 401 first, closing the connection', async () => {
    const s = await tlsOpen(h);
    const reply = await rawExchange(s, `POST ${writePath(h.wsA)} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000000\r\n\r\n`);
    expect(reply).toMatch(/^HTTP\/1\.1 401 /);
    expect(reply.toLowerCase()).toContain('connection: close');
  });

  it('answers plain HTTP on the TLS port with a plain 400 saying to use https://, serving nothing else', async () => {
    const t = h.token(h.wsA, ['query']);
    const s = netConnect(h.server.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const reply = await rawExchange(s, `GET ${labelsPath(h.wsA)} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${t}\r\n\r\n`);
    expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(reply).toMatch(/HTTPS only: use https:\/\//);
    expect(reply).not.toMatch(/status|data|workspace/);
    // Silence on a fresh connection is cut off too.
    const idle = netConnect(h.server.port, '127.0.0.1');
    const started = Date.now();
    await new Promise((r) => idle.on('close', r).resume());
    expect(Date.now() - started).toBeLessThan(6000);
  });

  it('closes a connection whose headers trickle in too slowly (slow-loris)', async () => {
    const s = await tlsOpen(h);
    let closed = false;
    s.on('close', () => (closed = true));
    s.on('error', () => {});
    s.on('data', () => {});
    s.write('GET /api/v1/labels HTTP/1.1\r\nHost: localhost\r\n');
    const started = Date.now();
    while (!closed && Date.now() - started < 8000) {
      s.write('X-Slow: a\r\n');
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(6000);
  });

  it('closes a connection that completes the handshake but never sends a request', async () => {
    const s = await tlsOpen(h);
    const started = Date.now();
    const closed = await new Promise<boolean>((resolve) => {
      s.resume(); // read, so the server's FIN is seen
      s.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 8000);
    });
    expect(closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(6000);
  });

  it('speaks TLS 1.3 by default, accepts TLS 1.2 with AEAD suites, refuses TLS 1.1 and CBC suites', async () => {
    const s13 = await tlsOpen(h);
    expect(s13.getProtocol()).toBe('TLSv1.3');
    s13.destroy();
    const s12 = await tlsOpen(h, { maxVersion: 'TLSv1.2' });
    expect(s12.getProtocol()).toBe('TLSv1.2');
    expect(s12.getCipher().name).toMatch(/GCM|CHACHA20/);
    s12.destroy();
    await expect(tlsOpen(h, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' })).rejects.toThrow();
    await expect(tlsOpen(h, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA' })).rejects.toThrow();
  });

  it('answers unknown paths with a JSON 404 and wrong methods with 405', async () => {
    const t = h.token(h.wsA, ['remote_write', 'query']);
    const nf = await send(h, { path: '/nope', headers: bearer(t) });
    expect(nf.status).toBe(404);
    expect(nf.json()).toMatchObject({ status: 'error' });
    const m = await send(h, { method: 'GET', path: writePath(h.wsA), headers: bearer(t) });
    expect(m.status).toBe(405);
    expect(m.headers.allow).toBe('POST');
  });

  it('accepts a client certificate from the local CA as its workspace credential, and only for it', async () => {
    const issued = await new LocalCa(h.dataDir, h.appliance.tlsKeys).issueClient(h.wsA, new Date());
    const tls = { cert: issued.certPem, key: pkcs8ToPem(issued.keyPkcs8) };
    // Authenticated as A: on B it is 403 (not 401), on A the scope check passes (not 401/403).
    const onB = await send(h, { path: labelsPath(h.wsB), ...tls });
    expect(onB.status).toBe(403);
    const onA = await send(h, { method: 'POST', path: writePath(h.wsA), headers: { 'Content-Type': 'text/plain' }, body: 'x', ...tls });
    expect([401, 403]).not.toContain(onA.status);
    // A certificate from another CA is ignored: the request is unauthenticated.
    const foreign = await new LocalCa(mkdtempSync(join(tmpdir(), 'ampule-foreign-')), createCipher(randomBytes(32))).issueClient(h.wsA, new Date());
    const f = await send(h, { path: labelsPath(h.wsA), cert: foreign.certPem, key: pkcs8ToPem(foreign.keyPkcs8) });
    expect(f.status).toBe(401);
  });

  it('records authentication failures in the activity log, never the token', async () => {
    await send(h, { path: labelsPath(h.wsA) });
    h.appliance.activity.flush();
    const page = h.appliance.activity.list({});
    const text = JSON.stringify(page);
    expect(text).toMatch(/http\.auth_failure/);
    expect(text).not.toMatch(/amp_[0-9a-f]{16}_/);
  });

  it('still serves after all of the above', async () => {
    const t = h.token(h.wsA, ['query']);
    const r = await send(h, { path: '/-/healthy' });
    expect(r.status).toBe(200);
    const r2 = await send(h, { path: labelsPath(h.wsB), headers: bearer(t) });
    expect(r2.status).toBe(403);
  });
});

describe.skipIf(noKeychainReason)(`certificates of a running server${keychainSkipNote}`, () => {
  it('renews the server certificate while running, under the same CA', async () => {
    // Start 65 days in the past, so the first certificate has 25 days left when the clock catches up.
    let clock = Date.now() - 65 * 86_400_000;
    const h = await startHarness({ now: () => new Date(clock), renewCheckMs: 100 });
    try {
      const peer = async () => {
        const s = await new Promise<TLSSocket>((resolve, reject) => {
          const sock = tlsConnect({ host: 'localhost', port: h.server.port, ca: h.caPem, servername: 'localhost' }, () => resolve(sock));
          sock.on('error', reject);
        });
        const c = s.getPeerX509Certificate()!;
        s.destroy();
        return c;
      };
      const before = await peer();
      clock = Date.now();
      let after = before;
      for (let i = 0; i < 50 && after.serialNumber === before.serialNumber; i++) {
        await new Promise((r) => setTimeout(r, 100));
        after = await peer();
      }
      expect(after.serialNumber).not.toBe(before.serialNumber);
      expect(after.checkIssued(new X509Certificate(h.caPem))).toBe(true);
      expect(new Date(after.validTo).getTime()).toBeGreaterThan(clock + 89 * 86_400_000);
    } finally {
      await h.close();
    }
  });

  it('serves a user-supplied certificate and key instead of the local CA', async () => {
    const h = await startHarness();
    const otherDir = mkdtempSync(join(tmpdir(), 'ampule-usercert-'));
    try {
      const user = await new LocalCa(otherDir, createCipher(randomBytes(32))).serverIdentity(new Date());
      const server = await startServer(h.appliance, { port: 0, log: () => {}, tls: { certPem: user.certPem, keyPem: user.keyPem } });
      try {
        const r = await send({ server, caPem: user.caCertPem }, { path: '/-/healthy' });
        expect(r.status).toBe(200);
        // The local CA no longer verifies this server.
        await expect(send({ server, caPem: h.caPem }, { path: '/-/healthy' })).rejects.toThrow();
      } finally {
        await server.close();
      }
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
      await h.close();
    }
  });

  it('says clearly when the port is taken', async () => {
    const h = await startHarness();
    try {
      await expect(startServer(h.appliance, { port: h.server.port, log: () => {} })).rejects.toThrow(/already in use.*--port/);
    } finally {
      await h.close();
    }
  });

  it('finishes in-flight requests on close, then refuses new connections', async () => {
    const h = await startHarness();
    const t = h.token(h.wsA, ['remote_write']);
    // A request whose body is still arriving when close() starts.
    const s = await new Promise<TLSSocket>((resolve, reject) => {
      const sock = tlsConnect({ host: 'localhost', port: h.server.port, ca: h.caPem, servername: 'localhost' }, () => resolve(sock));
      sock.on('error', reject);
    });
    const reply = new Promise<string>((resolve) => {
      let got = '';
      s.on('data', (c: Buffer) => (got += c.toString()));
      s.on('close', () => resolve(got));
    });
    s.write(`POST /workspaces/${h.wsA}/api/v1/remote_write HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${t}\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nab`);
    await new Promise((r) => setTimeout(r, 200));
    const closing = h.server.close();
    await new Promise((r) => setTimeout(r, 200));
    s.write('cd');
    await closing;
    expect(await reply).toMatch(/^HTTP\/1\.1 (415|500) /);
    await expect(send(h, { path: '/-/healthy' })).rejects.toThrow();
    await h.close();
  });
});
