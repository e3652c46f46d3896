// Per-workspace data keys in the control database, wrapped by the master key. Also the
// WrappedKeyStore that master-key rotation re-wraps through.
import type Database from 'better-sqlite3';
import { createCipher, KEY_BYTES } from '../crypto/cipher';
import type { MasterKey } from '../crypto/master-key';
import type { WrappedKeyStore } from '../crypto/rotation';
import type { Cipher } from '../crypto/types';
import { randomBytes } from 'node:crypto';
import { rewrapRootKey } from '../crypto/wrapped-root-key';
import { named, ROW_MAC_KEY_SLOT } from './row-mac';

/** A workspace's data keys: `current` seals new data; `get` opens data sealed by any generation. */
export interface DataKeys {
  readonly current: number;
  get(generation: number): Cipher;
}

export class DataKeyStore implements WrappedKeyStore {
  private master: MasterKey | null = null;
  private readonly cache = new Map<string, { current: number; ciphers: Map<number, Cipher> }>();

  /** `onUnlock` runs whenever a master key is set (the row MACs derive their key from it). */
  constructor(
    private readonly db: Database.Database,
    private readonly onUnlock: (master: MasterKey) => void = () => {},
  ) {}

  /** Called once the master key is unlocked (and after rotation). */
  useMasterKey(master: MasterKey): void {
    this.onUnlock(master);
    this.master = master;
  }

  keyCheck(): string | null {
    const row = this.db.prepare(`SELECT value FROM meta WHERE key = 'master_key_check'`).get() as { value: string } | undefined;
    return row?.value ?? null;
  }

  setKeyCheck(check: string): void {
    this.db.prepare(`INSERT INTO meta (key, value) VALUES ('master_key_check', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(check);
  }

  rewrapAll(rewrap: (wrapped: Buffer, workspaceId: string, generation: number) => Buffer, newCheck: string): void {
    const rows = this.db.prepare(`SELECT workspace_id, generation, wrapped FROM data_keys`).all() as { workspace_id: string; generation: number; wrapped: Buffer }[];
    const update = this.db.prepare(`UPDATE data_keys SET wrapped = ? WHERE workspace_id = ? AND generation = ?`);
    this.db.transaction(() => {
      for (const r of rows) update.run(rewrap(r.wrapped, r.workspace_id, r.generation), r.workspace_id, r.generation);
      rewrapRootKey(this.db, ROW_MAC_KEY_SLOT, rewrap);
      this.setKeyCheck(newCheck);
    })();
  }

  /** Makes generation 1 of a new workspace's data key; call inside the creating transaction. */
  create(workspaceId: string, now: string): DataKeys {
    const master = this.requireMaster();
    if (this.keyCheck() !== master.check) {
      throw new Error('the master key was rotated by another process since this one started; restart Ampule');
    }
    const key = randomBytes(KEY_BYTES);
    this.db.prepare(`INSERT INTO data_keys (workspace_id, generation, wrapped, created_at) VALUES (?, 1, ?, ?)`).run(workspaceId, master.wrapDataKey(key, workspaceId, 1), now);
    const entry = { current: 1, ciphers: new Map([[1, createCipher(key)]]) };
    key.fill(0);
    this.cache.set(workspaceId, entry);
    return this.view(workspaceId, entry);
  }

  /** The workspace's data keys, unwrapped once and cached; null when it has none (deleted). */
  forWorkspace(workspaceId: string): DataKeys | null {
    let entry = this.cache.get(workspaceId);
    if (!entry) {
      const rows = this.db.prepare(`SELECT generation, wrapped FROM data_keys WHERE workspace_id = ? ORDER BY generation`).all(workspaceId) as { generation: number; wrapped: Buffer }[];
      if (rows.length === 0) return null;
      const master = this.requireMaster();
      const ciphers = new Map<number, Cipher>();
      for (const r of rows) {
        const key = named(() => master.unwrapDataKey(r.wrapped, workspaceId, r.generation), `data_keys row ${workspaceId} generation ${r.generation}: does not open with the master key`);
        ciphers.set(r.generation, createCipher(key));
        key.fill(0);
      }
      entry = { current: rows[rows.length - 1]!.generation, ciphers };
      this.cache.set(workspaceId, entry);
    }
    return this.view(workspaceId, entry);
  }

  /**
   * Data-key rotation: adds the next generation, which seals new data from now on. Older
   * generations stay so existing rows still open until they are re-encrypted.
   */
  rotate(workspaceId: string, now: string): number {
    const max = (this.db.prepare(`SELECT MAX(generation) AS g FROM data_keys WHERE workspace_id = ?`).get(workspaceId) as { g: number | null }).g;
    if (max === null) throw new RangeError(`workspace ${workspaceId} has no data key`);
    const key = randomBytes(KEY_BYTES);
    this.db.prepare(`INSERT INTO data_keys (workspace_id, generation, wrapped, created_at) VALUES (?, ?, ?, ?)`).run(workspaceId, max + 1, this.requireMaster().wrapDataKey(key, workspaceId, max + 1), now);
    key.fill(0);
    this.cache.delete(workspaceId);
    return max + 1;
  }

  /** Crypto-shredding: deletes every wrapped key of the workspace; call inside a transaction. */
  destroy(workspaceId: string): void {
    this.db.prepare(`DELETE FROM data_keys WHERE workspace_id = ?`).run(workspaceId);
    this.cache.delete(workspaceId);
  }

  private view(workspaceId: string, entry: { current: number; ciphers: Map<number, Cipher> }): DataKeys {
    return {
      current: entry.current,
      get(generation) {
        const c = entry.ciphers.get(generation);
        if (!c) throw new RangeError(`workspace ${workspaceId} has no data key generation ${generation}`);
        return c;
      },
    };
  }

  private requireMaster(): MasterKey {
    if (!this.master) throw new Error('the master key is not unlocked yet');
    return this.master;
  }
}
