// The key that seals the TLS private keys (CA and server) on disk. A random root key, wrapped by
// the master key like a data key and kept in control.db, so a master-key rotation re-wraps it in
// the same transaction as the data keys and the CA survives the rotation. Someone with only the
// disk cannot read the CA key and so cannot mint certificates our server or clients would trust.
import type Database from 'better-sqlite3';
import { hkdfSync } from 'node:crypto';
import { createCipher, KEY_BYTES } from '../crypto/cipher';
import type { MasterKey } from '../crypto/master-key';
import type { WrappedKeyStore } from '../crypto/rotation';
import type { Cipher } from '../crypto/types';
import { loadRootKey, withRootKey, type RootKeySlot } from '../crypto/wrapped-root-key';

/** The wrapping AAD's "workspace" slot: cannot collide with a workspace id (`ws-…`). */
export const TLS_KEY_OWNER = 'ampule/tls-private-keys';
const SLOT: RootKeySlot = { table: 'tls_key', owner: TLS_KEY_OWNER };

/** The Cipher for main/tls's sealed key files; creates the root key on first use. */
export function tlsKeyCipher(db: Database.Database, master: MasterKey): Cipher {
  const { root } = loadRootKey(db, master, SLOT);
  const cipher = createCipher(Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), 'ampule/tls-private-keys/v1', KEY_BYTES)));
  root.fill(0);
  return cipher;
}

/** Wraps a WrappedKeyStore so master-key rotation also re-wraps the TLS root key, in one transaction. */
export function withTlsKey(db: Database.Database, inner: WrappedKeyStore): WrappedKeyStore {
  return withRootKey(db, inner, SLOT);
}
