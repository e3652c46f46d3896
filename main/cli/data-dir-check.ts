// The data directory a command is about to use: it must exist and be one, unless the command is
// one that starts a data directory (workspace create, restore, serve, console set-password). A read
// never makes one, so a mistyped --data-dir is an error, not a new empty store.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './command';

const HOW_TO_START = 'create one with `ampule serve` or `ampule workspace create`, or give the right --data-dir (or AMPULE_DATA_DIR)';

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * What the command needs: 'store' a data directory with its control database (anything that opens
 * the keys), 'folder' the folder only (the console's credentials file may come before the first
 * start), 'new' nothing yet (it is made), but not a file in the way.
 */
export type DataDirNeed = 'store' | 'folder' | 'new';

/** Throws CliError when `dataDir` cannot be used; other file-system errors (EACCES, ENOTDIR) pass through. */
export function checkDataDir(dataDir: string, need: DataDirNeed): void {
  const create = need === 'new';
  let isDir: boolean;
  try {
    isDir = statSync(dataDir).isDirectory();
  } catch (e) {
    if (errno(e) !== 'ENOENT') throw e;
    if (create) return;
    throw new CliError(`no Ampule data directory at ${dataDir}; ${HOW_TO_START}`);
  }
  if (!isDir) throw new CliError(`the data directory ${dataDir} is a file, not a folder: give --data-dir the folder Ampule keeps its data in (or a path where one can be made)`);
  if (need !== 'store') return;
  try {
    statSync(join(dataDir, 'control.db'));
  } catch (e) {
    if (errno(e) !== 'ENOENT') throw e;
    throw new CliError(`${dataDir} is not an Ampule data directory (it has no control.db); ${HOW_TO_START}`);
  }
}
