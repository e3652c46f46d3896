// Client side of the admin channel: the CLI's forwarder. Returns null (run the command locally)
// when no server listens for this data directory.
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { adminSocketPath, isAdminResponse, PROTOCOL_VERSION, type AdminResponse } from './channel';

export class AdminChannelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminChannelError';
  }
}

/** Generous: a forwarded command may rotate keys of many workspaces. */
const RESPONSE_TIMEOUT_MS = 120_000;

export function forwardToRunningServer(argv: readonly string[], dataDir: string, cwd = process.cwd()): Promise<AdminResponse | null> {
  const path = adminSocketPath(dataDir);
  if (process.platform !== 'win32' && !existsSync(path)) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let connected = false;
    let text = '';
    socket.setEncoding('utf8');
    socket.setTimeout(RESPONSE_TIMEOUT_MS, () => socket.destroy(new AdminChannelError(`the running ampule serve did not answer within ${RESPONSE_TIMEOUT_MS / 1000} s`)));
    socket.on('connect', () => {
      connected = true;
      socket.end(JSON.stringify({ v: PROTOCOL_VERSION, argv, cwd }) + '\n');
    });
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      // A socket left behind by a server that died, or no pipe: nobody is serving; run locally.
      if (!connected && (e.code === 'ECONNREFUSED' || e.code === 'ENOENT')) resolve(null);
      else reject(e instanceof AdminChannelError ? e : new AdminChannelError(`the admin channel of the running ampule serve failed: ${e.message}`));
    });
    socket.on('end', () => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
      if (isAdminResponse(parsed)) resolve(parsed);
      else reject(new AdminChannelError('the running ampule serve sent an unreadable answer over the admin channel'));
    });
  });
}

/** True when something accepts connections on the admin socket of `dataDir`. */
export function adminChannelAnswers(dataDir: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(adminSocketPath(dataDir));
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
