// Builds the local CA and the certificates it signs (ECDSA P-256, SHA-256). node:crypto can parse
// and verify X.509 but not create it, so creation goes through @peculiar/x509 over Node's WebCrypto;
// everything else (fingerprints, validity, SANs) uses node:crypto's X509Certificate.
import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export const CA_VALIDITY_DAYS = 3650;
export const SERVER_VALIDITY_DAYS = 90;
export const CLIENT_VALIDITY_DAYS = 365;
/** The SAN URI that binds a client certificate to one workspace. */
export const WORKSPACE_URI_PREFIX = 'ampule:workspace:';
export const SERVER_HOSTS = ['localhost', '127.0.0.1', '::1'] as const;

/** A certificate and its private key (PKCS#8 DER: the caller seals it before it touches disk). */
export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPkcs8: Buffer;
}

// tsyringe (inside @peculiar/x509) needs the Reflect metadata polyfill loaded first; loading both
// lazily keeps them out of every process that never issues a certificate.
let lib: Promise<typeof import('@peculiar/x509')> | undefined;
function x509(): Promise<typeof import('@peculiar/x509')> {
  lib ??= import('reflect-metadata').then(async () => {
    const m = await import('@peculiar/x509');
    m.cryptoProvider.set(webcrypto as never);
    return m;
  });
  return lib;
}

function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive INTEGER
  return b.toString('hex');
}

async function newKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function exportKey(key: CryptoKey): Promise<Buffer> {
  return Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
}

async function importSigningKey(pkcs8: Buffer): Promise<CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', pkcs8, EC, false, ['sign']);
}

export async function createCa(now: Date, commonName = 'Ampule local CA'): Promise<IssuedCertificate> {
  const m = await x509();
  const keys = await newKeyPair();
  const cert = await m.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: [{ CN: [commonName] }, { O: ['Ampule'] }],
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS),
    keys: keys as never,
    signingAlgorithm: EC,
    extensions: [
      new m.BasicConstraintsExtension(true, 0, true),
      new m.KeyUsagesExtension(m.KeyUsageFlags.keyCertSign | m.KeyUsageFlags.cRLSign, true),
      await m.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  return { certPem: cert.toString('pem'), keyPkcs8: await exportKey(keys.privateKey) };
}

interface LeafSpec {
  readonly commonName: string;
  readonly validityDays: number;
  readonly usage: 'server' | 'client';
  readonly altNames: readonly { type: 'dns' | 'ip' | 'url'; value: string }[];
}

async function issueLeaf(ca: IssuedCertificate, spec: LeafSpec, now: Date): Promise<IssuedCertificate> {
  const m = await x509();
  const caCert = new m.X509Certificate(ca.certPem);
  const keys = await newKeyPair();
  const cert = await m.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: [{ CN: [spec.commonName] }, { O: ['Ampule'] }],
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + spec.validityDays * DAY_MS),
    publicKey: keys.publicKey as never,
    signingKey: (await importSigningKey(ca.keyPkcs8)) as never,
    signingAlgorithm: EC,
    extensions: [
      new m.BasicConstraintsExtension(false, undefined, true),
      new m.KeyUsagesExtension(m.KeyUsageFlags.digitalSignature, true),
      new m.ExtendedKeyUsageExtension([spec.usage === 'server' ? m.ExtendedKeyUsage.serverAuth : m.ExtendedKeyUsage.clientAuth]),
      new m.SubjectAlternativeNameExtension(spec.altNames.map((a) => ({ ...a }))),
      await m.AuthorityKeyIdentifierExtension.create(caCert),
      await m.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  return { certPem: cert.toString('pem'), keyPkcs8: await exportKey(keys.privateKey) };
}

export function issueServerCertificate(ca: IssuedCertificate, now: Date): Promise<IssuedCertificate> {
  return issueLeaf(
    ca,
    {
      commonName: 'localhost',
      validityDays: SERVER_VALIDITY_DAYS,
      usage: 'server',
      altNames: SERVER_HOSTS.map((h) => ({ type: h.includes('.') || h.includes(':') ? ('ip' as const) : ('dns' as const), value: h })),
    },
    now,
  );
}

export function issueClientCertificate(ca: IssuedCertificate, workspaceId: string, now: Date): Promise<IssuedCertificate> {
  return issueLeaf(
    ca,
    {
      commonName: `ampule-client ${workspaceId}`,
      validityDays: CLIENT_VALIDITY_DAYS,
      usage: 'client',
      altNames: [{ type: 'url', value: WORKSPACE_URI_PREFIX + workspaceId }],
    },
    now,
  );
}

/** The workspace a client certificate is bound to, from its SAN URI; null when it has none. */
export function workspaceOfClientCertificate(subjectAltName: string | undefined): string | null {
  if (!subjectAltName) return null;
  for (const part of subjectAltName.split(', ')) {
    if (part.startsWith('URI:' + WORKSPACE_URI_PREFIX)) return part.slice(4 + WORKSPACE_URI_PREFIX.length);
  }
  return null;
}

export function fingerprintSha256(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

export function pkcs8ToPem(keyPkcs8: Buffer): string {
  const b64 = keyPkcs8.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN PRIVATE KEY-----\n${b64.trimEnd()}\n-----END PRIVATE KEY-----\n`;
}
