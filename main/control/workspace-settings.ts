// Per-workspace data-lifecycle settings in control.db: retention (AMP's range: 1–1095 days,
// default 150) and the state of data-key rotations (so an interrupted re-encryption resumes).
// Nothing here is customer data: numbers, times and workspace ids only. Retention decides what is
// deleted, so its rows carry the control plane's row MACs.
import type Database from 'better-sqlite3';
import { RowMac } from './row-mac';
import { ControlError } from './types';

export const DEFAULT_RETENTION_DAYS = 150;
export const MIN_RETENTION_DAYS = 1;
export const MAX_RETENTION_DAYS = 1095;
export const DAY_MS = 86_400_000;

export interface RotationState {
  readonly workspaceId: string;
  readonly generation: number;
  readonly startedAt: string;
  readonly finishedAt: string | null;
}

export class WorkspaceSettings {
  private readonly macs: RowMac;

  constructor(private readonly db: Database.Database) {
    this.macs = RowMac.of(db);
    // workspace_retention is made by control.db's migration 6 (with its MAC column).
    db.exec(`
      CREATE TABLE IF NOT EXISTS data_key_rotations (workspace_id TEXT NOT NULL, generation INTEGER NOT NULL, started_at TEXT NOT NULL, finished_at TEXT, PRIMARY KEY (workspace_id, generation)) STRICT;
    `);
  }

  /** The retention set for the workspace, or null when it uses the default. */
  retentionDays(workspaceId: string): number | null {
    const row = this.db.prepare(`SELECT * FROM workspace_retention WHERE workspace_id = ?`).get(workspaceId) as { workspace_id: string; days: number; mac: Buffer | null } | undefined;
    if (row) this.macs.check('workspace_retention', row);
    return row?.days ?? null;
  }

  /** Retention in ms for opening the store: the workspace's own, else `fallbackMs`. */
  retentionMs(workspaceId: string, fallbackMs: number): number {
    const d = this.retentionDays(workspaceId);
    return d === null ? fallbackMs : d * DAY_MS;
  }

  setRetentionDays(workspaceId: string, days: number): number {
    if (!Number.isInteger(days) || days < MIN_RETENTION_DAYS || days > MAX_RETENTION_DAYS) {
      throw new ControlError('invalid', `retention must be a whole number of days from ${MIN_RETENTION_DAYS} to ${MAX_RETENTION_DAYS} (AMP's range), got ${days}`, 'retentionDays');
    }
    this.db.transaction(() => {
      this.db.prepare(`INSERT INTO workspace_retention (workspace_id, days) VALUES (?, ?) ON CONFLICT (workspace_id) DO UPDATE SET days = excluded.days`).run(workspaceId, days);
      this.macs.written('workspace_retention', workspaceId);
    })();
    return days;
  }

  beginRotation(workspaceId: string, generation: number, now = new Date()): void {
    this.db.prepare(`INSERT OR IGNORE INTO data_key_rotations (workspace_id, generation, started_at) VALUES (?, ?, ?)`).run(workspaceId, generation, now.toISOString());
  }

  finishRotation(workspaceId: string, generation: number, now = new Date()): void {
    this.db.prepare(`UPDATE data_key_rotations SET finished_at = ? WHERE workspace_id = ? AND generation = ?`).run(now.toISOString(), workspaceId, generation);
  }

  /** A rotation whose re-encryption has not finished (crash, kill), if any. */
  unfinishedRotation(workspaceId: string): RotationState | null {
    const row = this.db.prepare(`SELECT * FROM data_key_rotations WHERE workspace_id = ? AND finished_at IS NULL ORDER BY generation DESC LIMIT 1`).get(workspaceId) as
      | { workspace_id: string; generation: number; started_at: string; finished_at: string | null }
      | undefined;
    return row ? { workspaceId: row.workspace_id, generation: row.generation, startedAt: row.started_at, finishedAt: row.finished_at } : null;
  }

  forget(workspaceId: string): void {
    this.db.transaction(() => {
      this.db.prepare(`DELETE FROM workspace_retention WHERE workspace_id = ?`).run(workspaceId);
      this.macs.removed('workspace_retention');
    })();
    this.db.prepare(`DELETE FROM data_key_rotations WHERE workspace_id = ?`).run(workspaceId);
  }
}
