// Node's file-system errors ("EACCES: permission denied, mkdir '/x'") in words a user can act on:
// what is wrong with which path, and what to do. Anything else returns null (printed as it is).
import { statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The first ancestor of `p` (or `p` itself) that is a file rather than a folder. */
function fileInTheWay(p: string): string | null {
  for (let dir = resolve(p); ; dir = dirname(dir)) {
    try {
      if (!statSync(dir).isDirectory()) return dir;
    } catch {
      /* missing or unreadable: look further up */
    }
    if (dirname(dir) === dir) return null;
  }
}

function inside(path: string, dir: string): boolean {
  const d = resolve(dir);
  const p = resolve(path);
  return p === d || p.startsWith(d.endsWith(sep) ? d : d + sep);
}

export function explainSystemError(e: unknown, dataDir: string): string | null {
  if (!(e instanceof Error)) return null;
  const { code, path } = e as NodeJS.ErrnoException;
  if (typeof code !== 'string' || typeof path !== 'string') return null;
  const inDataDir = inside(path, dataDir);
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return inDataDir
        ? `cannot use the data directory ${dataDir}: permission denied on ${path} (it belongs to another user, or its permissions shut you out). Run as the user who owns it, or use a data directory of your own with --data-dir or AMPULE_DATA_DIR.`
        : `cannot use ${path}: permission denied. Choose a path you may use, or fix its owner or permissions.`;
    case 'ENOENT': {
      const parent = dirname(resolve(path));
      return exists(parent)
        ? `${path} does not exist; check the path.`
        : `cannot use ${path}: the folder ${parent} does not exist. Create it first (mkdir -p ${parent}) or choose another path.`;
    }
    case 'EEXIST':
      return `${path} exists and is not a folder${inDataDir ? ': --data-dir must name a folder (or a path where one can be made)' : '; choose another path'}.`;
    case 'ENOTDIR': {
      const file = fileInTheWay(path);
      return `cannot use ${path}: ${file ? `${file} is a file, not a folder` : 'a part of the path is a file, not a folder'}${inDataDir ? '; give --data-dir a folder' : '; check the path'}.`;
    }
    case 'EISDIR':
      return `${path} is a folder; give a file name.`;
    case 'ENOSPC':
      return `no space left on the device that holds ${path}; free some space and retry.`;
    case 'EROFS':
      return `${path} is on a read-only file system; choose a writable location.`;
    default:
      return null;
  }
}
