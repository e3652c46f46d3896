// The data directory's local CA and the server certificate it signs, kept in <dataDir>/tls/.
// Certificates are public and stored as PEM; private keys are stored only sealed by a Cipher under
// the master key, and exist in clear only in memory.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cipher } from '../crypto/types';
import {
  createCa,
  fingerprintSha256,
  issueClientCertificate,
  issueServerCertificate,
  pkcs8ToPem,
  SERVER_HOSTS,
  SERVER_VALIDITY_DAYS,
  type IssuedCertificate,
} from './certificates';

const DAY_MS = 86_400_000;
/** Renew once less than a third of the server certificate's life is left. */
export const RENEW_BEFORE_MS = Math.floor(SERVER_VALIDITY_DAYS / 3) * DAY_MS;

/** What the TLS listener needs: PEMs in memory, plus what to tell the user. */
export interface ServerIdentity {
  readonly caCertPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** SHA-256 of the CA certificate, colon-separated hex. */
  readonly caFingerprint: string;
  readonly notAfter: Date;
}

export class TlsSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsSetupError';
  }
}

export function tlsDir(dataDir: string): string {
  return join(dataDir, 'tls');
}

/** The CA certificate (PEM) if the data directory has one; needs no key. */
export function readCaCertPem(dataDir: string): string | null {
  const p = join(tlsDir(dataDir), 'ca.crt');
  return existsSync(p) ? readFileSync(p, 'utf8') : null;
}

/** True when `certPem` expires within RENEW_BEFORE_MS of `now`, was not issued by `caPem`, or does not cover our hosts. */
export function needsRenewal(certPem: string, caPem: string, now: Date): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return true;
    if (SERVER_HOSTS.some((h) => (h.includes('.') || h.includes(':') ? !cert.checkIP(h) : !cert.checkHost(h)))) return true;
    return new Date(cert.validTo).getTime() - now.getTime() < RENEW_BEFORE_MS;
  } catch {
    return true;
  }
}

export class LocalCa {
  private readonly dir: string;

  constructor(
    private readonly dataDir: string,
    private readonly cipher: Cipher,
  ) {
    this.dir = tlsDir(dataDir);
  }

  private path(name: string): string {
    return join(this.dir, name);
  }

  private write(name: string, data: string | Buffer): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = this.path(`.${name}.${process.pid}.tmp`);
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, this.path(name));
  }

  private readSealedKey(name: string): Buffer {
    try {
      return this.cipher.open(readFileSync(this.path(name)), `tls/${name}`);
    } catch (e) {
      throw new TlsSetupError(
        `cannot decrypt ${this.path(name)} with this data directory's master key (${e instanceof Error ? e.message : String(e)}). ` +
          `If the master key was replaced, move ${this.dir} away and start again: a new CA will be created and must be handed to your clients again.`,
      );
    }
  }

  private writeIssued(base: string, issued: IssuedCertificate): void {
    // Key first: a certificate on disk always has its key beside it.
    this.write(`${base}.key.sealed`, this.cipher.seal(issued.keyPkcs8, `tls/${base}.key.sealed`));
    this.write(`${base}.crt`, issued.certPem);
  }

  /** Loads the CA with its key, creating it on first use. */
  async ensureCa(now: Date): Promise<IssuedCertificate> {
    const certPem = readCaCertPem(this.dataDir);
    if (certPem !== null) {
      if (!existsSync(this.path('ca.key.sealed'))) throw new TlsSetupError(`${this.path('ca.crt')} exists without its key ca.key.sealed; move ${this.dir} away to create a new CA.`);
      return { certPem, keyPkcs8: this.readSealedKey('ca.key.sealed') };
    }
    const ca = await createCa(now);
    this.writeIssued('ca', ca);
    return ca;
  }

  /** The server identity, issuing a new server certificate when there is none or it is due for renewal. */
  async serverIdentity(now: Date): Promise<ServerIdentity> {
    const ca = await this.ensureCa(now);
    let server: IssuedCertificate | null = null;
    const certPath = this.path('server.crt');
    if (existsSync(certPath) && existsSync(this.path('server.key.sealed'))) {
      const certPem = readFileSync(certPath, 'utf8');
      if (!needsRenewal(certPem, ca.certPem, now)) server = { certPem, keyPkcs8: this.readSealedKey('server.key.sealed') };
    }
    if (!server) {
      server = await issueServerCertificate(ca, now);
      this.writeIssued('server', server);
    }
    return {
      caCertPem: ca.certPem,
      certPem: server.certPem,
      keyPem: pkcs8ToPem(server.keyPkcs8),
      caFingerprint: fingerprintSha256(ca.certPem),
      notAfter: new Date(new X509Certificate(server.certPem).validTo),
    };
  }

  /** A client certificate bound to one workspace; the caller hands its key to the user and keeps nothing. */
  async issueClient(workspaceId: string, now: Date): Promise<IssuedCertificate> {
    return issueClientCertificate(await this.ensureCa(now), workspaceId, now);
  }
}
