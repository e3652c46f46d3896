// The console's admin credentials: a scrypt password hash and, when MFA is on, the TOTP secret
// sealed under a key derived from the master key. Kept in <data dir>/console-auth.json (0600);
// read on every login, so `ampule console …` changes apply to a running server at once.
// The sealing cipher is the appliance's small-secrets cipher (Appliance.tlsKeys): its key is
// wrapped by the master key and re-wrapped on rotation, so MFA survives a master-key rotation.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cipher } from '../crypto/types';
import { newTotpSecret, otpauthUri } from './totp';

export const PASSWORD_MIN = 12;
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const TOTP_AAD = 'console:totp-secret';

interface CredentialsFile {
  readonly version: 1;
  /** scrypt$N$r$p$salt$hash (base64). */
  readonly password: string;
  /** TOTP secret sealed with the appliance's secrets cipher (base64). */
  readonly totpSealed?: string;
}

export function credentialsPath(dataDir: string): string {
  return join(dataDir, 'console-auth.json');
}

function read(dataDir: string): CredentialsFile | null {
  const path = credentialsPath(dataDir);
  if (!existsSync(path)) return null;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as CredentialsFile;
  if (parsed.version !== 1 || typeof parsed.password !== 'string') throw new Error(`${path} is not a console credentials file; delete it and run 'ampule console set-password'`);
  return parsed;
}

function write(dataDir: string, file: CredentialsFile): void {
  const path = credentialsPath(dataDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(file), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

function scryptAsync(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, 32, { N: n, r, p, maxmem: SCRYPT.maxmem }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

export async function verifyPasswordHash(stored: string, password: string): Promise<boolean> {
  const [alg, n, r, p, salt, hash] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const got = await scryptAsync(password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p));
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export interface ConsoleStatus {
  readonly passwordSet: boolean;
  readonly mfaEnabled: boolean;
}

export function consoleStatus(dataDir: string): ConsoleStatus {
  const f = read(dataDir);
  return { passwordSet: !!f, mfaEnabled: !!f?.totpSealed };
}

export async function setPassword(dataDir: string, password: string): Promise<void> {
  if (password.length < PASSWORD_MIN) throw new Error(`the password must be at least ${PASSWORD_MIN} characters`);
  const old = read(dataDir);
  write(dataDir, { version: 1, password: await hashPassword(password), ...(old?.totpSealed ? { totpSealed: old.totpSealed } : {}) });
}

/** Turns MFA on with a fresh secret; returns the otpauth:// URI to show once. */
export function enableMfa(dataDir: string, cipher: Cipher, account = 'admin'): { secret: Buffer; uri: string } {
  const old = read(dataDir);
  if (!old) throw new Error("set a console password first: 'ampule console set-password'");
  const secret = newTotpSecret();
  write(dataDir, { ...old, totpSealed: cipher.seal(secret, TOTP_AAD).toString('base64') });
  return { secret, uri: otpauthUri(secret, account) };
}

export function disableMfa(dataDir: string): void {
  const old = read(dataDir);
  if (!old) return;
  write(dataDir, { version: 1, password: old.password });
}

export interface LoadedCredentials {
  readonly passwordHash: string;
  /** The TOTP secret, or null when MFA is off. */
  readonly totpSecret: Buffer | null;
}

export function loadCredentials(dataDir: string, cipher: () => Cipher): LoadedCredentials | null {
  const f = read(dataDir);
  if (!f) return null;
  return { passwordHash: f.password, totpSecret: f.totpSealed ? cipher().open(Buffer.from(f.totpSealed, 'base64'), TOTP_AAD) : null };
}
