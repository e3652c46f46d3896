// Rule-groups namespaces in the real control database with a real master key: put/describe/list/
// delete, nothing stored when the rule file is invalid, rule text and names never in clear on disk,
// rows removed with their workspace, and migration 4 on top of a version-3 database.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, migrations } from '../../../main/control/migrations';
import { ControlError } from '../../../main/control/types';
import { RuleNamespaceStore } from '../../../main/rules/namespace-store';
import { RuleFileError } from '../../../main/rules/rule-file';
import { filesContaining, testControl, type TestControl } from '../control/helpers';

const RULES = 'groups:\n  - name: secret-group-marker\n    rules:\n      - record: marker_metric_zq:rate5m\n        expr: rate(marker_total[5m])\n      - alert: MarkerAlertZq\n        expr: up == 0\n        for: 1m\n';

let t: TestControl;
let store: RuleNamespaceStore;
let ws: string;

beforeEach(() => {
  t = testControl();
  store = new RuleNamespaceStore(t.control.db, (id) => t.control.dataKeys(id), () => t.clock);
  ws = t.control.createWorkspace({ alias: 'a' }).workspaceId;
});
afterEach(() => t.cleanup());

describe('rule-groups namespaces', () => {
  it('put, describe, list, replace, delete', () => {
    const put = store.put(ws, 'team-a.rules', RULES);
    expect(put).toMatchObject({ workspaceId: ws, name: 'team-a.rules', groups: 1, rules: 2 });
    expect(store.describe(ws, 'team-a.rules').data).toBe(RULES);
    t.clock += 1000;
    store.put(ws, 'other', 'groups: []\n');
    store.put(ws, 'team-a.rules', 'groups:\n  - name: g\n');
    expect(store.list(ws).map((n) => [n.name, n.groups, n.rules])).toEqual([['other', 0, 0], ['team-a.rules', 1, 0]]);
    expect(store.describe(ws, 'team-a.rules').createdAt).toBe(put.createdAt);
    store.delete(ws, 'other');
    expect(store.list(ws).map((n) => n.name)).toEqual(['team-a.rules']);
    expect(() => store.describe(ws, 'other')).toThrow(ControlError);
    expect(() => store.delete(ws, 'other')).toThrow(/does not exist/);
  });

  it('an invalid rule file or name stores nothing', () => {
    expect(() => store.put(ws, 'bad', 'groups:\n  - name: g\n    rules:\n      - record: x\n        expr: sum(\n')).toThrow(RuleFileError);
    expect(() => store.put(ws, '../etc', RULES)).toThrow(ControlError);
    expect(store.list(ws)).toEqual([]);
    expect((t.control.db.prepare('SELECT COUNT(*) AS n FROM rule_namespaces').get() as { n: number }).n).toBe(0);
  });

  it('namespaces are per workspace', () => {
    const other = t.control.createWorkspace({ alias: 'b' }).workspaceId;
    store.put(ws, 'n', RULES);
    expect(store.list(other)).toEqual([]);
    expect(() => store.describe(other, 'n')).toThrow(/does not exist/);
  });

  it('rule text and namespace names are never readable on disk', () => {
    store.put(ws, 'namespace-marker-zq', RULES);
    t.control.db.pragma('wal_checkpoint(TRUNCATE)');
    for (const marker of ['secret-group-marker', 'marker_metric_zq', 'MarkerAlertZq', 'namespace-marker-zq']) {
      expect(filesContaining(t.dir, marker), marker).toEqual([]);
    }
  });

  it('a data-key rotation: old seals still open, reseal moves them to the new generation', () => {
    store.put(ws, 'n', RULES);
    const gen = t.control.keys.rotate(ws, 'now');
    expect(store.describe(ws, 'n').data).toBe(RULES);
    store.reseal(ws);
    const rows = t.control.db.prepare('SELECT generation FROM rule_namespaces').all() as { generation: number }[];
    expect(rows).toEqual([{ generation: gen }]);
    expect(store.describe(ws, 'n').data).toBe(RULES);
  });

  it('deleting the workspace removes its namespaces', () => {
    store.put(ws, 'n', RULES);
    t.control.deleteWorkspace(ws);
    expect((t.control.db.prepare('SELECT COUNT(*) AS n FROM rule_namespaces').get() as { n: number }).n).toBe(0);
  });

  it('migration 4 applies on top of a version-3 database with data', () => {
    const db = new Database(join(t.dir, 'v3.db'));
    migrate(db, migrations.filter((m) => m.version <= 3));
    db.prepare(`INSERT INTO workspaces (id, status, created_at) VALUES ('ws-x', 'ACTIVE', 'now')`).run();
    migrate(db, migrations.filter((m) => m.version <= 4));
    expect(db.pragma('user_version', { simple: true })).toBe(4);
    db.prepare(`INSERT INTO rule_namespaces (id, workspace_id, generation, sealed, created_at, modified_at) VALUES ('r', 'ws-x', 1, x'00', 'now', 'now')`).run();
    db.pragma('foreign_keys = ON');
    db.prepare(`DELETE FROM workspaces WHERE id = 'ws-x'`).run();
    expect((db.prepare('SELECT COUNT(*) AS n FROM rule_namespaces').get() as { n: number }).n).toBe(0);
    db.close();
  });
});
