// Opening control.db: WAL, synchronous=FULL (a committed change survives power loss), freed pages
// zeroed (a destroyed data key leaves no copy behind), schema migrated, failures given a kind.
import Database from 'better-sqlite3';
import { ControlError } from './types';
import { migrate, migrations } from './migrations';
import { walDamage } from '../tsdb/wal-file';

export function openControlDb(path: string): Database.Database {
  // Before SQLite's recovery, which would drop a damaged frame and every later one without a word.
  const wal = walDamage(`${path}-wal`);
  if (wal) throw new ControlError('corrupt', `control.db is damaged: its write-ahead log ${path}-wal: ${wal}. How to fix: restore the data directory from a backup (ampule restore).`);
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: 5000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('secure_delete = ON');
    db.pragma('foreign_keys = ON');
    const version = db.pragma('user_version', { simple: true }) as number;
    const latest = migrations[migrations.length - 1]!.version;
    if (version > latest) {
      throw new ControlError('too_new', `${path} was written by a newer Ampule (schema ${version}, this one knows ${latest}); upgrade Ampule to open it.`);
    }
    migrate(db);
    return db;
  } catch (e) {
    db?.close();
    throw controlDbError(e, path);
  }
}

/** Gives a SQLite failure a kind and advice; other errors pass through. */
export function controlDbError(e: unknown, path: string): unknown {
  if (e instanceof ControlError) return e;
  const code = (e as { code?: unknown }).code;
  const text = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    return new ControlError('corrupt', `The control database ${path} is damaged (${text}); restore it from a backup.`);
  }
  if (code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_PERM') {
    return new ControlError('read_only', `The control database ${path} cannot be opened for writing (${text}); check the data directory's owner and permissions.`);
  }
  if (/directory does not exist/.test(text)) {
    return new ControlError('unavailable', `The control database ${path} cannot be created: its folder does not exist; check --data-dir.`);
  }
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new ControlError('unavailable', `The control database ${path} is held by another process (${text}); stop it or wait and retry.`);
  }
  return e;
}
