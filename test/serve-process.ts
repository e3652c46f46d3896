// `ampule serve` as a separate process, for the tests that need a real server process (kill -9,
// signals, the admin channel, Prometheus): resolved once it prints its "listening on" line.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ServeProcess {
  readonly process: ChildProcess;
  readonly port: number;
  /** From the "listening on" line; null with a user-supplied certificate. */
  readonly caFingerprint: string | null;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
}

/** Runs `node …argv` (a `serve` command line) and waits up to 30 s for its URL. */
export function spawnServe(argv: readonly string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<ServeProcess> {
  const p = spawn(process.execPath, argv, { cwd: opts.cwd, ...(opts.env ? { env: opts.env } : {}), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stderr!.on('data', (c: Buffer) => (stderr += c));
  const exited = new Promise<number | string>((resolve) => p.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`ampule serve did not start within 30 s: ${stderr}`));
    }, 30_000);
    p.stdout!.on('data', (c: Buffer) => {
      stdout += c;
      const m = /listening on https:\/\/localhost:(\d+)(.*)\n/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve({ process: p, port: Number(m[1]), caFingerprint: /CA SHA-256 ([0-9A-F:]+)/.exec(m[2]!)?.[1] ?? null, stderr: () => stderr, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`ampule serve exited (${code}) before listening: ${stderr}`));
    });
  });
}
