// Rule-groups namespaces per workspace (AMP's noun): a name and a Prometheus rule file, stored
// in control.db sealed with the workspace's data key. Rule text and namespace names are customer
// data, so neither is in clear: each row has a random id and its name lives inside the seal; a
// workspace holds few namespaces, so lookups open them all. A rule file that does not validate is
// refused before anything is written.
import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import type { DataKeys } from '../control/data-keys';
import { ControlError } from '../control/types';
import { announceRuleConfigChange } from './changes';
import { parseRuleFile, type RuleFile } from './rule-file';

export interface RuleNamespace {
  readonly workspaceId: string;
  readonly name: string;
  readonly createdAt: string;
  readonly modifiedAt: string;
  readonly groups: number;
  readonly rules: number;
}

export interface RuleNamespaceWithData extends RuleNamespace {
  /** The rule file as it was put. */
  readonly data: string;
}

interface Row {
  id: string;
  workspace_id: string;
  generation: number;
  sealed: Buffer;
  created_at: string;
  modified_at: string;
}

interface Sealed {
  name: string;
  data: string;
}

/** AMP: 1–64 characters from [0-9A-Za-z][-.0-9A-Z_a-z]*. */
const NAMESPACE_NAME = /^[0-9A-Za-z][-.0-9A-Z_a-z]{0,63}$/;
/** AMP's quota on namespaces per workspace. */
export const MAX_NAMESPACES_PER_WORKSPACE = 1000;

const aad = (ws: string, id: string) => `ampule/rules/namespace/${ws}/${id}`;

export function checkNamespaceName(name: unknown): string {
  if (typeof name !== 'string' || !NAMESPACE_NAME.test(name)) {
    throw new ControlError('invalid', `namespace name must be 1–64 characters: a letter or digit, then letters, digits, '-', '.' or '_' (got ${JSON.stringify(String(name)).slice(0, 80)})`, 'name');
  }
  return name;
}

function counts(f: RuleFile): { groups: number; rules: number } {
  return { groups: f.groups.length, rules: f.groups.reduce((n, g) => n + g.rules.length, 0) };
}

export class RuleNamespaceStore {
  constructor(
    private readonly db: Database.Database,
    private readonly keysOf: (workspaceId: string) => DataKeys,
    private readonly now: () => number = Date.now,
  ) {}

  private rows(workspaceId: string): { row: Row; sealed: Sealed }[] {
    const keys = this.keysOf(workspaceId);
    const rows = this.db.prepare(`SELECT * FROM rule_namespaces WHERE workspace_id = ? ORDER BY created_at, rowid`).all(workspaceId) as Row[];
    return rows.map((row) => ({ row, sealed: JSON.parse(keys.get(row.generation).open(row.sealed, aad(workspaceId, row.id)).toString('utf8')) as Sealed }));
  }

  private find(workspaceId: string, name: string): { row: Row; sealed: Sealed } | undefined {
    return this.rows(workspaceId).find((r) => r.sealed.name === name);
  }

  private info(r: { row: Row; sealed: Sealed }): RuleNamespace {
    let c = { groups: 0, rules: 0 };
    try {
      c = counts(parseRuleFile(r.sealed.data));
    } catch {
      /* stored files were valid when put; a stricter later version may refuse them, counts stay 0 */
    }
    return { workspaceId: r.row.workspace_id, name: r.sealed.name, createdAt: r.row.created_at, modifiedAt: r.row.modified_at, ...c };
  }

  /** Creates or replaces a namespace. Throws RuleFileError (nothing stored) when the file is invalid. */
  put(workspaceId: string, name: string, data: string): RuleNamespace {
    checkNamespaceName(name);
    if (typeof data !== 'string') throw new ControlError('invalid', 'rule file data must be text', 'data');
    const file = parseRuleFile(data);
    const keys = this.keysOf(workspaceId);
    const now = new Date(this.now()).toISOString();
    const info = this.db.transaction(() => {
      const existing = this.find(workspaceId, name);
      const id = existing?.row.id ?? randomBytes(12).toString('hex');
      if (!existing && this.rows(workspaceId).length >= MAX_NAMESPACES_PER_WORKSPACE) {
        throw new ControlError('invalid', `a workspace holds at most ${MAX_NAMESPACES_PER_WORKSPACE} rule-groups namespaces`, 'name');
      }
      const sealed = keys.get(keys.current).seal(Buffer.from(JSON.stringify({ name, data } satisfies Sealed), 'utf8'), aad(workspaceId, id));
      if (existing) this.db.prepare(`UPDATE rule_namespaces SET generation = ?, sealed = ?, modified_at = ? WHERE id = ?`).run(keys.current, sealed, now, id);
      else this.db.prepare(`INSERT INTO rule_namespaces (id, workspace_id, generation, sealed, created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?)`).run(id, workspaceId, keys.current, sealed, now, now);
      return { workspaceId, name, createdAt: existing?.row.created_at ?? now, modifiedAt: now, ...counts(file) };
    }).immediate();
    announceRuleConfigChange(this.db, 'rule-namespaces', workspaceId);
    return info;
  }

  list(workspaceId: string): RuleNamespace[] {
    return this.rows(workspaceId).map((r) => this.info(r)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  describe(workspaceId: string, name: string): RuleNamespaceWithData {
    const r = this.find(workspaceId, checkNamespaceName(name));
    if (!r) throw new ControlError('not_found', `rule-groups namespace ${name} does not exist in workspace ${workspaceId}`, 'name');
    return { ...this.info(r), data: r.sealed.data };
  }

  delete(workspaceId: string, name: string): void {
    const r = this.find(workspaceId, checkNamespaceName(name));
    if (!r) throw new ControlError('not_found', `rule-groups namespace ${name} does not exist in workspace ${workspaceId}`, 'name');
    this.db.prepare(`DELETE FROM rule_namespaces WHERE id = ?`).run(r.row.id);
    announceRuleConfigChange(this.db, 'rule-namespaces', workspaceId);
  }

  /** Re-seals every namespace with the current data key (after a data-key rotation). */
  reseal(workspaceId: string): void {
    const keys = this.keysOf(workspaceId);
    const update = this.db.prepare(`UPDATE rule_namespaces SET generation = ?, sealed = ? WHERE id = ?`);
    this.db.transaction(() => {
      for (const r of this.rows(workspaceId)) {
        update.run(keys.current, keys.get(keys.current).seal(Buffer.from(JSON.stringify(r.sealed), 'utf8'), aad(workspaceId, r.row.id)), r.row.id);
      }
    })();
  }
}
