// `npm test`: every test, strictly. Checks that the system packages the server tests need are
// there (else fails naming the apt-get line), runs itself inside a private keychain session
// (build/ci/with-keychain.sh) when no Secret Service is reachable, then lint, type checks, build
// and vitest. It fails when a test was skipped for any reason but a missing Electron runtime.
// Arguments go to vitest (`npm test -- test/main/crypto` runs a subset, still strictly).
// Escape hatch: AMPULE_TEST_UNIT_ONLY=1 skips the package and keychain checks and allows skips
// (a machine without the Debian packages); it says so at the end and is never what CI runs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const args = process.argv.slice(2);
const unitOnly = process.env.AMPULE_TEST_UNIT_ONLY === '1';
const say = (line) => process.stderr.write(`npm test: ${line}\n`);

/** Executables the server tests use, and the Debian package of each. */
const REQUIRED = [
  ['dbus-run-session', 'dbus'],
  ['dbus-daemon', 'dbus'],
  ['gnome-keyring-daemon', 'gnome-keyring'],
  ['gdbus', 'libglib2.0-bin'],
  ['prometheus', 'prometheus'],
  ['promtool', 'prometheus'],
  ['prometheus-alertmanager', 'prometheus-alertmanager'],
  ['victoria-metrics', 'victoria-metrics'],
  ['perl', 'perl'],
  ['/usr/bin/chromium', 'chromium'],
  ['openssl', 'openssl'],
];

function missingPackages(path = process.env.PATH ?? '') {
  const found = (tool) => (tool.startsWith('/') ? existsSync(tool) : path.split(delimiter).some((d) => d && existsSync(join(d, tool))));
  return [...new Set(REQUIRED.filter(([tool]) => !found(tool)).map(([, pkg]) => pkg))];
}

/** Why the session's Secret Service cannot hold a key, or null when it answers. */
function keychainProblem() {
  if (!process.env.DBUS_SESSION_BUS_ADDRESS) return 'no D-Bus session bus';
  const probe = spawnSync(
    process.execPath,
    ['-e', "new (require('@napi-rs/keyring').Entry)('AmpuleTestProbe', 'probe', { linux: { store: 'secret-service' } }).getPassword()"],
    { cwd: root, encoding: 'utf8', timeout: 20_000 },
  );
  return probe.status === 0 ? null : (probe.stderr.split('\n').find((l) => /Error/.test(l))?.trim() ?? `probe exit status ${probe.status}`);
}

function step(label, cmd, argv, env = process.env) {
  const started = Date.now();
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    say(`${label} failed`);
    process.exit(r.status ?? 1);
  }
  say(`${label}: ok (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

if (!unitOnly) {
  const missing = missingPackages();
  if (missing.length) {
    say(`the server and end-to-end tests need Debian packages that are missing: apt-get install -y ${missing.join(' ')}`);
    say('(AMPULE_TEST_UNIT_ONLY=1 npm test runs without them, skipping those tests)');
    process.exit(1);
  }
  const problem = keychainProblem();
  if (problem) {
    if (process.env.AMPULE_KEYCHAIN_SESSION === '1') {
      say(`inside the private keychain session the Secret Service still does not answer (${problem}); check gnome-keyring`);
      process.exit(1);
    }
    say(`no OS keychain reachable (${problem}): running inside a private one (build/ci/with-keychain.sh)`);
    const r = spawnSync(join(root, 'build', 'ci', 'with-keychain.sh'), [process.execPath, fileURLToPath(import.meta.url), ...args], { cwd: root, stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
}

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
step('layer lint', process.execPath, [join(root, 'build', 'check-boundaries.mjs')]);
for (const world of ['main', 'renderer', 'shared', 'test']) step(`type check (${world})`, process.execPath, [tsc, '-p', `tsconfig.${world}.json`]);
step('build', process.execPath, [join(root, 'build', 'build.mjs')]);

const summaryDir = mkdtempSync(join(tmpdir(), 'ampule-test-'));
const summaryFile = join(summaryDir, 'summary.json');
const vitest = spawnSync(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...args], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, AMPULE_TEST_SUMMARY_FILE: summaryFile },
});
const summary = existsSync(summaryFile) ? JSON.parse(readFileSync(summaryFile, 'utf8')) : null;
rmSync(summaryDir, { recursive: true, force: true });
if (vitest.status !== 0 || !summary) process.exit(vitest.status || 1);

// Only the tests that need the Electron runtime may skip (none on machines without it); anything
// else skipped means a test that should have run did not.
const ELECTRON_RUNTIME_TESTS = ['test/e2e/electron.test.ts'];
const needsElectron = (s) => ELECTRON_RUNTIME_TESTS.some((f) => s.name.replaceAll('\\', '/').startsWith(`${f} >`));
const unexpected = summary.skips.filter((s) => !needsElectron(s));
if (unitOnly) {
  say(`AMPULE_TEST_UNIT_ONLY=1: ${summary.skipped} test(s) skipped, ${unexpected.length} of them not Electron ones — this is not a full run`);
} else if (unexpected.length) {
  say(`${unexpected.length} test(s) were skipped although this machine should run them:`);
  for (const s of unexpected) say(`  ${s.name}${s.note ? ` — ${s.note}` : ''}`);
  process.exit(1);
}
say(`${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped (${summary.skipped - unexpected.length} Electron)`);
