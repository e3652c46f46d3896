// Client side of the admin channel: the CLI's forwarder. Returns null (run the command locally)
// when no server listens for this data directory.
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { adminSocketPath, isAdminResponse, PROTOCOL_VERSION, type AdminResponse, type StreamFrame } from './channel';

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

/** Where a streamed answer goes on the caller's side. */
export interface StreamTarget {
  out(line: string): void;
  err(line: string): void;
  stdout?: { write(chunk: string): Promise<void> };
  terminal?: { readonly columns: number; redraw(text: string): void };
}

/**
 * Like forwardToRunningServer for a command that streams (`ampule export`): frames are handled as
 * they arrive, and the socket is paused while the caller's stdout drains, so a slow reader slows the
 * server's export instead of filling memory. Resolves to the exit status, or null when no server runs.
 */
export function forwardStreaming(argv: readonly string[], dataDir: string, to: StreamTarget, cwd = process.cwd()): Promise<number | null> {
  const path = adminSocketPath(dataDir);
  if (process.platform !== 'win32' && !existsSync(path)) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let connected = false;
    let text = '';
    let status: number | null = null;
    let writing: Promise<void> = Promise.resolve();
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(JSON.stringify({ v: PROTOCOL_VERSION, argv, cwd, stream: { columns: to.terminal?.columns ?? null } }) + '\n');
    });
    const handle = (f: StreamFrame): void => {
      if ('d' in f) {
        if (!to.stdout) return;
        socket.pause();
        writing = writing.then(() => to.stdout!.write(f.d)).then(
          () => {
            socket.resume();
          },
          (e: unknown) => {
            socket.destroy(e as Error);
          },
        );
      } else if ('o' in f) to.out(f.o);
      else if ('e' in f) to.err(f.e);
      else if ('r' in f) to.terminal?.redraw(f.r);
      else if ('status' in f) status = f.status;
    };
    socket.on('data', (chunk: string) => {
      text += chunk;
      let nl: number;
      while ((nl = text.indexOf('\n')) >= 0) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        let f: unknown;
        try {
          f = JSON.parse(line);
        } catch {
          return socket.destroy(new AdminChannelError('the running ampule serve sent an unreadable frame over the admin channel'));
        }
        if (typeof f === 'object' && f !== null) handle(f as StreamFrame);
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected && (e.code === 'ECONNREFUSED' || e.code === 'ENOENT')) resolve(null);
      else reject(e instanceof AdminChannelError || e.code === 'EPIPE' ? e : new AdminChannelError(`the admin channel of the running ampule serve failed: ${e.message}`));
    });
    socket.on('end', () => {
      void writing.then(() => {
        if (status === null) reject(new AdminChannelError('the running ampule serve ended the command without an exit status'));
        else resolve(status);
      }, reject);
    });
  });
}
