// The key that seals the TLS private keys (CA and server) on disk. A random root key, wrapped by
// the master key like a data key and kept in control.db, so a master-key rotation re-wraps it in
// the same transaction as the data keys and the CA survives the rotation. Someone with only the
// disk cannot read the CA key and so cannot mint certificates our server or clients would trust.
import type Database from 'better-sqlite3';
import { hkdfSync, randomBytes } from 'node:crypto';
import { createCipher, KEY_BYTES } from '../crypto/cipher';
import type { MasterKey } from '../crypto/master-key';
import type { WrappedKeyStore } from '../crypto/rotation';
import type { Cipher } from '../crypto/types';

/** The wrapping AAD's "workspace" slot: cannot collide with a workspace id (`ws-…`). */
export const TLS_KEY_OWNER = 'ampule/tls-private-keys';

function ensureTable(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS tls_key (generation INTEGER PRIMARY KEY, wrapped BLOB NOT NULL, created_at TEXT NOT NULL) STRICT`);
}

/** The Cipher for main/tls's sealed key files; creates the root key on first use. */
export function tlsKeyCipher(db: Database.Database, master: MasterKey): Cipher {
  ensureTable(db);
  let row = db.prepare(`SELECT generation, wrapped FROM tls_key ORDER BY generation DESC LIMIT 1`).get() as { generation: number; wrapped: Buffer } | undefined;
  let root: Buffer;
  if (!row) {
    root = randomBytes(KEY_BYTES);
    row = { generation: 1, wrapped: master.wrapDataKey(root, TLS_KEY_OWNER, 1) };
    db.prepare(`INSERT INTO tls_key (generation, wrapped, created_at) VALUES (?, ?, ?)`).run(row.generation, row.wrapped, new Date().toISOString());
  } else {
    root = master.unwrapDataKey(row.wrapped, TLS_KEY_OWNER, row.generation);
  }
  const cipher = createCipher(Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), 'ampule/tls-private-keys/v1', KEY_BYTES)));
  root.fill(0);
  return cipher;
}

/** Wraps a WrappedKeyStore so master-key rotation also re-wraps the TLS root key, in one transaction. */
export function withTlsKey(db: Database.Database, inner: WrappedKeyStore): WrappedKeyStore {
  return {
    keyCheck: () => inner.keyCheck(),
    setKeyCheck: (c) => inner.setKeyCheck(c),
    rewrapAll(rewrap, newCheck) {
      ensureTable(db);
      db.transaction(() => {
        inner.rewrapAll(rewrap, newCheck);
        const rows = db.prepare(`SELECT generation, wrapped FROM tls_key`).all() as { generation: number; wrapped: Buffer }[];
        const update = db.prepare(`UPDATE tls_key SET wrapped = ? WHERE generation = ?`);
        for (const r of rows) update.run(rewrap(r.wrapped, TLS_KEY_OWNER, r.generation), r.generation);
      })();
    },
  };
}
