// A real `ampule serve` for the Chromium tests of the web console: its own data directory and
// keychain entry, a console password, a random free port; stopped by its own PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { noKeychainReason, removeService, uniqueService } from '../main/crypto/keychain-env';

export const ROOT = join(import.meta.dirname, '..', '..');
export const RESULTS = join(ROOT, 'test-results');
const BIN = join(ROOT, 'bin', 'ampule.mjs');
const CHROMIUM = '/usr/bin/chromium';

/** Why the console's Chromium tests cannot run here, or null. */
export const consoleSkipReason: string | null =
  noKeychainReason ??
  (!existsSync(CHROMIUM)
    ? `${CHROMIUM} missing: apt-get install chromium`
    : !existsSync(join(ROOT, 'dist', 'cli.mjs')) || !existsSync(join(ROOT, 'dist', 'renderer', 'app.js'))
      ? 'dist/ missing: run npm run build first'
      : null);

export interface ConsoleServer {
  readonly baseUrl: string;
  readonly dataDir: string;
  cli(...args: string[]): ReturnType<typeof spawnSync>;
  stop(): Promise<void>;
}

/** Sets the console password (and runs `before` for more CLI set-up), then starts the server. */
export async function startConsoleServer(password: string, prefix: string, before: (cli: ConsoleServer['cli']) => void = () => {}): Promise<ConsoleServer> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const service = uniqueService();
  const env = { ...process.env, AMPULE_KEYCHAIN_SERVICE: service, AMPULE_CONSOLE_PASSWORD: password };
  const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args, '--data-dir', dataDir], { env, encoding: 'utf8', timeout: 30_000 });
  const pw = cli('console', 'set-password');
  if (pw.status !== 0) throw new Error(`console set-password failed: ${pw.stderr}`);
  before(cli);
  const server: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data-dir', dataDir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`ampule serve did not start: ${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (https:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    server.stdout!.on('data', onData);
    server.stderr!.on('data', onData);
    server.once('exit', (code) => reject(new Error(`ampule serve exited ${code}: ${out}`)));
  });
  return {
    baseUrl,
    dataDir,
    cli,
    async stop() {
      if (server.exitCode === null) {
        const exited = new Promise((r) => server.once('exit', r));
        server.kill('SIGTERM');
        await exited;
      }
      removeService(service);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--disable-component-update', '--no-first-run'],
  });
}
