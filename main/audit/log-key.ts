// The activity log's keys. A random root key is wrapped by the master key like a data key (so a
// master-key rotation only re-wraps it, the chain stays valid) and two purpose-bound subkeys are
// derived from it with HKDF: one encrypts record details, one authenticates the hash chain.
// Someone with only the disk has neither, so can neither read details nor forge the chain.
import type Database from 'better-sqlite3';
import { hkdfSync, randomBytes } from 'node:crypto';
import { createCipher, KEY_BYTES } from '../crypto/cipher';
import type { MasterKey } from '../crypto/master-key';
import type { WrappedKeyStore } from '../crypto/rotation';
import type { Cipher } from '../crypto/types';

/** The wrapping AAD's "workspace" slot: cannot collide with a workspace id (`ws-…`). */
export const ACTIVITY_KEY_OWNER = 'ampule/activity-log';

export interface ActivityKeys {
  readonly details: Cipher;
  readonly chainKey: Buffer;
  /** True when the key was made just now: the log is new and gets its authenticated head. */
  readonly fresh: boolean;
}

function ensureTable(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS activity_key (generation INTEGER PRIMARY KEY, wrapped BLOB NOT NULL, created_at TEXT NOT NULL) STRICT`);
}

/** Loads (creating on first use) the root key and derives the two subkeys. */
export function activityKeys(db: Database.Database, master: MasterKey): ActivityKeys {
  ensureTable(db);
  let row = db.prepare(`SELECT generation, wrapped FROM activity_key ORDER BY generation DESC LIMIT 1`).get() as { generation: number; wrapped: Buffer } | undefined;
  let root: Buffer;
  const fresh = !row;
  if (!row) {
    root = randomBytes(KEY_BYTES);
    row = { generation: 1, wrapped: master.wrapDataKey(root, ACTIVITY_KEY_OWNER, 1) };
    db.prepare(`INSERT INTO activity_key (generation, wrapped, created_at) VALUES (?, ?, ?)`).run(row.generation, row.wrapped, new Date().toISOString());
  } else {
    root = master.unwrapDataKey(row.wrapped, ACTIVITY_KEY_OWNER, row.generation);
  }
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), info, KEY_BYTES));
  const keys = { details: createCipher(derive('ampule/activity-log/details/v1')), chainKey: derive('ampule/activity-log/chain/v1'), fresh };
  root.fill(0);
  return keys;
}

/**
 * Wraps the control plane's WrappedKeyStore so master-key rotation re-wraps the activity log's
 * root key in the same transaction as the data keys.
 */
export function withActivityKey(db: Database.Database, inner: WrappedKeyStore): WrappedKeyStore {
  return {
    keyCheck: () => inner.keyCheck(),
    setKeyCheck: (c) => inner.setKeyCheck(c),
    rewrapAll(rewrap, newCheck) {
      ensureTable(db);
      db.transaction(() => {
        inner.rewrapAll(rewrap, newCheck);
        const rows = db.prepare(`SELECT generation, wrapped FROM activity_key`).all() as { generation: number; wrapped: Buffer }[];
        const update = db.prepare(`UPDATE activity_key SET wrapped = ? WHERE generation = ?`);
        for (const r of rows) update.run(rewrap(r.wrapped, ACTIVITY_KEY_OWNER, r.generation), r.generation);
      })();
    },
  };
}
