// `npm run dist [-- --linux|--mac|--win]`: builds the desktop installers with electron-builder.
// Steps: bundle (build/build.mjs) → stage the app with only its native runtime dependencies
// (out/electron-app) → rebuild those for Electron's ABI there → electron-builder packs, the
// afterPack hook flips the fuses → installers in out/installers. Where Electron's runtime or
// headers cannot be downloaded, it says so and how to provide them, and exits 1.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { offlineExplanation, rebuildForElectron, root, stageApp } from './electron-app.mjs';

const require = createRequire(import.meta.url);

function fail(step, error) {
  const why = offlineExplanation(error);
  console.error(`dist: ${step} failed: ${error?.message ?? error}`);
  if (why) console.error(`\n${why}`);
  process.exit(1);
}

const args = process.argv.slice(2);
const platforms = { '--linux': 'linux', '--mac': 'mac', '--win': 'win' };
const unknown = args.filter((a) => !(a in platforms));
if (unknown.length) {
  console.error(`dist: unknown option ${unknown.join(' ')}; use --linux, --mac or --win (default: this platform)`);
  process.exit(2);
}

const built = spawnSync(process.execPath, [join(root, 'build', 'build.mjs')], { stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);

try {
  console.log(`dist: staging the app in ${stageApp()}`);
} catch (e) {
  fail('staging', e);
}
try {
  await rebuildForElectron();
  console.log('dist: native modules rebuilt for Electron');
} catch (e) {
  fail('rebuilding better-sqlite3 for Electron', e);
}

const { build } = await import('electron-builder');
const config = require('./electron-builder.cjs');
const targets = Object.fromEntries(args.map((a) => [platforms[a], []]));
try {
  const files = await build({ projectDir: root, config, publish: 'never', ...targets });
  console.log(`dist: built\n  ${files.join('\n  ')}`);
} catch (e) {
  fail('electron-builder', e);
}
