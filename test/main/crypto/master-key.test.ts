import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { keyCheck, masterKey, newKey } from '../../../main/crypto/master-key';
import { DecryptError } from '../../../main/crypto/types';

describe('master key: data-key wrapping', () => {
  const master = masterKey(newKey());
  const dataKey = randomBytes(32);

  it('wraps and unwraps, binding workspace and generation', () => {
    const wrapped = master.wrapDataKey(dataKey, 'ws-a', 1);
    expect(wrapped.includes(dataKey)).toBe(false);
    expect(master.unwrapDataKey(wrapped, 'ws-a', 1).equals(dataKey)).toBe(true);
    expect(() => master.unwrapDataKey(wrapped, 'ws-b', 1)).toThrow(DecryptError);
    expect(() => master.unwrapDataKey(wrapped, 'ws-a', 2)).toThrow(DecryptError);
  });

  it('another master key cannot unwrap', () => {
    const wrapped = master.wrapDataKey(dataKey, 'ws-a', 1);
    expect(() => masterKey(newKey()).unwrapDataKey(wrapped, 'ws-a', 1)).toThrow(DecryptError);
  });

  it('key check identifies a key without being it', () => {
    const k = newKey();
    expect(keyCheck(k)).toBe(masterKey(k).check);
    expect(keyCheck(k)).not.toBe(keyCheck(newKey()));
    expect(keyCheck(k)).toMatch(/^[0-9a-f]{32}$/);
    expect(keyCheck(k).includes(k.toString('hex').slice(0, 32))).toBe(false);
  });
});
