// `ampule` as separate processes for the tests that need a real server process (kill -9, signals,
// the admin channel, Prometheus): run a command, or start `ampule serve` and wait for its URL.
import { spawn } from 'node:child_process';
import { spawnServe, type ServeProcess } from '../../serve-process';

export type { ServeProcess };
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


/** Starts `ampule serve --port 0` from the TypeScript source and waits for its "listening on" line. */
export async function startServe(dataDir: string, env: NodeJS.ProcessEnv, extra: readonly string[] = []): Promise<ServeProcess & { readonly caFingerprint: string }> {
  const serve = await spawnServe(['--import', 'tsx', CLI, 'serve', '--data-dir', dataDir, '--port', '0', ...extra], { cwd: ROOT, env });
  if (!serve.caFingerprint) throw new Error('ampule serve printed no CA fingerprint');
  return { ...serve, caFingerprint: serve.caFingerprint };
}
