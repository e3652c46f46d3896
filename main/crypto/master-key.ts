// The master key in use: wraps data keys and proves it is the right key. It never encrypts data
// directly; purpose-bound subkeys are derived from it with HKDF.
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { createCipher, KEY_BYTES } from './cipher';
import { DecryptError, type Cipher } from './types';

export interface MasterKey {
  /** Key-check value: identifies the key without revealing it (stored in the control database). */
  readonly check: string;
  wrapDataKey(dataKey: Buffer, workspaceId: string, generation: number): Buffer;
  /** Throws DecryptError when `wrapped` belongs to another workspace, generation or master key. */
  unwrapDataKey(wrapped: Buffer, workspaceId: string, generation: number): Buffer;
}

export function newKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

export function keyCheck(key: Buffer): string {
  return createHmac('sha256', key).update('ampule/master-key-check/v1').digest('hex').slice(0, 32);
}

export function masterKey(key: Buffer): MasterKey {
  if (key.length !== KEY_BYTES) throw new RangeError(`the master key must be ${KEY_BYTES} bytes, got ${key.length}`);
  const wrapping: Cipher = createCipher(Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'ampule/data-key-wrap/v1', KEY_BYTES)));
  const aad = (ws: string, gen: number) => `ampule/data-key/${ws}/${gen}`;
  return {
    check: keyCheck(key),
    wrapDataKey: (dataKey, ws, gen) => wrapping.seal(dataKey, aad(ws, gen)),
    unwrapDataKey(wrapped, ws, gen) {
      const key = wrapping.open(wrapped, aad(ws, gen));
      if (key.length !== KEY_BYTES) throw new DecryptError(`unwrapped data key has ${key.length} bytes`);
      return key;
    },
  };
}
