// Each numbered migration: applied on top of the previous version (with data in it), it leaves
// the schema it promises and the old rows intact. Plus the errors openControlDb gives a kind.
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, migrations } from '../../../main/control/migrations';
import { openControlDb } from '../../../main/control/db';
import { ControlError } from '../../../main/control/types';

const dir = mkdtempSync(join(tmpdir(), 'ampule-migrations-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function dbAt(version: number): Database.Database {
  const db = new Database(join(dir, `v${version}-${Math.random().toString(36).slice(2)}.db`));
  migrate(db, migrations.filter((m) => m.version <= version));
  expect(db.pragma('user_version', { simple: true })).toBe(version);
  return db;
}

const columns = (db: Database.Database, table: string) => (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);

describe('control.db migrations', () => {
  it('are numbered 1, 2, 3… without gaps', () => {
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
  });

  it('1: meta, workspaces (sealed metadata only) and data keys', () => {
    const db = dbAt(1);
    expect(columns(db, 'meta')).toEqual(['key', 'value']);
    expect(columns(db, 'workspaces')).toEqual(['id', 'status', 'created_at', 'meta_sealed']);
    expect(columns(db, 'data_keys')).toEqual(['workspace_id', 'generation', 'wrapped', 'created_at']);
    db.close();
  });

  it('2: tokens, on top of a version-1 database with data', () => {
    const db = dbAt(1);
    db.prepare(`INSERT INTO workspaces (id, status, created_at) VALUES ('ws-1', 'ACTIVE', 'now')`).run();
    migrate(db, migrations.filter((m) => m.version <= 2));
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    expect(columns(db, 'tokens')).toEqual(['id', 'workspace_id', 'hash', 'name_sealed', 'scopes', 'created_at', 'expires_at', 'last_used_at', 'revoked_at']);
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'tokens_by_workspace'`).get()).toBeDefined();
    expect(db.prepare(`SELECT id FROM workspaces`).all()).toEqual([{ id: 'ws-1' }]);
    db.close();
  });

  it('3: limit overrides, on top of a version-2 database with data', () => {
    const db = dbAt(2);
    db.prepare(`INSERT INTO workspaces (id, status, created_at) VALUES ('ws-1', 'ACTIVE', 'now')`).run();
    migrate(db, migrations.filter((m) => m.version <= 3));
    expect(columns(db, 'limits')).toEqual(['workspace_id', 'overrides']);
    db.prepare(`INSERT INTO limits VALUES ('ws-1', '{}')`).run();
    expect(() => db.prepare(`INSERT INTO limits VALUES (?, '{}')`).run('ws-nope')).toThrow(/FOREIGN KEY/i);
    db.close();
  });

  it('6: a MAC column on workspaces, tokens, limits and retention, over a version-5 database with data (the MACs come on unlock)', () => {
    const db = dbAt(5);
    db.prepare(`INSERT INTO workspaces (id, status, created_at) VALUES ('ws-1', 'ACTIVE', 'now')`).run();
    db.prepare(`INSERT INTO limits VALUES ('ws-1', '{}')`).run();
    // WorkspaceSettings made this table itself before schema 6.
    db.exec(`CREATE TABLE workspace_retention (workspace_id TEXT PRIMARY KEY, days INTEGER NOT NULL) STRICT; INSERT INTO workspace_retention VALUES ('ws-1', 30);`);
    migrate(db, migrations.filter((m) => m.version <= 6));
    for (const t of ['workspaces', 'tokens', 'limits', 'workspace_retention']) expect(columns(db, t).at(-1), t).toBe('mac');
    expect(db.prepare(`SELECT days, mac FROM workspace_retention`).get()).toEqual({ days: 30, mac: null });
    expect(db.prepare(`SELECT overrides, mac FROM limits`).get()).toEqual({ overrides: '{}', mac: null });
    db.close();
  });

  it('7: forwarding destinations (definition and position sealed), over a version-6 database with data; removed with their workspace', () => {
    const db = dbAt(6);
    db.prepare(`INSERT INTO workspaces (id, status, created_at) VALUES ('ws-1', 'ACTIVE', 'now')`).run();
    migrate(db, migrations.filter((m) => m.version <= 7));
    expect(db.pragma('user_version', { simple: true })).toBe(7);
    expect(columns(db, 'forward_destinations')).toEqual(['id', 'workspace_id', 'generation', 'sealed', 'created_at', 'modified_at', 'position_generation', 'position_sealed']);
    db.pragma('foreign_keys = ON');
    db.prepare(`INSERT INTO forward_destinations (id, workspace_id, generation, sealed, created_at, modified_at) VALUES ('fwd-1', 'ws-1', 1, x'00', 'now', 'now')`).run();
    db.prepare(`DELETE FROM workspaces WHERE id = 'ws-1'`).run();
    expect(db.prepare(`SELECT count(*) AS n FROM forward_destinations`).get()).toEqual({ n: 0 });
    db.close();
  });

  it('a failing step rolls back and leaves the version where it was', () => {
    const db = dbAt(1);
    const broken = [...migrations.filter((m) => m.version <= 1), { version: 2, name: 'broken', up: (d: Database.Database) => d.exec('CREATE TABLE half (x); SELECT * FROM nowhere;') }];
    expect(() => migrate(db, broken)).toThrow(/nowhere/);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'half'`).get()).toBeUndefined();
    db.close();
  });

  it('openControlDb: WAL, synchronous=FULL, secure_delete, latest schema; reopening is a no-op', () => {
    const path = join(dir, 'control.db');
    const db = openControlDb(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('secure_delete', { simple: true })).toBe(1);
    expect(db.pragma('user_version', { simple: true })).toBe(migrations.length);
    db.close();
    openControlDb(path).close();
  });

  it('errors carry a kind: too_new, corrupt, read_only, unavailable', () => {
    const newer = join(dir, 'newer.db');
    const d = new Database(newer);
    d.pragma(`user_version = ${migrations.length + 1}`);
    d.close();
    expect(() => openControlDb(newer)).toThrow(expect.objectContaining({ kind: 'too_new' }));
    expect(() => openControlDb(newer)).toThrow(/upgrade Ampule/);

    const garbage = join(dir, 'garbage.db');
    writeFileSync(garbage, Buffer.alloc(8192, 0x5a));
    const e = (() => {
      try {
        openControlDb(garbage);
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(ControlError);
    expect((e as ControlError).kind).toBe('corrupt');
    expect((e as ControlError).message).toMatch(/restore it from a backup/);

    // A path that cannot be opened as a file (tests run as root, so permissions cannot stand in).
    expect(() => openControlDb(dir)).toThrow(expect.objectContaining({ kind: 'read_only' }));
    expect(() => openControlDb(join(dir, 'no', 'such', 'dir', 'control.db'))).toThrow(expect.objectContaining({ kind: 'unavailable' }));
  });
});
