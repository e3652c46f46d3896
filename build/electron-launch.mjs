// The Electron branch of `npm start`: starts the desktop app when an Electron runtime and a
// display are available; otherwise returns why not, so build/start.mjs falls back to the headless
// server and web console. The app runs from the staged folder (build/electron-app.mjs), whose
// better-sqlite3 is built for Electron, so the repository's Node build stays as it is.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { nativeModulesReady, offlineExplanation, rebuildForElectron, root, stageApp, stageDir } from './electron-app.mjs';

const require = createRequire(import.meta.url);

/**
 * The Electron binary, or why there is none. electron 45+ installs no runtime: it downloads it at
 * first use. With `download`, we do that ourselves (npm start, only when a window can be shown), quietly, so an
 * offline machine gets one line of explanation instead of a stack trace.
 */
export function findElectron({ download = false } = {}) {
  const pkg = join(root, 'node_modules', 'electron');
  if (!existsSync(join(pkg, 'package.json'))) return { reason: 'the electron package is not installed (run `npm install`)' };
  if (!process.env.ELECTRON_OVERRIDE_DIST_PATH && !existsSync(join(pkg, 'path.txt'))) {
    if (!download) return { reason: 'the Electron runtime is not downloaded yet (electron 45+ fetches it at first start: `npm start` on a machine with a display, or `npx install-electron`)' };
    console.error('npm start: downloading the Electron runtime (first start)…');
    const got = spawnSync(process.execPath, [join(pkg, 'install.js')], { encoding: 'utf8', timeout: 10 * 60_000 });
    if (got.status !== 0) {
      const why = `${got.stderr ?? ''}${got.error?.message ?? ''}`.split('\n').find((l) => /Error|failed/i.test(l))?.trim() ?? `exit status ${got.status}`;
      return { reason: `the Electron runtime could not be downloaded (${why}); run \`npx install-electron\` once online, or point ELECTRON_OVERRIDE_DIST_PATH at an unpacked Electron` };
    }
  }
  let path;
  try {
    // The electron package exports its binary's path (ELECTRON_OVERRIDE_DIST_PATH is honoured).
    path = require('electron');
  } catch (e) {
    return { reason: `no Electron runtime (${e.message.split('\n')[0]}); point ELECTRON_OVERRIDE_DIST_PATH at an unpacked Electron` };
  }
  if (typeof path !== 'string' || !existsSync(path)) return { reason: `the Electron binary ${path} does not exist; set ELECTRON_OVERRIDE_DIST_PATH to an unpacked Electron` };
  return { path };
}

/** Why no window can be shown, or null when one can. */
export function noDisplayReason(env = process.env, platform = process.platform) {
  if (platform === 'linux' && !env.DISPLAY && !env.WAYLAND_DISPLAY) return 'no display (neither DISPLAY nor WAYLAND_DISPLAY is set)';
  return null;
}

/**
 * Starts the desktop app and resolves with its child process, or resolves { reason } when it
 * cannot (no Electron, no display, native modules not buildable for Electron here).
 */
export async function startDesktop({ args = [], env = process.env } = {}) {
  // No display: the server, without downloading a runtime that could not show a window anyway.
  const display = noDisplayReason(env);
  if (display) return { reason: display };
  const electron = findElectron({ download: true });
  if (electron.reason) return { reason: electron.reason };
  if (!existsSync(join(root, 'dist', 'app', 'main.cjs')) || !existsSync(join(root, 'dist', 'core-worker.mjs'))) {
    const built = spawnSync(process.execPath, [join(root, 'build', 'build.mjs')], { stdio: 'inherit', cwd: root });
    if (built.status !== 0) return { reason: 'the build failed (see above)' };
  }
  try {
    stageApp({ keepNativeModules: true });
    if (!nativeModulesReady()) await rebuildForElectron();
  } catch (e) {
    return { reason: offlineExplanation(e) ?? `preparing the desktop app failed: ${e.message}` };
  }
  const child = spawn(electron.path, [stageDir, ...args], { stdio: 'inherit', env, cwd: root });
  return { child };
}
