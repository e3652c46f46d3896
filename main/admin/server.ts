// Server side of the admin channel: runs forwarded CLI commands against the server's open
// appliance, one connection per command.
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { Appliance } from '../core/appliance';
import { adminChannelAnswers } from './client';
import { adminSocketPath, isAdminRequest, MAX_REQUEST_BYTES, type AdminRequest, type AdminResponse, type StreamFrame } from './channel';
import type { Socket } from 'node:net';

/** `cwd`: the caller's working directory, when it sent one. */
export type CommandRunner = (
  argv: readonly string[],
  io: {
    appliance: Appliance;
    cwd?: string;
    server?: { url(): string | null };
    out(l: string): void;
    err(l: string): void;
    /** Streamed requests only: the caller's stdout (with backpressure) and terminal. */
    stdout?: { write(chunk: string): Promise<void> };
    terminal?: { readonly columns: number; redraw(text: string): void };
    /** Streamed requests only: aborted when the caller goes away. */
    signal?: AbortSignal;
  },
) => Promise<number>;

export interface AdminChannel {
  readonly path: string;
  close(): Promise<void>;
}

export class AdminChannelBusyError extends Error {
  constructor(path: string) {
    super(`another ampule serve is already running on this data directory (its admin channel ${path} answers); stop it first`);
    this.name = 'AdminChannelBusyError';
  }
}

async function runOne(request: AdminRequest, appliance: Appliance, run: CommandRunner): Promise<AdminResponse> {
  const out: string[] = [];
  const err: string[] = [];
  try {
    const status = await run(request.argv, { appliance, ...(request.cwd ? { cwd: request.cwd } : {}), out: (l) => out.push(l), err: (l) => err.push(l) });
    return { status, out, err };
  } catch (e) {
    err.push(`ampule: the server could not run the command: ${e instanceof Error ? e.message : String(e)}`);
    return { status: 1, out, err };
  }
}

/** Runs a command whose output goes back frame by frame as it happens; socket backpressure reaches the command. */
async function runStreamed(request: AdminRequest, socket: Socket, appliance: Appliance, run: CommandRunner): Promise<void> {
  let gone: Error | null = null;
  const left = new AbortController();
  // The caller never ends its side while it waits: an end or a close means it went away (Ctrl-C, `| head`).
  const leave = (): void => {
    gone ??= new Error('the caller went away');
    left.abort();
  };
  socket.on('end', leave);
  socket.on('close', leave);
  const send = (f: StreamFrame): boolean => !gone && socket.write(JSON.stringify(f) + '\n');
  const columns = request.stream?.columns ?? null;
  let status: number;
  try {
    status = await run(request.argv, {
      appliance,
      ...(request.cwd ? { cwd: request.cwd } : {}),
      signal: left.signal,
      out: (l) => void send({ o: l }),
      err: (l) => void send({ e: l }),
      stdout: {
        write: (chunk) =>
          new Promise<void>((resolve, reject) => {
            if (gone) return reject(gone);
            if (send({ d: chunk })) return resolve();
            const done = (): void => {
              socket.off('drain', done);
              socket.off('close', done);
              if (gone) reject(gone);
              else resolve();
            };
            socket.on('drain', done);
            socket.on('close', done);
          }),
      },
      ...(columns ? { terminal: { columns, redraw: (text: string) => void send({ r: text }) } } : {}),
    });
  } catch (e) {
    send({ e: `ampule: the server could not run the command: ${e instanceof Error ? e.message : String(e)}` });
    status = 1;
  }
  if (!gone) socket.end(JSON.stringify({ status }) + '\n');
}

export async function startAdminChannel(appliance: Appliance, run: CommandRunner): Promise<AdminChannel> {
  const path = adminSocketPath(appliance.dataDir);
  if (process.platform !== 'win32' && existsSync(path)) {
    // Left behind by a server that was killed, unless one still answers.
    if (await adminChannelAnswers(appliance.dataDir)) throw new AdminChannelBusyError(path);
    unlinkSync(path);
  }
  // Commands run one at a time, as they would from one terminal.
  let queue: Promise<unknown> = Promise.resolve();
  // allowHalfOpen: the client ends its side after the request; the answer must still go back
  // when the command takes longer than that FIN takes to arrive (certificates, backups).
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    let text = '';
    let answering = false;
    socket.setEncoding('utf8');
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('error', () => {});
    // A client gone before a whole request (a probe: is a server there?) leaves nothing open.
    socket.on('end', () => {
      if (!answering) socket.destroy();
    });
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_REQUEST_BYTES) socket.destroy();
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      answering = true;
      socket.removeAllListeners('data');
      socket.setTimeout(0);
      let request: unknown;
      try {
        request = JSON.parse(text.slice(0, nl));
      } catch {
        request = null;
      }
      if (!isAdminRequest(request)) {
        socket.end(JSON.stringify({ status: 2, out: [], err: ['ampule: malformed admin request'] }) + '\n');
        return;
      }
      if (request.stream) {
        const job = queue.then(() => runStreamed(request, socket, appliance, run));
        queue = job.catch(() => {});
        return;
      }
      const job = queue.then(() => runOne(request, appliance, run));
      queue = job.catch(() => {});
      void job.then((response) => socket.end(JSON.stringify(response) + '\n'));
    });
  });
  const oldMask = process.platform === 'win32' ? null : process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    if (oldMask !== null) process.umask(oldMask);
  }
  if (process.platform !== 'win32') chmodSync(path, 0o600);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}
