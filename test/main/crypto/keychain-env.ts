// Test helpers for the real OS keychain: unique service names, cleanup, private D-Bus sessions
// (none / bare bus / never-unlocked / unlocked gnome-keyring) and a child-process runner.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Entry, findCredentials } from '@napi-rs/keyring';
import { buildSync } from 'esbuild';

/** Why keychain tests cannot run here, or null when the session keychain is reachable. */
export const noKeychainReason: string | null = process.env.DBUS_SESSION_BUS_ADDRESS
  ? null
  : 'no DBUS_SESSION_BUS_ADDRESS: run inside build/ci/with-keychain.sh (or `source /tmp/ampule-dbus.env`)';
/** Appended to the name of a suite that skips without a keychain, so its output says why. */
export const keychainSkipNote = noKeychainReason ? ` (skipped: ${noKeychainReason})` : '';

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
export const noPrivateBusReason: string | null = ['dbus-daemon', 'gnome-keyring-daemon', 'gdbus'].every(has)
  ? null
  : 'dbus-daemon, gnome-keyring-daemon or gdbus missing: apt-get install dbus gnome-keyring libglib2.0-bin';

export function uniqueService(): string {
  return `AmpuleTest-${randomUUID()}`;
}

/** Deletes every entry of `service` in the keychain reachable from this process. */
export function removeService(service: string): void {
  for (const c of findCredentials(service)) new Entry(service, c.account, { linux: { store: 'secret-service' } }).deleteCredential();
}

export interface PrivateBus {
  readonly env: NodeJS.ProcessEnv;
  /** Locks the login keyring (as a screen lock would). */
  lock(): void;
  stop(): void;
}

/** A D-Bus session of our own, with no Secret Service, a never-unlocked one, or an unlocked one. */
export function privateBus(secrets: 'none' | 'never-unlocked' | 'unlocked'): PrivateBus {
  const dir = mkdtempSync(join(tmpdir(), 'ampule-bus-'));
  const conf = join(dir, 'bus.conf');
  // No <servicedir>: nothing is auto-started, so "no Secret Service" stays true.
  writeFileSync(
    conf,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:dir=${dir}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>`,
  );
  const started = spawnSync('dbus-daemon', [`--config-file=${conf}`, '--print-address=1', '--print-pid=1', '--fork'], { encoding: 'utf8' });
  const [address, pid] = started.stdout.trim().split('\n');
  if (!address || !pid) throw new Error(`dbus-daemon did not start: ${started.stderr}`);
  const env: NodeJS.ProcessEnv = { ...process.env, DBUS_SESSION_BUS_ADDRESS: address, XDG_DATA_HOME: join(dir, 'data'), XDG_RUNTIME_DIR: dir };
  if (secrets === 'unlocked') spawnSync('gnome-keyring-daemon', ['--unlock', '--components=secrets'], { input: 'ampule-test-pw', env });
  if (secrets === 'never-unlocked') spawnSync('gnome-keyring-daemon', ['--start', '--components=secrets'], { env, stdio: 'ignore' });
  return {
    env,
    lock() {
      const r = spawnSync(
        'gdbus',
        ['call', '--session', '--dest', 'org.freedesktop.secrets', '--object-path', '/org/freedesktop/secrets', '--method', 'org.freedesktop.Secret.Service.Lock', "['/org/freedesktop/secrets/collection/login']"],
        { env, encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`could not lock the keyring: ${r.stderr}`);
    },
    stop() {
      // gnome-keyring-daemon exits when its bus goes away.
      try {
        process.kill(Number(pid));
      } catch {
        /* already gone */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const CHILD_SOURCE = join(import.meta.dirname, 'fixtures', 'keychain-child.ts');
let childBundle: string | null = null;

/**
 * Bundles the child once per test file (esbuild, ~0.1 s) so each child starts in plain Node
 * instead of paying tsx's start-up; kept under node_modules so it resolves the native packages.
 */
function childScript(): string {
  if (!childBundle) {
    const out = join(import.meta.dirname, '../../../node_modules/.cache/ampule-test', `keychain-child-${process.pid}.mjs`);
    buildSync({
      entryPoints: [CHILD_SOURCE],
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: ['better-sqlite3', '@napi-rs/keyring'],
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
      logLevel: 'error',
    });
    childBundle = out;
  }
  return childBundle;
}

/** Call in afterAll of a file that used runChild. */
export function removeChildBundle(): void {
  if (childBundle) rmSync(childBundle, { force: true });
  childBundle = null;
}

export interface ChildResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The child's last stdout line, parsed. */
  readonly result: { ok: boolean; kind?: string; message?: string; [k: string]: unknown } | null;
  readonly stderr: string;
}

/** Runs fixtures/keychain-child.ts (bundled) in a fresh Node process with `env`. */
export function runChild(args: string[], env: NodeJS.ProcessEnv = process.env): ChildResult {
  const r = spawnSync(process.execPath, [childScript(), ...args], { env, encoding: 'utf8', timeout: 30_000 });
  const last = r.stdout.trim().split('\n').pop();
  return { status: r.status, signal: r.signal, result: last ? JSON.parse(last) : null, stderr: r.stderr };
}

export function withoutBus(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.DBUS_SESSION_BUS_ADDRESS;
  return env;
}

/** runChild without blocking, so several children can race. */
export function runChildAsync(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [childScript(), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status, signal) => {
      const last = stdout.trim().split('\n').pop();
      resolvePromise({ status, signal, result: last ? JSON.parse(last) : null, stderr });
    });
  });
}
