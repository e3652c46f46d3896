// The activity log's keys. A random root key is wrapped by the master key like a data key (so a
// master-key rotation only re-wraps it, the chain stays valid) and two purpose-bound subkeys are
// derived from it with HKDF: one encrypts record details, one authenticates the hash chain.
// Someone with only the disk has neither, so can neither read details nor forge the chain.
import type Database from 'better-sqlite3';
import { hkdfSync } from 'node:crypto';
import { createCipher, KEY_BYTES } from '../crypto/cipher';
import type { MasterKey } from '../crypto/master-key';
import type { WrappedKeyStore } from '../crypto/rotation';
import type { Cipher } from '../crypto/types';
import { loadRootKey, withRootKey, type RootKeySlot } from '../crypto/wrapped-root-key';

/** The wrapping AAD's "workspace" slot: cannot collide with a workspace id (`ws-…`). */
export const ACTIVITY_KEY_OWNER = 'ampule/activity-log';
const SLOT: RootKeySlot = { table: 'activity_key', owner: ACTIVITY_KEY_OWNER };

export interface ActivityKeys {
  readonly details: Cipher;
  readonly chainKey: Buffer;
  /** True when the key was made just now: the log is new and gets its authenticated head. */
  readonly fresh: boolean;
}

/** Loads (creating on first use) the root key and derives the two subkeys. */
export function activityKeys(db: Database.Database, master: MasterKey): ActivityKeys {
  const { root, fresh } = loadRootKey(db, master, SLOT);
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
  return withRootKey(db, inner, SLOT);
}
