// Alert manager definitions in the real control database with a real master key: put/describe/
// replace/delete, nothing stored when invalid, URLs and credentials never in clear on disk, the
// row removed with its workspace, re-sealed after a data-key rotation, and migration 5 on top of a
// version-4 database.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, migrations } from '../../../main/control/migrations';
import { ControlError } from '../../../main/control/types';
import { AlertManagerStore } from '../../../main/alerting/definition-store';
import { DefinitionError } from '../../../main/alerting/definition';
import { filesContaining, testControl, type TestControl } from '../control/helpers';

const DEF = 'alertmanagers:\n  - url: https://am-host-marker-zq.example:9093\n    basic_auth: { username: ops, password: pw-marker-zq }\nwebhooks:\n  - name: hook\n    url: https://hook-marker-zq.example/x\n    authorization: { credentials: tok-marker-zq }\n';

let t: TestControl;
let store: AlertManagerStore;
let ws: string;

beforeEach(() => {
  t = testControl();
  store = new AlertManagerStore(t.control.db, (id) => t.control.dataKeys(id), () => t.clock);
  ws = t.control.createWorkspace({ alias: 'a' }).workspaceId;
});
afterEach(() => t.cleanup());

describe('alert manager definitions', () => {
  it('put, describe (redacted), replace, delete', () => {
    const put = store.put(ws, DEF);
    expect(put).toMatchObject({ workspaceId: ws, status: 'ACTIVE', alertmanagers: 1, webhooks: 1 });
    const d = store.describe(ws);
    expect(JSON.stringify(d)).not.toMatch(/pw-marker-zq|tok-marker-zq/);
    expect(d.definition).toMatchObject({ alertmanagers: [{ url: 'https://am-host-marker-zq.example:9093/', basic_auth: { username: 'ops', password: '<secret>' } }] });
    expect(store.definition(ws)!.alertmanagers[0]!.credentials).toEqual({ kind: 'basic', username: 'ops', password: 'pw-marker-zq' });
    t.clock += 1000;
    const replaced = store.put(ws, 'alertmanagers: [{url: "https://b.example"}]');
    expect(replaced.createdAt).toBe(put.createdAt);
    expect(replaced.modifiedAt).not.toBe(put.modifiedAt);
    expect(store.describe(ws)).toMatchObject({ alertmanagers: 1, webhooks: 0 });
    store.delete(ws);
    expect(store.definition(ws)).toBeNull();
    expect(() => store.describe(ws)).toThrow(ControlError);
    expect(() => store.delete(ws)).toThrow(/has no alert manager definition/);
  });

  it('an invalid definition stores nothing and keeps the previous one', () => {
    expect(() => store.put(ws, 'alertmanagers: [{url: "http://plain"}]')).toThrow(DefinitionError);
    expect((t.control.db.prepare('SELECT COUNT(*) AS n FROM alert_managers').get() as { n: number }).n).toBe(0);
    store.put(ws, DEF);
    expect(() => store.put(ws, 'webhooks: 3')).toThrow(/webhooks: must be a list/);
    expect(store.definition(ws)!.webhooks).toHaveLength(1);
  });

  it('definitions are per workspace', () => {
    const other = t.control.createWorkspace({ alias: 'b' }).workspaceId;
    store.put(ws, DEF);
    expect(store.definition(other)).toBeNull();
  });

  it('URLs and credentials are never readable on disk', () => {
    store.put(ws, DEF);
    t.control.db.pragma('wal_checkpoint(TRUNCATE)');
    for (const marker of ['am-host-marker-zq', 'hook-marker-zq', 'pw-marker-zq', 'tok-marker-zq']) expect(filesContaining(t.dir, marker), marker).toEqual([]);
  });

  it('a sealed row moved to another workspace does not open', () => {
    const other = t.control.createWorkspace({ alias: 'b' }).workspaceId;
    store.put(ws, DEF);
    store.put(other, 'alertmanagers: [{url: "https://b.example"}]');
    const sealed = (t.control.db.prepare('SELECT sealed FROM alert_managers WHERE workspace_id = ?').get(ws) as { sealed: Buffer }).sealed;
    t.control.db.prepare('UPDATE alert_managers SET sealed = ? WHERE workspace_id = ?').run(sealed, other);
    expect(() => store.definition(other)).toThrow();
  });

  it('is removed with its workspace', () => {
    store.put(ws, DEF);
    t.control.deleteWorkspace(ws);
    expect((t.control.db.prepare('SELECT COUNT(*) AS n FROM alert_managers').get() as { n: number }).n).toBe(0);
  });

  it('re-seals with the current data key after a rotation', () => {
    store.put(ws, DEF);
    const g = t.control.keys.rotate(ws, new Date(t.clock).toISOString());
    store.reseal(ws);
    expect((t.control.db.prepare('SELECT generation FROM alert_managers WHERE workspace_id = ?').get(ws) as { generation: number }).generation).toBe(g);
    expect(store.definition(ws)!.alertmanagers[0]!.url).toBe('https://am-host-marker-zq.example:9093/');
  });
});

describe('migration 5', () => {
  it('adds alert_managers on top of a version-4 database with data', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ampule-mig5-'));
    try {
      const db = new Database(join(dir, 'c.db'));
      migrate(db, migrations.filter((m) => m.version <= 4));
      db.prepare(`INSERT INTO workspaces (id, status, created_at) VALUES ('ws-1', 'ACTIVE', 'now')`).run();
      migrate(db, migrations.filter((m) => m.version <= 5));
      expect(db.pragma('user_version', { simple: true })).toBe(5);
      db.prepare(`INSERT INTO alert_managers (workspace_id, generation, sealed, created_at, modified_at) VALUES ('ws-1', 1, x'00', 'now', 'now')`).run();
      expect(() => db.prepare(`INSERT INTO alert_managers (workspace_id, generation, sealed, created_at, modified_at) VALUES ('ws-1', 1, x'00', 'now', 'now')`).run()).toThrow(/UNIQUE|PRIMARY/);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
