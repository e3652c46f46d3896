// The control plane over control.db: workspaces (alias and tags sealed with the workspace's own
// data key), scoped tokens (SHA-256 only), limit overrides. Every action goes to the ActivitySink.
import type Database from 'better-sqlite3';
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { openControlDb } from './db';
import { DataKeyStore, type DataKeys } from './data-keys';
import { RowMac } from './row-mac';
import { checkAlias, checkExpiry, checkLimits, checkScopes, checkTagKey, checkTags, checkTokenName } from './validate';
import {
  ControlError,
  type ActivitySink,
  type ControlPlane,
  type CreateTokenInput,
  type CreateWorkspaceInput,
  type CreatedToken,
  type Scope,
  type TokenInfo,
  type UpdateWorkspaceInput,
  type VerifiedToken,
  type Workspace,
  type WorkspaceLimits,
  type WorkspaceStatus,
} from './types';

export const NO_ACTIVITY: ActivitySink = { record() {} };
const DEFAULT_ACTOR = 'local';
/** lastUsedAt is written at most this often per token, not on every request. */
export const LAST_USED_RESOLUTION_MS = 60_000;
/** Verified tokens remembered at most (all forgotten when full). */
const VERIFIED_CACHE_SIZE = 1000;

const WORKSPACE_ID = /^ws-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TOKEN = /^amp_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface ControlOptions {
  readonly activity?: ActivitySink;
  /** Removes a workspace's files (after its key is destroyed); closes its store first. */
  readonly removeWorkspaceData?: (workspaceId: string) => void;
  /** Told after a workspace's limit overrides changed, so cached limits are refreshed. */
  readonly onLimitsChanged?: (workspaceId: string) => void;
  readonly now?: () => number;
}

interface WorkspaceRow {
  id: string;
  status: WorkspaceStatus;
  created_at: string;
  meta_sealed: Buffer | null;
  mac: Buffer | null;
}

interface TokenRow {
  id: string;
  workspace_id: string;
  hash: Buffer;
  name_sealed: Buffer;
  scopes: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  mac: Buffer | null;
}

const metaAad = (ws: string) => `ampule/control/workspace-meta/${ws}`;
const tokenNameAad = (ws: string, tokenId: string) => `ampule/control/token-name/${ws}/${tokenId}`;
const byCreation = (a: { created_at: string; rowid_: number }, b: { created_at: string; rowid_: number }) =>
  a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.rowid_ - b.rowid_;
const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest();

export class ControlDatabase implements ControlPlane {
  readonly keys: DataKeyStore;
  /** Every write to workspaces, tokens and limits goes through it; every read is checked by it. */
  private readonly macs: RowMac;
  private readonly activity: ActivitySink;
  private readonly now: () => number;
  /** Statements of the per-request path (token check), compiled once. */
  private readonly byId = new Map<string, Database.Statement>();
  /**
   * Tokens verified since the database last changed, by the hash presented (remote write checks
   * the same token on every request). Valid while no connection changed anything: its stamp is
   * SQLite's data_version (commits by other connections, other processes included) and
   * total_changes() (rows changed by this one: a revocation, a deleted workspace, a rotated key).
   */
  private readonly verified = new Map<string, { readonly version: number; readonly changes: number; readonly token: VerifiedToken; readonly expiresAt: number; readonly lastUsedAt: number }>();
  /** PRAGMA data_version and total_changes(): two plucked statements cost half of one query of both. */
  private versionStmt: Database.Statement<[], number> | undefined;
  private changesStmt: Database.Statement<[], number> | undefined;

  /** Opens (creating and migrating) control.db; unlock the master key through `keys` before use. */
  static open(path: string, opts: ControlOptions = {}): ControlDatabase {
    return new ControlDatabase(openControlDb(path), opts);
  }

  private constructor(
    readonly db: Database.Database,
    private readonly opts: ControlOptions,
  ) {
    this.macs = RowMac.of(db);
    this.keys = new DataKeyStore(db, (master) => this.macs.unlock(master));
    this.activity = opts.activity ?? NO_ACTIVITY;
    this.now = opts.now ?? Date.now;
  }

  /** A random id for this data directory, made on first open (names its keychain entry). */
  storeId(): string {
    const row = this.db.prepare(`SELECT value FROM meta WHERE key = 'store_id'`).get() as { value: string } | undefined;
    if (row) return row.value;
    const id = `store-${randomUUID()}`;
    this.db.prepare(`INSERT INTO meta (key, value) VALUES ('store_id', ?)`).run(id);
    return id;
  }

  /** Finishes deletions a crash interrupted (the key is already gone; only files and the row remain). */
  finishPendingDeletes(): void {
    const rows = this.db.prepare(`SELECT * FROM workspaces WHERE status = 'DELETING'`).all() as WorkspaceRow[];
    for (const r of rows) {
      this.macs.check('workspaces', r);
      this.removeShredded(r.id);
    }
  }

  /** Runs `fn` holding the database's write lock (BEGIN IMMEDIATE), so other processes wait. */
  exclusive<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  dataKeys(workspaceId: string): DataKeys {
    this.row(workspaceId);
    const keys = this.keys.forWorkspace(workspaceId);
    if (!keys) throw new ControlError('not_found', `workspace ${workspaceId} has no data key (it is being deleted)`, 'workspaceId');
    return keys;
  }

  close(): void {
    this.db.close();
  }

  // ---- workspaces

  createWorkspace(input: CreateWorkspaceInput, actor = DEFAULT_ACTOR): Workspace {
    return this.act('workspace.create', undefined, actor, () => {
      const alias = checkAlias(input?.alias);
      const tags = checkTags(input?.tags ?? {});
      const id = `ws-${randomUUID()}`;
      const createdAt = new Date(this.now()).toISOString();
      this.db.transaction(() => {
        this.db.prepare(`INSERT INTO workspaces (id, status, created_at) VALUES (?, 'ACTIVE', ?)`).run(id, createdAt);
        this.macs.written('workspaces', id);
        this.keys.create(id, createdAt);
        this.sealMeta(id, alias, tags);
      })();
      return { result: { workspaceId: id, alias, status: 'ACTIVE' as const, createdAt, tags }, workspaceId: id, details: { tags: Object.keys(tags).length } };
    });
  }

  listWorkspaces(): Workspace[] {
    // From the checked full scan, so a damaged index cannot leave a workspace out.
    const rows = (this.macs.rows('workspaces') as (WorkspaceRow & { rowid_: number })[]).filter((r) => r.status !== 'DELETING').sort(byCreation);
    return rows.map((r) => this.toWorkspace(r));
  }

  describeWorkspace(workspaceId: string): Workspace {
    return this.toWorkspace(this.row(workspaceId));
  }

  updateWorkspace(workspaceId: string, input: UpdateWorkspaceInput, actor = DEFAULT_ACTOR): Workspace {
    return this.act('workspace.update', workspaceId, actor, () => {
      const current = this.describeWorkspace(workspaceId);
      const alias = input?.alias === undefined ? current.alias : checkAlias(input.alias);
      const added = checkTags(input?.tags ?? {});
      const removed = (input?.removeTags ?? []).map(checkTagKey);
      const merged: Record<string, string> = { ...current.tags, ...added };
      for (const k of removed) delete merged[k];
      const tags = checkTags(merged);
      this.sealMeta(workspaceId, alias, tags);
      return {
        result: { ...current, alias, tags },
        workspaceId,
        details: { aliasChanged: alias !== current.alias, tagsSet: Object.keys(added).length, tagsRemoved: removed.length },
      };
    });
  }

  deleteWorkspace(workspaceId: string, actor = DEFAULT_ACTOR): void {
    this.act('workspace.delete', workspaceId, actor, () => {
      this.row(workspaceId);
      // Shred first: once this commits, whatever is left on disk is unreadable.
      this.db.transaction(() => {
        this.keys.destroy(workspaceId);
        this.db.prepare(`UPDATE workspaces SET status = 'DELETING', meta_sealed = NULL WHERE id = ?`).run(workspaceId);
        this.macs.written('workspaces', workspaceId);
        this.db.prepare(`DELETE FROM tokens WHERE workspace_id = ?`).run(workspaceId);
        this.macs.removed('tokens');
        this.db.prepare(`DELETE FROM limits WHERE workspace_id = ?`).run(workspaceId);
        this.macs.removed('limits');
      })();
      // Old page images of the key may still sit in the WAL: fold it in and empty it.
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.removeShredded(workspaceId);
      return { result: undefined, workspaceId };
    });
  }

  // ---- tokens

  createToken(workspaceId: string, input: CreateTokenInput, actor = DEFAULT_ACTOR): CreatedToken {
    return this.act('token.create', workspaceId, actor, () => {
      this.row(workspaceId);
      const scopes = checkScopes(input?.scopes);
      const name = checkTokenName(input?.name);
      const expiresAt = checkExpiry(input?.expiresAt, this.now());
      const tokenId = randomBytes(8).toString('hex');
      const token = `amp_${tokenId}_${randomBytes(32).toString('base64url')}`;
      const createdAt = new Date(this.now()).toISOString();
      const keys = this.dataKeys(workspaceId);
      this.db.transaction(() => {
        this.db
          .prepare(`INSERT INTO tokens (id, workspace_id, hash, name_sealed, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
          .run(tokenId, workspaceId, hashToken(token), this.sealWithKeys(keys, Buffer.from(name), tokenNameAad(workspaceId, tokenId)), scopes.join(','), createdAt, expiresAt);
        this.macs.written('tokens', tokenId);
      })();
      const info: TokenInfo = { tokenId, workspaceId, name, scopes, createdAt, expiresAt, lastUsedAt: null, revokedAt: null };
      return { result: { ...info, token }, workspaceId, details: { tokenId, scopes: scopes.join(','), expires: expiresAt !== null } };
    });
  }

  listTokens(workspaceId: string): TokenInfo[] {
    this.row(workspaceId);
    // From the checked full scan, so a damaged index cannot leave a token out.
    const rows = (this.macs.rows('tokens') as (TokenRow & { rowid_: number })[]).filter((r) => r.workspace_id === workspaceId).sort(byCreation);
    return rows.map((r) => this.toTokenInfo(r));
  }

  revokeToken(tokenId: string, actor = DEFAULT_ACTOR): TokenInfo {
    const row = this.tokenRow(tokenId);
    return this.act('token.revoke', row?.workspace_id, actor, () => {
      if (!row) throw new ControlError('not_found', `token ${tokenId} does not exist`, 'tokenId');
      const revokedAt = row.revoked_at ?? new Date(this.now()).toISOString();
      this.db.transaction(() => {
        this.db.prepare(`UPDATE tokens SET revoked_at = ? WHERE id = ?`).run(revokedAt, tokenId);
        this.macs.written('tokens', tokenId);
      })();
      return { result: this.toTokenInfo({ ...row, revoked_at: revokedAt }), workspaceId: row.workspace_id, details: { tokenId } };
    });
  }

  verifyToken(token: string): VerifiedToken | null {
    const presented = hashToken(typeof token === 'string' ? token : '');
    const key = presented.toString('base64');
    const version = this.dataVersion();
    const changes = this.totalChanges();
    const known = this.verified.get(key);
    if (known) {
      const now = this.now();
      if (known.version === version && known.changes === changes && now < known.expiresAt && now - known.lastUsedAt < LAST_USED_RESOLUTION_MS) return known.token;
      this.verified.delete(key);
    }
    const verified = this.verifyTokenRow(token, presented);
    if (!verified) return null;
    // Remembered only when nothing changed while it was checked (its own last-used write
    // included: the next request checks it again, and is remembered then).
    if (this.dataVersion() === version && this.totalChanges() === changes) {
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.clear();
      this.verified.set(key, { version, changes, ...verified });
    }
    return verified.token;
  }

  private dataVersion(): number {
    this.versionStmt ??= this.db.prepare<[], number>('PRAGMA data_version').pluck();
    return this.versionStmt.get()!;
  }

  private totalChanges(): number {
    this.changesStmt ??= this.db.prepare<[], number>('SELECT total_changes()').pluck();
    return this.changesStmt.get()!;
  }

  private verifyTokenRow(token: string, presented: Buffer): { token: VerifiedToken; expiresAt: number; lastUsedAt: number } | null {
    const m = typeof token === 'string' ? TOKEN.exec(token) : null;
    const tokenId = m?.[1];
    // A damaged row is an error, never a different answer (a widened scope, an un-revoked token).
    const row = tokenId ? this.tokenRow(tokenId) : undefined;
    // Compare even when the id is unknown, so timing does not tell which ids exist.
    const matches = timingSafeEqual(presented, row?.hash ?? Buffer.alloc(32)) && !!row;
    const fail = (reason: string) => {
      this.activity.record({ action: 'token.verify', actor: tokenId ? `token:${tokenId}` : 'anonymous', outcome: 'failure', ...(row ? { workspaceId: row.workspace_id } : {}), details: { reason } });
      return null;
    };
    if (!m) return fail('malformed');
    if (!row || !matches) return fail('unknown');
    if (row.revoked_at) return fail('revoked');
    const now = this.now();
    if (row.expires_at && Date.parse(row.expires_at) <= now) return fail('expired');
    const ws = this.selectById('workspaces', row.workspace_id) as WorkspaceRow | undefined;
    if (ws) this.macs.check('workspaces', ws);
    if (ws?.status !== 'ACTIVE') return fail('workspace_inactive');
    let lastUsedAt = row.last_used_at ? Date.parse(row.last_used_at) : -Infinity;
    if (now - lastUsedAt >= LAST_USED_RESOLUTION_MS) {
      this.db.transaction(() => {
        this.db.prepare(`UPDATE tokens SET last_used_at = ? WHERE id = ?`).run(new Date(now).toISOString(), row.id);
        this.macs.written('tokens', row.id);
      })();
      lastUsedAt = now;
    }
    return {
      token: { workspaceId: row.workspace_id, tokenId: row.id, scopes: row.scopes.split(',') as Scope[] },
      expiresAt: row.expires_at ? Date.parse(row.expires_at) : Infinity,
      lastUsedAt,
    };
  }

  // ---- limits

  getLimits(workspaceId: string): Partial<WorkspaceLimits> {
    this.row(workspaceId);
    const row = this.db.prepare(`SELECT * FROM limits WHERE workspace_id = ?`).get(workspaceId) as { workspace_id: string; overrides: string; mac: Buffer | null } | undefined;
    if (row) this.macs.check('limits', row);
    return row ? (JSON.parse(row.overrides) as Partial<WorkspaceLimits>) : {};
  }

  setLimits(workspaceId: string, limits: Partial<WorkspaceLimits>, actor = DEFAULT_ACTOR): Partial<WorkspaceLimits> {
    const merged = this.act('limits.set', workspaceId, actor, () => {
      const changes = checkLimits(limits);
      const merged = { ...this.getLimits(workspaceId), ...changes };
      this.db.transaction(() => {
        this.db.prepare(`INSERT INTO limits (workspace_id, overrides) VALUES (?, ?) ON CONFLICT (workspace_id) DO UPDATE SET overrides = excluded.overrides`).run(workspaceId, JSON.stringify(merged));
        this.macs.written('limits', workspaceId);
      })();
      // Numbers only (never customer data): the log says what each limit became.
      return { result: merged, workspaceId, details: { limits: Object.entries(changes).map(([k, v]) => `${k}=${v}`).join(',') } };
    });
    this.opts.onLimitsChanged?.(workspaceId);
    return merged;
  }

  // ---- helpers

  /** Runs an action and records its outcome (validation and lookup failures included). */
  private act<T>(
    action: string,
    workspaceId: string | undefined,
    actor: string,
    run: () => { result: T; workspaceId?: string; details?: Record<string, string | number | boolean> },
  ): T {
    let done: ReturnType<typeof run>;
    try {
      done = run();
    } catch (e) {
      const details: Record<string, string | number | boolean> = { error: e instanceof ControlError ? e.kind : 'internal' };
      if (e instanceof ControlError && e.field) details.field = e.field;
      this.activity.record({ action, actor, outcome: 'failure', ...(workspaceId ? { workspaceId } : {}), details });
      throw e;
    }
    const ws = done.workspaceId ?? workspaceId;
    this.activity.record({ action, actor, outcome: 'success', ...(ws ? { workspaceId: ws } : {}), ...(done.details ? { details: done.details } : {}) });
    return done.result;
  }

  private row(workspaceId: string): WorkspaceRow {
    const row = typeof workspaceId === 'string' && WORKSPACE_ID.test(workspaceId) ? (this.selectById('workspaces', workspaceId) as WorkspaceRow | undefined) : undefined;
    if (row) this.macs.check('workspaces', row);
    if (!row || row.status === 'DELETING') throw new ControlError('not_found', `workspace ${String(workspaceId)} does not exist`, 'workspaceId');
    return row;
  }

  private tokenRow(tokenId: string): TokenRow | undefined {
    const row = this.selectById('tokens', tokenId) as TokenRow | undefined;
    if (row) this.macs.check('tokens', row);
    return row;
  }

  private selectById(table: 'workspaces' | 'tokens', id: string): unknown {
    let stmt = this.byId.get(table);
    if (!stmt) this.byId.set(table, (stmt = this.db.prepare(`SELECT * FROM ${table} WHERE id = ?`)));
    return stmt.get(id);
  }

  /** Seals under the current data key, prefixed with its generation (4 bytes) so later generations can open it. */
  private sealWithKeys(keys: DataKeys, plaintext: Buffer, aad: string): Buffer {
    const gen = Buffer.alloc(4);
    gen.writeUInt32BE(keys.current);
    return Buffer.concat([gen, keys.get(keys.current).seal(plaintext, aad)]);
  }

  private openWithKeys(keys: DataKeys, sealed: Buffer, aad: string): Buffer {
    return keys.get(sealed.readUInt32BE(0)).open(sealed.subarray(4), aad);
  }

  private sealMeta(workspaceId: string, alias: string, tags: Record<string, string>): void {
    const keys = this.dataKeys(workspaceId);
    const sealed = this.sealWithKeys(keys, Buffer.from(JSON.stringify({ alias, tags })), metaAad(workspaceId));
    this.db.transaction(() => {
      this.db.prepare(`UPDATE workspaces SET meta_sealed = ? WHERE id = ?`).run(sealed, workspaceId);
      this.macs.written('workspaces', workspaceId);
    })();
  }

  private toWorkspace(r: WorkspaceRow): Workspace {
    const meta = JSON.parse(this.openWithKeys(this.dataKeys(r.id), r.meta_sealed!, metaAad(r.id)).toString('utf8')) as { alias: string; tags: Record<string, string> };
    return { workspaceId: r.id, alias: meta.alias, status: r.status, createdAt: r.created_at, tags: meta.tags };
  }

  private toTokenInfo(r: TokenRow): TokenInfo {
    const name = this.openWithKeys(this.dataKeys(r.workspace_id), r.name_sealed, tokenNameAad(r.workspace_id, r.id)).toString('utf8');
    return {
      tokenId: r.id,
      workspaceId: r.workspace_id,
      name,
      scopes: r.scopes.split(',') as Scope[],
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      lastUsedAt: r.last_used_at,
      revokedAt: r.revoked_at,
    };
  }

  private removeShredded(workspaceId: string): void {
    this.opts.removeWorkspaceData?.(workspaceId);
    this.db.transaction(() => {
      this.db.prepare(`DELETE FROM workspaces WHERE id = ?`).run(workspaceId);
      this.macs.removed('workspaces');
    })();
  }
}
