// Stages the desktop app for Electron in its own folder (out/electron-app): dist/ plus only the
// native runtime dependencies the bundles leave external, rebuilt there for Electron's ABI.
// The repository's node_modules keep their Node build, so `npm test` and `ampule serve` are
// untouched. Used by `npm run dist` (packaging) and by `npm start` when Electron is available.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const stageDir = join(root, 'out', 'electron-app');

/** Packages the bundles keep external and load at run time (see build/build.mjs). */
export const NATIVE_RUNTIME_DEPENDENCIES = ['better-sqlite3', '@napi-rs/keyring'];
/** Of those, the ones compiled against V8/Node (not N-API), so they need an Electron build. */
export const REBUILD_FOR_ELECTRON = ['better-sqlite3'];

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export function electronVersion() {
  return readJson(join(root, 'node_modules', 'electron', 'package.json')).version;
}

/** A package and everything it needs at run time that is installed here (optional ones only if present). */
function dependencyClosure(names) {
  const found = new Map();
  const visit = (name, fromDir) => {
    let pkgJson;
    try {
      pkgJson = createRequire(join(fromDir, 'noop.js')).resolve(`${name}/package.json`);
    } catch {
      return false;
    }
    const dir = dirname(pkgJson);
    if (found.has(dir)) return true;
    const pkg = readJson(pkgJson);
    found.set(dir, name);
    for (const dep of Object.keys(pkg.dependencies ?? {})) {
      if (!visit(dep, dir)) throw new Error(`electron-app: ${name} needs ${dep}, which is not installed: run npm ci`);
    }
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(dep, dir);
    return true;
  };
  for (const n of names) if (!visit(n, root)) throw new Error(`electron-app: ${n} is not installed: run npm ci`);
  return found;
}

const BUILT_MARK = join(stageDir, '.built-for-electron');

/** Whether the staged native modules were already rebuilt for this Electron. */
export function nativeModulesReady() {
  return existsSync(BUILT_MARK) && readFileSync(BUILT_MARK, 'utf8') === electronVersion();
}

/**
 * Writes out/electron-app: package.json, dist/ (without source maps), the native dependencies.
 * With keepNativeModules, modules already rebuilt for this Electron stay (a fast restage for npm start).
 */
export function stageApp({ keepNativeModules = false, dir = stageDir } = {}) {
  if (!existsSync(join(root, 'dist', 'app', 'main.cjs'))) throw new Error('electron-app: dist/app/main.cjs is missing: run npm run build first');
  const pkg = readJson(join(root, 'package.json'));
  const keep = keepNativeModules && dir === stageDir && nativeModulesReady();
  if (keep) rmSync(join(dir, 'dist'), { recursive: true, force: true });
  else rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const dependencies = Object.fromEntries(NATIVE_RUNTIME_DEPENDENCIES.map((n) => [n, pkg.dependencies[n]]));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify(
      {
        name: pkg.name,
        productName: 'Ampule',
        version: pkg.version,
        description: pkg.description,
        license: pkg.license,
        author: { name: 'Ampule contributors', email: 'ampule@localhost.invalid' },
        main: 'dist/app/main.cjs',
        dependencies,
      },
      null,
      2,
    ),
  );
  cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') && !src.endsWith('cli.mjs') });
  if (keep) return dir;
  for (const [pkgDir] of dependencyClosure(NATIVE_RUNTIME_DEPENDENCIES)) {
    // Nested node_modules are in the closure themselves when needed, copied at their own path.
    cpSync(pkgDir, join(dir, relative(root, pkgDir)), { recursive: true, dereference: true, filter: (src) => src !== join(pkgDir, 'node_modules') });
  }
  return dir;
}

/**
 * Rebuilds the staged V8-API native modules for Electron's ABI (needs Electron's headers, or a
 * prebuilt binary for this Electron, from the internet the first time).
 */
export async function rebuildForElectron(arch = process.arch) {
  const { rebuild } = await import('@electron/rebuild');
  await rebuild({ buildPath: stageDir, electronVersion: electronVersion(), arch, onlyModules: REBUILD_FOR_ELECTRON, force: true, mode: 'sequential' });
  writeFileSync(BUILT_MARK, electronVersion());
}

/** What a build needs from outside the npm registry, and whether this machine has it locally. */
export function electronDownloads() {
  const version = electronVersion();
  const cache = process.env.electron_config_cache ?? join(homedir(), process.platform === 'darwin' ? 'Library/Caches/electron' : process.platform === 'win32' ? 'AppData/Local/electron/Cache' : '.cache/electron');
  const runtime = !!process.env.ELECTRON_OVERRIDE_DIST_PATH || (existsSync(cache) && readdirSync(cache, { recursive: true }).some((f) => String(f).includes(`electron-v${version}-`)));
  const headers = !!process.env.npm_config_nodedir || existsSync(join(homedir(), '.electron-gyp', version, 'include'));
  return { version, cache, runtime, headers };
}

/**
 * Explains a failure caused by this machine not reaching Electron's downloads (runtime zip,
 * headers, prebuilt addons), or returns null when the failure looks like something else.
 */
export function offlineExplanation(error) {
  const text = `${error?.message ?? error}\n${error?.stack ?? ''}\n${error?.cause?.message ?? ''}`;
  const d = electronDownloads();
  const network = /fetch failed|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|getaddrinfo|socket hang up|network|HTTPError|status code 40[34]/i.test(text);
  const rebuild = /node-gyp failed to rebuild|prebuild/i.test(text) && !d.headers;
  if (!network && !rebuild) return null;
  return [
    `Electron ${d.version}'s downloads are not available here (this machine reaches only the npm registry and Debian's packages):`,
    `  runtime for electron-builder: ${d.runtime ? 'found' : `missing (no ELECTRON_OVERRIDE_DIST_PATH, no electron-v${d.version}-*.zip in ${d.cache})`}`,
    `  headers to build better-sqlite3 for Electron: ${d.headers ? 'found' : `missing (no npm_config_nodedir, nothing in ~/.electron-gyp/${d.version})`}`,
    'Provide them locally and run again: ELECTRON_OVERRIDE_DIST_PATH=<unpacked Electron folder>, the zip in the cache above,',
    'npm_config_nodedir=<Electron headers folder> — or run `npm run dist` on a machine with internet access.',
    'The headless server needs none of this: `npm start` falls back to it.',
  ].join('\n');
}
