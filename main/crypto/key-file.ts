// The explicit headless alternative to the keychain: a master key read from a file the operator
// provides (a systemd credential, a Kubernetes secret). Read-only: Ampule never writes it.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { KEY_BYTES } from './cipher';
import { KeyStoreError, type MasterKeyProvider } from './types';
import type { MasterKeySlots } from './rotation';

const FORMAT = `${KEY_BYTES} raw bytes, ${KEY_BYTES * 2} hex characters, or base64 of ${KEY_BYTES} bytes`;

export function keyFileProvider(path: string): MasterKeyProvider {
  const file = resolve(path);
  const location = `key file ${file}`;
  return {
    kind: 'file',
    location,
    load() {
      let mode: number;
      try {
        mode = statSync(file).mode;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new KeyStoreError('missing', `The master key file ${file} cannot be read (${code ?? String(e)}).`, `create it with \`head -c 32 /dev/urandom > ${file} && chmod 600 ${file}\`, or check the path`);
      }
      if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
        throw new KeyStoreError(
          'file_permissions',
          `The master key file ${file} is readable or writable by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); it must be 0600.`,
          `run \`chmod 600 ${file}\``,
        );
      }
      const key = parseKey(readFileSync(file));
      if (!key) throw new KeyStoreError('file_invalid', `The master key file ${file} does not hold a 256-bit key.`, `write ${FORMAT} into it`);
      return key;
    },
    store() {
      throw new KeyStoreError('file_invalid', `Ampule does not write master key files (${location}).`, 'write the new key into the file yourself, or use the OS keychain');
    },
  };
}

function parseKey(raw: Buffer): Buffer | null {
  if (raw.length === KEY_BYTES) return raw;
  const text = raw.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    const key = Buffer.from(text, 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  return null;
}

export function keyFileSlots(path: string): MasterKeySlots {
  const current = keyFileProvider(path);
  return {
    current,
    pending: null,
    // load() throws before returning null, so an empty slot cannot happen with a file.
    missing: () => new KeyStoreError('missing', `No master key in ${current.location}.`, 'check the file'),
  };
}
