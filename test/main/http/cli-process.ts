// `ampule` as separate processes for the tests that need a real server process (kill -9, signals,
// the admin channel, Prometheus): run a command, or start `ampule serve` and wait for its URL.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, 'fixtures', 'ampule-cli.ts');
const ROOT = join(import.meta.dirname, '..', '..', '..');

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c));
    p.stderr.on('data', (c: Buffer) => (stderr += c));
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export interface ServeProcess {
  readonly process: ChildProcess;
  readonly port: number;
  readonly caFingerprint: string;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
}

/** Starts `ampule serve --port 0` and waits for its "listening on" line. */
export function startServe(dataDir: string, env: NodeJS.ProcessEnv, extra: readonly string[] = []): Promise<ServeProcess> {
  const p = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--data-dir', dataDir, '--port', '0', ...extra], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
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
      const m = /listening on https:\/\/localhost:(\d+) .*CA SHA-256 ([0-9A-F:]+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve({ process: p, port: Number(m[1]), caFingerprint: m[2]!, stderr: () => stderr, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`ampule serve exited (${code}) before listening: ${stderr}`));
    });
  });
}
