// The built `ampule` command as separate processes: `node bin/ampule.mjs …`, and `serve` waited for
// until it listens. ensureBuilt() rebuilds dist/ only when a source file is newer, under a lock so
// test files running side by side do not write the bundle at the same time.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnServe } from '../../serve-process';

export const ROOT = join(import.meta.dirname, '..', '..', '..');
const BUNDLE = join(ROOT, 'dist', 'cli.mjs');
const LOCK = join(ROOT, 'dist', '.build-lock');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : e.name.endsWith('.ts') ? statSync(p).mtimeMs : 0);
  }
  return newest;
}

function fresh(): boolean {
  try {
    return statSync(BUNDLE).mtimeMs >= Math.max(newestSource(join(ROOT, 'main')), newestSource(join(ROOT, 'shared')));
  } catch {
    return false;
  }
}

export function ensureBuilt(): void {
  if (fresh()) return;
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${LOCK} held for 2 minutes: remove it if no build runs`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (!fresh()) execFileSync(process.execPath, ['build/build.mjs'], { cwd: ROOT, stdio: 'pipe' });
  } finally {
    rmdirSync(LOCK);
  }
}

export interface BinResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node bin/ampule.mjs ARGS` to the end. `opts.cwd` defaults to the repository. */
export function ampule(args: readonly string[], opts: SpawnOptions & { input?: string } = {}): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'ampule.mjs'), ...args], { cwd: ROOT, ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (c: Buffer) => (stdout += c));
    p.stderr!.on('data', (c: Buffer) => (stderr += c));
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stdout, stderr }));
    p.stdin!.end(opts.input ?? '');
  });
}

export interface BinServe {
  readonly process: ChildProcess;
  readonly port: number;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | string>;
}

/** `node bin/ampule.mjs serve --port 0 …`, resolved once it prints its URL. */
export async function startBinServe(dataDir: string, env: NodeJS.ProcessEnv): Promise<BinServe> {
  const serve = await spawnServe([join(ROOT, 'bin', 'ampule.mjs'), 'serve', '--data-dir', dataDir, '--port', '0'], { cwd: ROOT, env });
  return {
    process: serve.process,
    port: serve.port,
    stop: () => {
      serve.process.kill('SIGTERM');
      return serve.exited;
    },
  };
}
