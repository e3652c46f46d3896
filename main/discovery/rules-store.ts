// Ingest rules in control.db, sealed with the workspace's data key (label names are customer
// data). Each workspace also gets a random label-hash key, sealed alongside: unlike a key derived
// from the data key it survives data-key rotation, so hashed values stay stable and joinable.
import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import type { DataKeys } from '../control/data-keys';
import { compileIngestRules, NO_RULES, validateIngestRules, type CompiledRules, type IngestRules } from './ingest-rules';

interface Sealed {
  rules: IngestRules;
  hashKey: string;
}

const aad = (ws: string) => `ampule/discovery/ingest-rules/${ws}`;

export class IngestRuleStore {
  private readonly cache = new Map<string, CompiledRules | null>();

  constructor(
    private readonly db: Database.Database,
    private readonly keysOf: (workspaceId: string) => DataKeys,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS ingest_rules (workspace_id TEXT PRIMARY KEY, generation INTEGER NOT NULL, sealed BLOB NOT NULL) STRICT`);
  }

  private read(workspaceId: string): Sealed | null {
    const row = this.db.prepare(`SELECT generation, sealed FROM ingest_rules WHERE workspace_id = ?`).get(workspaceId) as { generation: number; sealed: Buffer } | undefined;
    if (!row) return null;
    return JSON.parse(this.keysOf(workspaceId).get(row.generation).open(row.sealed, aad(workspaceId)).toString('utf8')) as Sealed;
  }

  get(workspaceId: string): IngestRules {
    return this.read(workspaceId)?.rules ?? NO_RULES;
  }

  /** Replaces the workspace's rules; returns them normalised. */
  set(workspaceId: string, rules: IngestRules): IngestRules {
    const clean = validateIngestRules(rules);
    this.importState(workspaceId, { rules: clean, hashKey: this.read(workspaceId)?.hashKey ?? randomBytes(32).toString('base64') });
    return clean;
  }

  /** Compiled rules for the ingest path (cached), or null when the workspace has none. */
  compiled(workspaceId: string): CompiledRules | null {
    if (this.cache.has(workspaceId)) return this.cache.get(workspaceId)!;
    const s = this.read(workspaceId);
    const c = s && (s.rules.drop.length || s.rules.hash.length) ? compileIngestRules(s.rules, Buffer.from(s.hashKey, 'base64')) : null;
    this.cache.set(workspaceId, c);
    return c;
  }

  /** Rules and hash key, for a backup (which is itself encrypted): restored data stays joinable with new data. */
  exportState(workspaceId: string): { rules: IngestRules; hashKey: string } | null {
    return this.read(workspaceId);
  }

  importState(workspaceId: string, state: { rules: IngestRules; hashKey: string }): void {
    const keys = this.keysOf(workspaceId);
    const clean = validateIngestRules(state.rules);
    if (Buffer.from(state.hashKey, 'base64').length !== 32) throw new RangeError('an ingest-rules hash key must be 32 bytes');
    const sealed = keys.get(keys.current).seal(Buffer.from(JSON.stringify({ rules: clean, hashKey: state.hashKey } satisfies Sealed), 'utf8'), aad(workspaceId));
    this.db
      .prepare(`INSERT INTO ingest_rules (workspace_id, generation, sealed) VALUES (?, ?, ?) ON CONFLICT (workspace_id) DO UPDATE SET generation = excluded.generation, sealed = excluded.sealed`)
      .run(workspaceId, keys.current, sealed);
    this.cache.delete(workspaceId);
  }

  /** Re-seals with the current data key (after a data-key rotation). */
  reseal(workspaceId: string): void {
    const s = this.read(workspaceId);
    if (s) this.set(workspaceId, s.rules);
  }

  remove(workspaceId: string): void {
    this.db.prepare(`DELETE FROM ingest_rules WHERE workspace_id = ?`).run(workspaceId);
    this.cache.delete(workspaceId);
  }
}
