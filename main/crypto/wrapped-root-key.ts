// A random root key kept in a control.db table, wrapped by the master key like a data key (the
// owner string takes the AAD's "workspace" slot), so a master-key rotation only re-wraps it in the
// same transaction as the data keys. Used for keys that are not per workspace (activity log, TLS).
import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { KEY_BYTES } from './cipher';
import type { MasterKey } from './master-key';
import { DecryptError } from './types';
import type { WrappedKeyStore } from './rotation';

/** Where a root key lives: `table` is a constant of ours (never user input); `owner` binds the wrap. */
export interface RootKeySlot {
  readonly table: string;
  readonly owner: string;
}

function ensureTable(db: Database.Database, slot: RootKeySlot): void {
  db.exec(`CREATE TABLE IF NOT EXISTS ${slot.table} (generation INTEGER PRIMARY KEY, wrapped BLOB NOT NULL, created_at TEXT NOT NULL) STRICT`);
}

/**
 * Loads the newest root key, creating generation 1 on first use. The caller zeroes `root` once
 * it has derived its subkeys; `fresh` says it was made just now.
 */
export function loadRootKey(db: Database.Database, master: MasterKey, slot: RootKeySlot): { root: Buffer; fresh: boolean } {
  ensureTable(db, slot);
  const row = db.prepare(`SELECT generation, wrapped FROM ${slot.table} ORDER BY generation DESC LIMIT 1`).get() as { generation: number; wrapped: Buffer } | undefined;
  if (row) {
    try {
      return { root: master.unwrapDataKey(row.wrapped, slot.owner, row.generation), fresh: false };
    } catch (e) {
      // The master key was checked before this: a wrap that fails now is damage; say where.
      if (e instanceof DecryptError) throw new DecryptError(`control.db is damaged: ${slot.table} row ${row.generation}: does not open with the master key`);
      throw e;
    }
  }
  const root = randomBytes(KEY_BYTES);
  const wrapped = master.wrapDataKey(root, slot.owner, 1);
  db.prepare(`INSERT INTO ${slot.table} (generation, wrapped, created_at) VALUES (?, ?, ?)`).run(1, wrapped, new Date().toISOString());
  return { root, fresh: true };
}

/** Wraps a WrappedKeyStore so master-key rotation also re-wraps this root key, in one transaction. */
export function withRootKey(db: Database.Database, inner: WrappedKeyStore, slot: RootKeySlot): WrappedKeyStore {
  return {
    keyCheck: () => inner.keyCheck(),
    setKeyCheck: (c) => inner.setKeyCheck(c),
    rewrapAll(rewrap, newCheck) {
      db.transaction(() => {
        inner.rewrapAll(rewrap, newCheck);
        rewrapRootKey(db, slot, rewrap);
      })();
    },
  };
}

/** Re-wraps every generation of the slot's root key; call inside the rotation's transaction. */
export function rewrapRootKey(db: Database.Database, slot: RootKeySlot, rewrap: (wrapped: Buffer, owner: string, generation: number) => Buffer): void {
  ensureTable(db, slot);
  const rows = db.prepare(`SELECT generation, wrapped FROM ${slot.table}`).all() as { generation: number; wrapped: Buffer }[];
  const update = db.prepare(`UPDATE ${slot.table} SET wrapped = ? WHERE generation = ?`);
  for (const r of rows) update.run(rewrap(r.wrapped, slot.owner, r.generation), r.generation);
}
