// The Cipher that seals the TLS private keys: AES-256-GCM under a subkey derived from the master
// key for this one purpose, so the keys are never on disk in clear and never under a data key.
import { hkdfSync } from 'node:crypto';
import { createCipher, KEY_BYTES } from '../crypto/cipher';
import { KeyStoreError, type Cipher, type MasterKeyProvider } from '../crypto/types';

export function tlsKeyCipher(masterKey: MasterKeyProvider): Cipher {
  const key = masterKey.load();
  if (!key) throw new KeyStoreError('missing', `no master key at ${masterKey.location}`, 'open the data directory once (e.g. `ampule workspace list`) so its master key is created, or pass the right --master-key-file');
  const sub = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'ampule/tls-private-keys/v1', KEY_BYTES));
  key.fill(0);
  return createCipher(sub);
}
