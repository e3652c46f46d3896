// One alert manager definition per workspace (as AMP has), stored in control.db sealed with the
// workspace's data key: URLs are customer data and credentials are secrets, so neither is in clear.
// A definition that does not validate is refused before anything is written; describe shows it
// with its credentials redacted.
import type Database from 'better-sqlite3';
import type { DataKeys } from '../control/data-keys';
import { ControlError } from '../control/types';
import { announceRuleConfigChange } from '../rules/changes';
import { parseDefinition, redact, type AlertManagerDefinition } from './definition';

export interface AlertManagerInfo {
  readonly workspaceId: string;
  /** AMP's status of an alert manager definition. */
  readonly status: 'ACTIVE';
  readonly createdAt: string;
  readonly modifiedAt: string;
  readonly alertmanagers: number;
  readonly webhooks: number;
}

export interface AlertManagerDescription extends AlertManagerInfo {
  /** The definition with every credential replaced by `<secret>`. */
  readonly definition: Record<string, unknown>;
}

interface Row {
  workspace_id: string;
  generation: number;
  sealed: Buffer;
  created_at: string;
  modified_at: string;
}

const aad = (ws: string) => `ampule/alerting/definition/${ws}`;

export class AlertManagerStore {
  constructor(
    private readonly db: Database.Database,
    private readonly keysOf: (workspaceId: string) => DataKeys,
    private readonly now: () => number = Date.now,
  ) {}

  private row(workspaceId: string): Row | undefined {
    return this.db.prepare(`SELECT * FROM alert_managers WHERE workspace_id = ?`).get(workspaceId) as Row | undefined;
  }

  private open(row: Row): string {
    return this.keysOf(row.workspace_id).get(row.generation).open(row.sealed, aad(row.workspace_id)).toString('utf8');
  }

  private notFound(workspaceId: string): ControlError {
    return new ControlError('not_found', `workspace ${workspaceId} has no alert manager definition`, 'workspaceId');
  }

  private info(row: Row, d: AlertManagerDefinition): AlertManagerInfo {
    return { workspaceId: row.workspace_id, status: 'ACTIVE', createdAt: row.created_at, modifiedAt: row.modified_at, alertmanagers: d.alertmanagers.length, webhooks: d.webhooks.length };
  }

  /** Creates or replaces the definition. Throws DefinitionError (nothing stored) when it is invalid. */
  put(workspaceId: string, text: string): AlertManagerInfo {
    const d = parseDefinition(text);
    const keys = this.keysOf(workspaceId);
    const now = new Date(this.now()).toISOString();
    const info = this.db.transaction(() => {
      const existing = this.row(workspaceId);
      const sealed = keys.get(keys.current).seal(Buffer.from(text, 'utf8'), aad(workspaceId));
      if (existing) this.db.prepare(`UPDATE alert_managers SET generation = ?, sealed = ?, modified_at = ? WHERE workspace_id = ?`).run(keys.current, sealed, now, workspaceId);
      else this.db.prepare(`INSERT INTO alert_managers (workspace_id, generation, sealed, created_at, modified_at) VALUES (?, ?, ?, ?, ?)`).run(workspaceId, keys.current, sealed, now, now);
      return this.info({ workspace_id: workspaceId, generation: keys.current, sealed, created_at: existing?.created_at ?? now, modified_at: now }, d);
    }).immediate();
    announceRuleConfigChange(this.db, 'alert-manager', workspaceId);
    return info;
  }

  /** The parsed definition with its credentials, for the notifier; null when there is none. */
  definition(workspaceId: string): AlertManagerDefinition | null {
    const row = this.row(workspaceId);
    return row ? parseDefinition(this.open(row)) : null;
  }

  /** The definition as it was put, credentials included (for a workspace backup, itself encrypted); null when there is none. */
  text(workspaceId: string): string | null {
    const row = this.row(workspaceId);
    return row ? this.open(row) : null;
  }

  describe(workspaceId: string): AlertManagerDescription {
    const row = this.row(workspaceId);
    if (!row) throw this.notFound(workspaceId);
    const d = parseDefinition(this.open(row));
    return { ...this.info(row, d), definition: redact(d) };
  }

  delete(workspaceId: string): void {
    if (this.db.prepare(`DELETE FROM alert_managers WHERE workspace_id = ?`).run(workspaceId).changes === 0) throw this.notFound(workspaceId);
    announceRuleConfigChange(this.db, 'alert-manager', workspaceId);
  }

  /** Re-seals the definition with the current data key (after a data-key rotation). */
  reseal(workspaceId: string): void {
    const row = this.row(workspaceId);
    if (!row) return;
    const keys = this.keysOf(workspaceId);
    this.db.prepare(`UPDATE alert_managers SET generation = ?, sealed = ? WHERE workspace_id = ?`).run(keys.current, keys.get(keys.current).seal(Buffer.from(this.open(row), 'utf8'), aad(workspaceId)), workspaceId);
  }
}
