// Typed store failures. Every one names the workspace, the file and the item, so a damaged store is
// an error the API, the self-test and the checklist can report, never fewer series.
import { basename, dirname, join } from 'node:path';

/** damaged: the file's content is wrong (altered, missing rows, SQLite corruption); io: the file cannot be used right now (disk full, permissions, locked). */
export type StoreErrorKind = 'damaged' | 'io';

export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    readonly workspaceId: string,
    /** The file, relative to the data directory when it lies in one (workspaces/<id>/tsdb.db). */
    readonly file: string,
    /** What could not be read or written, e.g. "series page 3" or "log record 17". */
    readonly item: string,
    readonly why: string,
  ) {
    super(
      kind === 'damaged'
        ? `Workspace ${workspaceId}: the store file ${file} is damaged: ${item}: ${why}. ` +
            `The workspace's data is not served until it is repaired (other workspaces are not affected). ` +
            `How to fix: restore the workspace from a backup (ampule restore), or recreate it.`
        : `Workspace ${workspaceId}: the store file ${file} cannot be used: ${item}: ${why}.`,
    );
    this.name = kind === 'damaged' ? 'StoreDamaged' : 'StoreError';
  }
}

/** A store whose file is damaged: rows altered or missing, or SQLite reports corruption. */
export class StoreDamaged extends StoreError {
  constructor(workspaceId: string, file: string, item: string, why: string) {
    super('damaged', workspaceId, file, item, why);
  }
}

/** How errors show a store's path: the last three parts (workspaces/<id>/tsdb.db), never the user's folders. */
export function displayPath(path: string): string {
  const dir = dirname(path);
  return join(basename(dirname(dir)), basename(dir), basename(path));
}

// SQLite result codes that mean the file's content is wrong, as opposed to the file being
// unavailable (I/O error, full disk, lock, permissions). SQLITE_ERROR is included: our SQL is
// fixed, so "no such table/column" means the schema in the file was altered.
const DAMAGE_CODES = /^SQLITE_(CORRUPT|NOTADB|FORMAT|ERROR|MISMATCH|RANGE|CONSTRAINT|SCHEMA)/;

/** Wraps an error thrown by better-sqlite3 into a StoreError naming the store; other errors pass through. */
export function sqliteFailure(e: unknown, workspaceId: string, file: string, item: string): unknown {
  if (e instanceof StoreError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return e;
  const why = `SQLite ${code}: ${(e as Error).message}`;
  return DAMAGE_CODES.test(code) ? new StoreDamaged(workspaceId, file, item, why) : new StoreError('io', workspaceId, file, item, why);
}
