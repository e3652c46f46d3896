import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createCipher } from '../../../main/crypto/cipher';
import { DecryptError } from '../../../main/crypto/types';

describe('createCipher (AES-256-GCM)', () => {
  const key = randomBytes(32);
  const cipher = createCipher(key);
  const aad = 'ws-1/chunks/42';

  it('round-trips with layout version | iv | ciphertext | tag', () => {
    const plain = Buffer.from('up{job="node"} 1');
    const sealed = cipher.seal(plain, aad);
    expect(sealed.length).toBe(1 + 12 + plain.length + 16);
    expect(sealed[0]).toBe(1);
    expect(sealed.includes(plain)).toBe(false);
    expect(cipher.open(sealed, aad).equals(plain)).toBe(true);
  });

  it('uses a fresh IV per seal', () => {
    const a = cipher.seal(Buffer.from('same'), aad);
    const b = cipher.seal(Buffer.from('same'), aad);
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    // Across the batches IVs are drawn in (256 a draw), by several ciphers: never one twice, never all zero.
    const other = createCipher(randomBytes(32));
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const iv = (i % 2 ? cipher : other).seal(Buffer.from('same'), aad).subarray(1, 13);
      expect(iv.equals(Buffer.alloc(12))).toBe(false);
      seen.add(iv.toString('hex'));
    }
    expect(seen.size).toBe(1000);
  });

  it('refuses another aad (a row moved elsewhere)', () => {
    const sealed = cipher.seal(Buffer.from('x'), aad);
    expect(() => cipher.open(sealed, 'ws-1/chunks/43')).toThrow(DecryptError);
  });

  it('refuses any flipped bit, a truncated value, an unknown version and another key', () => {
    const sealed = cipher.seal(Buffer.from('payload'), aad);
    for (let i = 1; i < sealed.length; i++) {
      const bad = Buffer.from(sealed);
      bad[i]! ^= 1;
      expect(() => cipher.open(bad, aad)).toThrow(DecryptError);
    }
    expect(() => cipher.open(sealed.subarray(0, 20), aad)).toThrow(DecryptError);
    const v2 = Buffer.from(sealed);
    v2[0] = 2;
    expect(() => cipher.open(v2, aad)).toThrow(/version 2/);
    expect(() => createCipher(randomBytes(32)).open(sealed, aad)).toThrow(DecryptError);
  });

  it('opens a view into a larger buffer and empty plaintexts', () => {
    const sealed = cipher.seal(new Uint8Array(0), aad);
    const big = Buffer.concat([Buffer.alloc(7), sealed, Buffer.alloc(5)]);
    expect(cipher.open(big.subarray(7, 7 + sealed.length), aad).length).toBe(0);
  });

  it('keeps its own copy of the key', () => {
    const k = randomBytes(32);
    const c = createCipher(k);
    const sealed = c.seal(Buffer.from('a'), aad);
    k.fill(0);
    expect(c.open(sealed, aad).toString()).toBe('a');
  });

  it('rejects keys that are not 256 bits', () => {
    expect(() => createCipher(randomBytes(16))).toThrow(/32-byte key/);
  });
});
