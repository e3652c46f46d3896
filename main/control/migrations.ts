// The control database's schema, one numbered step at a time. Append only: a released step is
// never edited. PRAGMA user_version holds the number of the last step applied.
import type Database from 'better-sqlite3';

export interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: Database.Database): void;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'meta, workspaces and wrapped data keys',
    up(db) {
      db.exec(`
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
        -- alias and tags live only inside meta_sealed: data key generation (4 bytes) | sealed JSON.
        CREATE TABLE workspaces (
          id TEXT PRIMARY KEY,
          status TEXT NOT NULL,
          created_at TEXT NOT NULL,
          meta_sealed BLOB
        ) STRICT;
        CREATE TABLE data_keys (
          workspace_id TEXT NOT NULL REFERENCES workspaces(id),
          generation INTEGER NOT NULL,
          wrapped BLOB NOT NULL,
          created_at TEXT NOT NULL,
          PRIMARY KEY (workspace_id, generation)
        ) STRICT;
      `);
    },
  },
  {
    version: 2,
    name: 'token hashes',
    up(db) {
      db.exec(`
        CREATE TABLE tokens (
          id TEXT PRIMARY KEY,
          workspace_id TEXT NOT NULL REFERENCES workspaces(id),
          hash BLOB NOT NULL,
          name_sealed BLOB NOT NULL,
          scopes TEXT NOT NULL,
          created_at TEXT NOT NULL,
          expires_at TEXT,
          last_used_at TEXT,
          revoked_at TEXT
        ) STRICT;
        CREATE INDEX tokens_by_workspace ON tokens (workspace_id);
      `);
    },
  },
  {
    version: 3,
    name: 'per-workspace limit overrides',
    up(db) {
      db.exec(`CREATE TABLE limits (workspace_id TEXT PRIMARY KEY REFERENCES workspaces(id), overrides TEXT NOT NULL) STRICT;`);
    },
  },
  {
    version: 4,
    name: 'rule-groups namespaces (name and rule file sealed with the workspace data key)',
    up(db) {
      db.exec(`
        CREATE TABLE rule_namespaces (
          id TEXT PRIMARY KEY,
          workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
          generation INTEGER NOT NULL,
          sealed BLOB NOT NULL,
          created_at TEXT NOT NULL,
          modified_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX rule_namespaces_by_workspace ON rule_namespaces (workspace_id);
      `);
    },
  },
  {
    version: 5,
    name: 'alert manager definitions (sealed with the workspace data key: URLs and credentials)',
    up(db) {
      db.exec(`
        CREATE TABLE alert_managers (
          workspace_id TEXT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
          generation INTEGER NOT NULL,
          sealed BLOB NOT NULL,
          created_at TEXT NOT NULL,
          modified_at TEXT NOT NULL
        ) STRICT;
      `);
    },
  },
  {
    version: 6,
    name: 'row MACs on workspaces, tokens, limits and retention (computed on unlock: migrations have no key)',
    up(db) {
      db.exec(`
        ALTER TABLE workspaces ADD COLUMN mac BLOB;
        ALTER TABLE tokens ADD COLUMN mac BLOB;
        ALTER TABLE limits ADD COLUMN mac BLOB;
        CREATE TABLE IF NOT EXISTS workspace_retention (workspace_id TEXT PRIMARY KEY, days INTEGER NOT NULL) STRICT;
        ALTER TABLE workspace_retention ADD COLUMN mac BLOB;
      `);
    },
  },
  {
    version: 7,
    name: 'forwarding destinations and their queue positions (both sealed with the workspace data key)',
    up(db) {
      db.exec(`
        CREATE TABLE forward_destinations (
          id TEXT PRIMARY KEY,
          workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
          generation INTEGER NOT NULL,
          sealed BLOB NOT NULL,
          created_at TEXT NOT NULL,
          modified_at TEXT NOT NULL,
          position_generation INTEGER,
          position_sealed BLOB
        ) STRICT;
        CREATE INDEX forward_destinations_by_workspace ON forward_destinations (workspace_id);
      `);
    },
  },
];

/**
 * Applies every step above the database's user_version, each in its own write transaction that
 * re-reads the version, so two processes opening a new database at once cannot both apply a step.
 */
export function migrate(db: Database.Database, steps: readonly Migration[] = migrations): void {
  for (const m of steps) {
    db.transaction(() => {
      if (m.version <= (db.pragma('user_version', { simple: true }) as number)) return;
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}
