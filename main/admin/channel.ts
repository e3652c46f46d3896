// The admin channel's address and wire format. While `ampule serve` runs, CLI commands (reads and
// changes alike) are forwarded to it over a local socket only the same OS user can open: a Unix
// socket in the 0700 data directory (itself 0600), or on Windows a named pipe (its default
// security descriptor lets only its creator, administrators and LocalSystem write to it, so no
// other user can send a command).
//
// Protocol: the client writes one JSON line {"v":1,"argv":[…],"cwd":"/abs"}; the server answers
// with one JSON line {"status":n,"out":[…],"err":[…]} and closes. `cwd` (optional) is the caller's
// working directory: relative paths on the command line mean what they mean in the caller's shell.
// A request with `stream` gets its answer as frames while the command runs (see AdminRequest).
import { createHash } from 'node:crypto';
import { isAbsolute, join, resolve } from 'node:path';

export const PROTOCOL_VERSION = 1;
/** A request is a command line: anything larger is not one. */
export const MAX_REQUEST_BYTES = 256 * 1024;

export interface AdminRequest {
  readonly v: number;
  readonly argv: readonly string[];
  readonly cwd?: string;
  /**
   * Set by a command that streams data (`ampule export` to stdout): the answer is then a sequence of
   * JSON lines sent as they happen, each one frame: {"o":line} stdout line, {"e":line} stderr line,
   * {"d":text} stdout data, {"r":text} redraw of the caller's terminal line, and last {"status":n}.
   * `columns` is the width of the caller's stderr terminal, or null when it is not one.
   */
  readonly stream?: { readonly columns: number | null };
}

/** One frame of a streamed answer. */
export type StreamFrame = { readonly o: string } | { readonly e: string } | { readonly d: string } | { readonly r: string } | { readonly status: number };

export interface AdminResponse {
  readonly status: number;
  readonly out: string[];
  readonly err: string[];
}

export function adminSocketPath(dataDir: string, platform = process.platform): string {
  const dir = resolve(dataDir);
  if (platform === 'win32') return `\\\\.\\pipe\\ampule-admin-${createHash('sha256').update(dir.toLowerCase()).digest('hex').slice(0, 24)}`;
  return join(dir, 'admin.sock');
}

export function isAdminRequest(x: unknown): x is AdminRequest {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  const cwdOk = r.cwd === undefined || (typeof r.cwd === 'string' && r.cwd.length <= 4096 && isAbsolute(r.cwd));
  const st = r.stream as Record<string, unknown> | undefined;
  const streamOk = st === undefined || (typeof st === 'object' && st !== null && (st.columns === null || (Number.isInteger(st.columns) && (st.columns as number) > 0 && (st.columns as number) < 10_000)));
  return r.v === PROTOCOL_VERSION && Array.isArray(r.argv) && r.argv.length <= 256 && r.argv.every((a) => typeof a === 'string') && cwdOk && streamOk;
}

export function isAdminResponse(x: unknown): x is AdminResponse {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  const lines = (v: unknown) => Array.isArray(v) && v.every((l) => typeof l === 'string');
  return Number.isInteger(r.status) && lines(r.out) && lines(r.err);
}
