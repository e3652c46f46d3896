// Authenticates the control.db rows that decide access: workspaces (status), tokens (workspace,
// hash, scopes, expiry, revocation) and limit overrides. They are kept in clear for lookups, so a
// flipped bit or an edit could silently widen a token or un-revoke it; instead every row carries an
// HMAC over all its columns, and each table a MAC'd digest of its (key, row MAC) pairs in `meta`,
// so an altered, removed or added row is a named error. The key comes from a random root key
// wrapped by the master key (as the activity log's), so master-key rotation only re-wraps it.
import type Database from 'better-sqlite3';
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { KEY_BYTES } from '../crypto/cipher';
import type { MasterKey } from '../crypto/master-key';
import { DecryptError } from '../crypto/types';
import { loadRootKey, type RootKeySlot } from '../crypto/wrapped-root-key';
import { ControlError } from './types';

/** The wrapping AAD's "workspace" slot: cannot collide with a workspace id (`ws-…`). */
export const ROW_MAC_KEY_SLOT: RootKeySlot = { table: 'control_integrity_key', owner: 'ampule/control-integrity' };

/** Each authenticated table: its key column and every column the MAC covers, in a fixed order. */
const TABLES = {
  workspaces: { key: 'id', columns: ['id', 'status', 'created_at', 'meta_sealed'] },
  tokens: { key: 'id', columns: ['id', 'workspace_id', 'hash', 'name_sealed', 'scopes', 'created_at', 'expires_at', 'last_used_at', 'revoked_at'] },
  limits: { key: 'workspace_id', columns: ['workspace_id', 'overrides'] },
  workspace_retention: { key: 'workspace_id', columns: ['workspace_id', 'days'] },
} as const;
export type MacTable = keyof typeof TABLES;
const TABLE_NAMES = Object.keys(TABLES) as MacTable[];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a row of any of the tables above
type Row = Record<string, any>;
const digestKey = (table: MacTable) => `row_digest:${table}`;

/** The error for damage found: names control.db, the table and (when known) the row. */
export function damaged(what: string): ControlError {
  return new ControlError('corrupt', `control.db is damaged: ${what}; restore it from a backup.`);
}

/** Runs `fn`; a key that fails to unwrap (the master key was checked already) is damage to `what`. */
export function named<T>(fn: () => T, what: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DecryptError) throw damaged(what);
    throw e;
  }
}

const perDatabase = new WeakMap<Database.Database, RowMac>();

export class RowMac {
  private key: Buffer | null = null;

  /** The one RowMac of an open control.db: the control plane and the workspace settings share it. */
  static of(db: Database.Database): RowMac {
    let m = perDatabase.get(db);
    if (!m) perDatabase.set(db, (m = new RowMac(db)));
    return m;
  }

  private constructor(private readonly db: Database.Database) {}

  /**
   * Derives the key once the master key is unlocked, then checks every row and table digest (the
   * database is small). The first time (no key yet, e.g. just migrated) it MACs the rows instead.
   */
  unlock(master: MasterKey): void {
    this.db.transaction(() => {
      const { root, fresh } = loadRootKey(this.db, master, ROW_MAC_KEY_SLOT);
      this.key = Buffer.from(hkdfSync('sha256', root, Buffer.alloc(0), 'ampule/control/row-mac/v1', KEY_BYTES));
      root.fill(0);
      if (!fresh) {
        // SQLite's own check first: a damaged index answers a lookup with fewer rows, silently.
        const problems = this.db.pragma('integrity_check') as { integrity_check: string }[];
        if (problems[0]?.integrity_check !== 'ok') throw damaged(`SQLite integrity check: ${problems.slice(0, 3).map((p) => p.integrity_check).join('; ')}`);
        for (const t of TABLE_NAMES) this.rows(t);
        return;
      }
      // A new key over rows that were MAC'd before means the old key's row went missing.
      if (this.db.prepare(`SELECT 1 FROM meta WHERE key LIKE 'row_digest:%'`).get()) throw damaged('its row-integrity key is missing');
      for (const t of TABLE_NAMES) {
        for (const r of this.db.prepare(`SELECT ${TABLES[t].key} AS k FROM ${t}`).all() as { k: string }[]) this.macRow(t, r.k);
        this.sealDigest(t);
      }
    })();
  }

  /** Throws unless `row` (every column, `mac` included) is as last written. */
  check(table: MacTable, row: Row): void {
    const mac = row.mac;
    const id = String(row[TABLES[table].key]);
    if (!Buffer.isBuffer(mac) || !timingSafeEqual(mac, this.rowMac(table, row))) throw damaged(`${table} row ${id}: altered`);
  }

  /**
   * Every row of the table (read by a full scan, not through an index), each checked, and the set
   * checked against the table's digest (no row removed or added). Rows carry `rowid_` for ordering.
   */
  rows(table: MacTable): Row[] {
    // One read transaction: rows and digest from the same snapshot, whatever other processes commit.
    return this.db.transaction(() => {
      const rows = this.db.prepare(`SELECT rowid AS rowid_, * FROM ${table} NOT INDEXED`).all() as Row[];
      for (const r of rows) this.check(table, r);
      const stored = this.db.prepare(`SELECT value FROM meta WHERE key = ?`).get(digestKey(table)) as { value: string } | undefined;
      if (stored?.value !== this.digest(table, rows).toString('hex')) throw damaged(`${table}: a row was removed or added (the table's digest does not match)`);
      return rows;
    })();
  }

  /** After writing the row `id` of `table` (inside the same transaction): MACs it and the table. */
  written(table: MacTable, id: string): void {
    this.macRow(table, id);
    this.sealDigest(table);
  }

  /** After deleting rows of `table` (inside the same transaction): re-MACs its digest. */
  removed(table: MacTable): void {
    this.sealDigest(table);
  }

  private macRow(table: MacTable, id: string): void {
    const { key } = TABLES[table];
    const row = this.db.prepare(`SELECT * FROM ${table} WHERE ${key} = ?`).get(id) as Row | undefined;
    if (row) this.db.prepare(`UPDATE ${table} SET mac = ? WHERE ${key} = ?`).run(this.rowMac(table, row), id);
  }

  private sealDigest(table: MacTable): void {
    const rows = this.db.prepare(`SELECT * FROM ${table} NOT INDEXED`).all() as Row[];
    this.db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(digestKey(table), this.digest(table, rows).toString('hex'));
  }

  private rowMac(table: MacTable, row: Row): Buffer {
    const h = createHmac('sha256', this.requireKey());
    field(h, `row/${table}`);
    for (const c of TABLES[table].columns) field(h, row[c]);
    return h.digest();
  }

  private digest(table: MacTable, rows: readonly Row[]): Buffer {
    const h = createHmac('sha256', this.requireKey());
    field(h, `digest/${table}`);
    const { key } = TABLES[table];
    const sorted = rows.map((r) => ({ k: String(r[key]), mac: r.mac as Buffer | null })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
    for (const r of sorted) {
      field(h, r.k);
      field(h, r.mac);
    }
    return h.digest();
  }

  private requireKey(): Buffer {
    if (!this.key) throw new Error('the master key is not unlocked yet');
    return this.key;
  }
}

/** One value, type-tagged and length-prefixed, so no two different rows encode alike. */
function field(h: ReturnType<typeof createHmac>, v: unknown): void {
  const bytes = v === null || v === undefined ? Buffer.alloc(0) : Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8');
  const head = Buffer.alloc(5);
  head[0] = v === null || v === undefined ? 0 : Buffer.isBuffer(v) ? 1 : typeof v === 'string' ? 2 : 3;
  head.writeUInt32BE(bytes.length, 1);
  h.update(head);
  h.update(bytes);
}
