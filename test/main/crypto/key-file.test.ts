import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { keyFileProvider } from '../../../main/crypto/key-file';
import { KeyStoreError } from '../../../main/crypto/types';

const dir = mkdtempSync(join(tmpdir(), 'ampule-keyfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keyFile(name: string, content: string | Buffer, mode = 0o600): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  chmodSync(p, mode);
  return p;
}

function failure(path: string): KeyStoreError {
  try {
    keyFileProvider(path).load();
  } catch (e) {
    expect(e).toBeInstanceOf(KeyStoreError);
    return e as KeyStoreError;
  }
  throw new Error('expected a KeyStoreError');
}

describe('key file master-key provider', () => {
  const key = randomBytes(32);

  it('reads 32 raw bytes, 64 hex characters or base64', () => {
    expect(keyFileProvider(keyFile('raw', key)).load()!.equals(key)).toBe(true);
    expect(keyFileProvider(keyFile('hex', key.toString('hex') + '\n')).load()!.equals(key)).toBe(true);
    expect(keyFileProvider(keyFile('b64', key.toString('base64') + '\n')).load()!.equals(key)).toBe(true);
    expect(keyFileProvider(keyFile('b64url', key.toString('base64url'))).load()!.equals(key)).toBe(true);
    const p = keyFileProvider(keyFile('raw2', key));
    expect(p.kind).toBe('file');
    expect(p.location).toContain('raw2');
  });

  it('refuses a file others can read or write, saying how to fix it', () => {
    for (const mode of [0o644, 0o640, 0o602]) {
      const e = failure(keyFile(`open-${mode.toString(8)}`, key, mode));
      expect(e.kind).toBe('file_permissions');
      expect(e.message).toMatch(/must be 0600/);
      expect(e.message).toMatch(/chmod 600/);
    }
  });

  it('refuses content that is not a 256-bit key', () => {
    for (const [name, content] of [
      ['short', randomBytes(16)],
      ['hex-short', 'abcd'],
      ['text', 'my secret password'],
      ['b64-short', randomBytes(20).toString('base64')],
    ] as const) {
      const e = failure(keyFile(name, content));
      expect(e.kind).toBe('file_invalid');
      expect(e.message).toMatch(/256-bit key/);
    }
  });

  it('says when the file is missing', () => {
    const e = failure(join(dir, 'nope'));
    expect(e.kind).toBe('missing');
    expect(e.message).toMatch(/ENOENT/);
  });

  it('never writes the file', () => {
    expect(() => keyFileProvider(keyFile('ro', key)).store(randomBytes(32))).toThrow(KeyStoreError);
  });
});
