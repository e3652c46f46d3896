// The headless alternative to the keychain that persists and is never plaintext: the master key
// sealed by a passphrase (scrypt → AES-256-GCM) in a 0600 file in the data directory. The
// passphrase comes from the operator (terminal, file, systemd credential); without it the file is
// useless. A wrong passphrase is an error, never a reason to make a new key.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes, scryptSync } from 'node:crypto';
import { join } from 'node:path';
import { createCipher, KEY_BYTES } from './cipher';
import { DecryptError, KeyStoreError, type MasterKeyProvider } from './types';
import type { MasterKeySlots, RemovableSlot } from './rotation';

export const SEALED_KEY_FILE = 'master-key.sealed';

/** scrypt at 2^17 × 8 × 1: 128 MiB and a few hundred ms per guess (OWASP's minimum is 2^17). */
export const SEAL_KDF = { N: 2 ** 17, r: 8, p: 1 } as const;
const MIN_N = 2 ** 14;

interface SealedFile {
  format: 'ampule-sealed-master-key';
  version: 1;
  kdf: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  sealed: string;
}

export function sealedKeyPath(dataDir: string): string {
  return join(dataDir, SEALED_KEY_FILE);
}

function derive(passphrase: string, salt: Buffer, kdf: { N: number; r: number; p: number }): Buffer {
  return scryptSync(passphrase.normalize('NFC'), salt, KEY_BYTES, { ...kdf, maxmem: 256 * kdf.N * kdf.r + (16 << 20) });
}

// The header (everything but the ciphertext) is the AAD: lowering N in the file breaks the seal.
const aad = (f: Omit<SealedFile, 'sealed'>) => `${f.format}/${f.version}/${f.kdf}/${f.N}/${f.r}/${f.p}/${f.salt}`;

/** A passphrase-derived key and the salt and parameters it came from (one derivation is ~0.5 s and 128 MiB). */
interface Derived {
  readonly salt: Buffer;
  readonly kdf: { N: number; r: number; p: number };
  readonly key: Buffer;
}

function sealWith(key: Buffer, d: Derived): string {
  const header = { format: 'ampule-sealed-master-key', version: 1, kdf: 'scrypt', ...d.kdf, salt: d.salt.toString('base64') } as const;
  const sealed = createCipher(d.key).seal(key, aad(header));
  return JSON.stringify({ ...header, sealed: sealed.toString('base64') } satisfies SealedFile) + '\n';
}

export function sealKey(key: Buffer, passphrase: string, kdf: { N: number; r: number; p: number } = SEAL_KDF): string {
  const salt = randomBytes(16);
  return sealWith(key, { salt, kdf, key: derive(passphrase, salt, kdf) });
}

/** Opens a sealed key file's text; throws KeyStoreError (wrong_passphrase / file_invalid). */
export function openSealedKey(text: string, passphrase: string, where: string): Buffer {
  return openSealed(text, passphrase, where).key;
}

function openSealed(text: string, passphrase: string, where: string, cached?: Derived): { key: Buffer; derived: Derived } {
  let f: SealedFile;
  try {
    f = JSON.parse(text) as SealedFile;
  } catch {
    throw invalid(where, 'it is not JSON');
  }
  if (f?.format !== 'ampule-sealed-master-key' || f.version !== 1 || f.kdf !== 'scrypt') throw invalid(where, 'unknown format');
  if (![f.N, f.r, f.p].every(Number.isSafeInteger) || f.N < MIN_N || f.N > 2 ** 22 || f.r < 1 || f.r > 32 || f.p < 1 || f.p > 16) throw invalid(where, 'scrypt parameters out of range');
  const salt = Buffer.from(f.salt, 'base64');
  const kdf = { N: f.N, r: f.r, p: f.p };
  const same = cached && cached.salt.equals(salt) && cached.kdf.N === kdf.N && cached.kdf.r === kdf.r && cached.kdf.p === kdf.p;
  const derived = same ? cached : { salt, kdf, key: derive(passphrase, salt, kdf) };
  let key: Buffer;
  try {
    key = createCipher(derived.key).open(Buffer.from(f.sealed, 'base64'), aad(f));
  } catch (e) {
    if (!(e instanceof DecryptError)) throw e;
    throw new KeyStoreError(
      'wrong_passphrase',
      `The passphrase does not open the master key sealed in ${where} (wrong passphrase, or the file was altered).`,
      'give the passphrase this data directory was created with (terminal, --passphrase-file, AMPULE_PASSPHRASE_FILE or the systemd credential ampule-passphrase); Ampule never makes a new key over an existing one',
    );
  }
  if (key.length !== KEY_BYTES) throw invalid(where, `it holds ${key.length} bytes, not ${KEY_BYTES}`);
  return { key, derived };
}

function invalid(where: string, why: string): KeyStoreError {
  return new KeyStoreError('file_invalid', `The sealed master key file ${where} is not valid (${why}).`, 'restore it from a backup of the data directory');
}

/** Writes `text` to `path` atomically, 0600, fsynced: a crash leaves the old file or the new one. */
function writePrivate(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * One sealed file. `cache` (shared by a data directory's current and pending slots) keeps the last
 * key derived from the passphrase, so a rotation re-seals under it (fresh GCM nonce) instead of
 * paying scrypt for every write.
 */
export function sealedKeySlot(path: string, passphrase: string, kdf = SEAL_KDF, cache: { derived?: Derived } = {}): MasterKeyProvider & RemovableSlot {
  const location = `passphrase-sealed key file ${path}`;
  return {
    kind: 'passphrase',
    location,
    load() {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new KeyStoreError('missing', `The sealed master key file ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}).`, 'check its owner and permissions (0600, owned by the user running Ampule)');
      }
      const opened = openSealed(text, passphrase, path, cache.derived);
      cache.derived = opened.derived;
      return opened.key;
    },
    store(key) {
      if (!cache.derived) {
        const salt = randomBytes(16);
        cache.derived = { salt, kdf, key: derive(passphrase, salt, kdf) };
      }
      writePrivate(path, sealWith(key, cache.derived));
    },
    remove() {
      rmSync(path, { force: true });
    },
  };
}

/** The data directory's sealed key and the pending slot rotation parks the next key in. */
export function sealedKeySlots(dataDir: string, passphrase: string, kdf = SEAL_KDF): MasterKeySlots {
  if (!passphrase) throw new KeyStoreError('wrong_passphrase', 'The passphrase for the sealed master key is empty.', 'give a non-empty passphrase');
  const path = sealedKeyPath(dataDir);
  const cache = {};
  const current = sealedKeySlot(path, passphrase, kdf, cache);
  return {
    current,
    pending: sealedKeySlot(`${path}.pending`, passphrase, kdf, cache),
    missing: () =>
      new KeyStoreError(
        'missing',
        `This data directory has data but no sealed master key (${path} ${existsSync(path) ? 'is empty' : 'is missing'}): it was made with another protection (the OS keychain or --master-key-file).`,
        'start Ampule the way this data directory was created (with the keychain reachable, or with --master-key-file); if the sealed file was deleted, restore it from a backup',
      ),
  };
}
