// AES-256-GCM sealing with a fresh random 96-bit IV per call (never one used before).
// Layout: version (1 byte) | iv (12) | ciphertext | tag (16). The version byte lets a future
// layout coexist with this one; `aad` is authenticated, not stored.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DecryptError, type Cipher } from './types';

export const KEY_BYTES = 32;
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES;

/**
 * Fresh random IVs drawn from the CSPRNG a batch at a time, each handed out once: one call a seal
 * cost the ingest thread ~1 % of a remote-write load (two seals a commit: the log row, the manifest).
 */
const IV_BATCH = 256;
let ivs = Buffer.alloc(0);
let ivAt = 0;
function nextIv(): Buffer {
  if (ivAt === ivs.length) {
    ivs = randomBytes(IV_BYTES * IV_BATCH);
    ivAt = 0;
  }
  const iv = ivs.subarray(ivAt, ivAt + IV_BYTES);
  ivAt += IV_BYTES;
  return iv;
}

export function createCipher(key: Buffer): Cipher {
  if (key.length !== KEY_BYTES) throw new RangeError(`AES-256-GCM needs a ${KEY_BYTES}-byte key, got ${key.length}`);
  const k = Buffer.from(key); // private copy: the caller may wipe its buffer
  const cipher: Cipher = {
    seal(plaintext, aad) {
      const iv = nextIv();
      const c = createCipheriv('aes-256-gcm', k, iv);
      c.setAAD(Buffer.from(aad, 'utf8'));
      const head = Buffer.allocUnsafe(HEADER_BYTES);
      head[0] = VERSION;
      iv.copy(head, 1);
      return Buffer.concat([head, c.update(plaintext), c.final(), c.getAuthTag()]);
    },
    open(sealed, aad) {
      if (sealed.length < HEADER_BYTES + TAG_BYTES) throw new DecryptError(`ciphertext too short (${sealed.length} bytes)`);
      if (sealed[0] !== VERSION) throw new DecryptError(`unknown ciphertext version ${sealed[0]}`);
      const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length);
      const d = createDecipheriv('aes-256-gcm', k, buf.subarray(1, HEADER_BYTES));
      d.setAAD(Buffer.from(aad, 'utf8'));
      d.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
      try {
        return Buffer.concat([d.update(buf.subarray(HEADER_BYTES, buf.length - TAG_BYTES)), d.final()]);
      } catch {
        throw new DecryptError('ciphertext failed authentication: wrong key, altered data, or moved to another place');
      }
    },
  };
  keyOf.set(cipher, k);
  return cipher;
}

/** Each cipher's key, for cipherKey only (never enumerable from the cipher itself). */
const keyOf = new WeakMap<Cipher, Buffer>();

/**
 * A copy of a cipher's key, so that a query worker thread of this process can open the same rows
 * through its own connection (handed over in memory, never logged or stored); the caller wipes it.
 */
export function cipherKey(cipher: Cipher): Buffer {
  const k = keyOf.get(cipher);
  if (!k) throw new Error('this cipher was not made by createCipher');
  return Buffer.from(k);
}
