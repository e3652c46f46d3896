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

/** The Electron binary, or why there is none. */
export function findElectron() {
  let path;
  try {
    // The electron package exports its binary's path (ELECTRON_OVERRIDE_DIST_PATH is honoured).
    path = require('electron');
  } catch (e) {
    return { reason: `no Electron runtime installed (${e.message.split('\n')[0]}); it is downloaded on install unless ELECTRON_SKIP_BINARY_DOWNLOAD is set, or point ELECTRON_OVERRIDE_DIST_PATH at one` };
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
  const electron = findElectron();
  if (electron.reason) return { reason: electron.reason };
  const display = noDisplayReason(env);
  if (display) return { reason: display };
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
