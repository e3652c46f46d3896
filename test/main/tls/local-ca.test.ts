// The local CA: what is on disk (certificates in clear, keys only sealed), what the certificates
// say (P-256, validity, SANs, usages), reuse across restarts, renewal, and client certificates.
import { afterAll, describe, expect, it } from 'vitest';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCipher } from '../../../main/crypto/cipher';
import { LocalCa, needsRenewal, readCaCertPem, tlsDir, TlsSetupError } from '../../../main/tls/local-ca';
import { fingerprintSha256, pkcs8ToPem, workspaceOfClientCertificate } from '../../../main/tls/certificates';

const DAY = 86_400_000;
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ampule-tls-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const now = new Date('2026-11-28T12:00:00Z');

describe('local CA', () => {
  it('creates a P-256 CA and a server certificate for localhost, 127.0.0.1 and ::1', async () => {
    const dataDir = tempDir();
    const id = await new LocalCa(dataDir, createCipher(randomBytes(32))).serverIdentity(now);
    const ca = new X509Certificate(id.caCertPem);
    const cert = new X509Certificate(id.certPem);
    expect(ca.ca).toBe(true);
    expect(ca.publicKey.asymmetricKeyDetails).toMatchObject({ namedCurve: 'prime256v1' });
    expect(new Date(ca.validTo).getTime() - now.getTime()).toBeGreaterThan(3649 * DAY);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('::1')).toBe('::1');
    expect(cert.checkHost('example.com')).toBeUndefined();
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // serverAuth only
    const days = (new Date(cert.validTo).getTime() - now.getTime()) / DAY;
    expect(days).toBeGreaterThan(89);
    expect(days).toBeLessThan(91);
    expect(id.caFingerprint).toBe(ca.fingerprint256);
    expect(id.notAfter.getTime()).toBe(new Date(cert.validTo).getTime());
    // The in-memory key is the certificate's.
    expect(cert.checkPrivateKey(createPrivateKey(id.keyPem))).toBe(true);
  });

  it('keeps private keys only sealed on disk, in a 0700 folder with 0600 files', async () => {
    const dataDir = tempDir();
    const id = await new LocalCa(dataDir, createCipher(randomBytes(32))).serverIdentity(now);
    const dir = tlsDir(dataDir);
    expect(readdirSync(dir).sort()).toEqual(['ca.crt', 'ca.key.sealed', 'server.crt', 'server.key.sealed']);
    if (process.platform !== 'win32') {
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    }
    const serverKeyDer = createPrivateKey(id.keyPem).export({ format: 'der', type: 'pkcs8' });
    // The raw EC private scalar sits at a fixed place in PKCS#8 for P-256; any 16 bytes of it would do.
    const secretPart = serverKeyDer.subarray(36, 52);
    for (const f of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, f));
      expect(bytes.includes('PRIVATE KEY')).toBe(false);
      expect(bytes.includes(secretPart)).toBe(false);
    }
  });

  it('reuses the CA and the server certificate across restarts', async () => {
    const dataDir = tempDir();
    const cipher = createCipher(randomBytes(32));
    const a = await new LocalCa(dataDir, cipher).serverIdentity(now);
    const b = await new LocalCa(dataDir, cipher).serverIdentity(new Date(now.getTime() + 10 * DAY));
    expect(b.caCertPem).toBe(a.caCertPem);
    expect(b.certPem).toBe(a.certPem);
    expect(b.keyPem).toBe(a.keyPem);
    expect(readCaCertPem(dataDir)).toBe(a.caCertPem);
  });

  it('renews the server certificate once less than 30 days are left, under the same CA', async () => {
    const dataDir = tempDir();
    const cipher = createCipher(randomBytes(32));
    const a = await new LocalCa(dataDir, cipher).serverIdentity(now);
    const later = new Date(now.getTime() + 61 * DAY);
    expect(needsRenewal(a.certPem, a.caCertPem, new Date(now.getTime() + 59 * DAY))).toBe(false);
    expect(needsRenewal(a.certPem, a.caCertPem, later)).toBe(true);
    const b = await new LocalCa(dataDir, cipher).serverIdentity(later);
    expect(b.caCertPem).toBe(a.caCertPem);
    expect(b.certPem).not.toBe(a.certPem);
    expect(new Date(new X509Certificate(b.certPem).validTo).getTime()).toBeGreaterThan(later.getTime() + 89 * DAY);
    expect(readFileSync(join(tlsDir(dataDir), 'server.crt'), 'utf8')).toBe(b.certPem);
  });

  it('replaces a server certificate that another CA signed or that was damaged', async () => {
    const dataDir = tempDir();
    const cipher = createCipher(randomBytes(32));
    const other = await new LocalCa(tempDir(), cipher).serverIdentity(now);
    const a = await new LocalCa(dataDir, cipher).serverIdentity(now);
    expect(needsRenewal(other.certPem, a.caCertPem, now)).toBe(true);
    writeFileSync(join(tlsDir(dataDir), 'server.crt'), 'not a certificate');
    const b = await new LocalCa(dataDir, cipher).serverIdentity(now);
    expect(new X509Certificate(b.certPem).checkIssued(new X509Certificate(a.caCertPem))).toBe(true);
  });

  it('refuses to start with another master key, saying what to do', async () => {
    const dataDir = tempDir();
    await new LocalCa(dataDir, createCipher(randomBytes(32))).serverIdentity(now);
    const err = await new LocalCa(dataDir, createCipher(randomBytes(32))).serverIdentity(now).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsSetupError);
    expect((err as Error).message).toMatch(/cannot decrypt .*ca\.key\.sealed.*move .*tls away/s);
  });

  it('issues client certificates bound to one workspace', async () => {
    const dataDir = tempDir();
    const ca = new LocalCa(dataDir, createCipher(randomBytes(32)));
    const caPem = (await ca.serverIdentity(now)).caCertPem;
    const issued = await ca.issueClient('ws-1234', now);
    const cert = new X509Certificate(issued.certPem);
    expect(cert.checkIssued(new X509Certificate(caPem))).toBe(true);
    expect(cert.subjectAltName).toBe('URI:ampule:workspace:ws-1234');
    expect(workspaceOfClientCertificate(cert.subjectAltName)).toBe('ws-1234');
    expect(workspaceOfClientCertificate('DNS:localhost')).toBeNull();
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // clientAuth only
    expect(cert.checkPrivateKey(createPrivateKey(pkcs8ToPem(issued.keyPkcs8)))).toBe(true);
    expect(fingerprintSha256(issued.certPem)).toBe(cert.fingerprint256);
  });
});
