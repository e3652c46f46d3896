// Packaging for real with electron-builder (target `dir`, Linux), on a stand-in Electron
// distribution (FakeElectronDist: an executable holding Electron's fuse wire, since the real
// runtime cannot be downloaded here). Checks what the installers would ship: the asar holds the
// bundles but no source maps or CLI, the native addons are unpacked, and the afterPack hook
// flipped the fuses.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const ROOT = join(import.meta.dirname, '..', '..');
const skip =
  process.platform !== 'linux'
    ? `packs the Linux layout only (this is ${process.platform})`
    : !existsSync(join(ROOT, 'dist', 'app', 'main.cjs')) || !existsSync(join(ROOT, 'dist', 'core-worker.mjs'))
      ? 'dist/ missing: run npm run build first'
      : null;
if (skip) console.log(`package test skipped: ${skip}`);

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
function writeFakeElectronDist(dir: string): void {
  mkdirSync(join(dir, 'resources'), { recursive: true });
  writeFileSync(join(dir, 'electron'), Buffer.concat([Buffer.from('#!/bin/sh\nexit 0\n'), Buffer.from(SENTINEL), Buffer.from([1, 8]), Buffer.from('10111100')]), { mode: 0o755 });
  writeFileSync(join(dir, 'version'), `v${(require('electron/package.json') as { version: string }).version}`);
  writeFileSync(join(dir, 'LICENSE'), 'stand-in');
}

describe.skipIf(skip !== null)('electron-builder packaging (stand-in Electron)', () => {
  const work = mkdtempSync(join(tmpdir(), 'ampule-pack-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('packs the app, unpacks native modules and flips the fuses', async () => {
    const { stageApp } = (await import(join(ROOT, 'build', 'electron-app.mjs'))) as { stageApp(o: { dir: string }): string };
    const app = stageApp({ dir: join(work, 'app') });
    const fake = join(work, 'electron-dist');
    writeFakeElectronDist(fake);
    const { build } = (await import('electron-builder')) as typeof import('electron-builder');
    const config = require(join(ROOT, 'build', 'electron-builder.cjs')) as Record<string, unknown>;
    const out = join(work, 'out');
    await build({
      projectDir: ROOT,
      publish: 'never',
      linux: ['dir'],
      config: { ...config, electronDist: fake, directories: { app, output: out, buildResources: join(ROOT, 'build') } },
    });
    const unpacked = join(out, 'linux-unpacked');

    const asar = require('@electron/asar') as { listPackage(p: string, o: object): string[]; extractFile(p: string, f: string): Buffer };
    const files = asar.listPackage(join(unpacked, 'resources', 'app.asar'), {}).map((f) => f.replaceAll('\\', '/'));
    for (const f of ['/package.json', '/dist/app/main.cjs', '/dist/app/preload.cjs', '/dist/core-worker.mjs', '/dist/query-worker.mjs', '/dist/self-test-worker.mjs', '/dist/renderer/index.html', '/dist/renderer/app.js'])
      expect(files, f).toContain(f);
    expect(files.filter((f) => f.endsWith('.map') || f.endsWith('cli.mjs') || f.includes('/main/') || f.endsWith('.ts'))).toEqual([]);
    const pkg = JSON.parse(asar.extractFile(join(unpacked, 'resources', 'app.asar'), 'package.json').toString()) as { main: string; devDependencies?: unknown };
    expect(pkg.main).toBe('dist/app/main.cjs');
    expect(pkg.devDependencies).toBeUndefined();

    const natives = join(unpacked, 'resources', 'app.asar.unpacked', 'node_modules');
    expect(existsSync(join(natives, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'))).toBe(true);
    expect(existsSync(join(natives, '@napi-rs', 'keyring'))).toBe(true);
    // Only what runs: no SQLite sources or build leftovers shipped.
    for (const gone of ['deps', 'src', 'build/Release/obj.target', 'build/Release/test_extension.node', 'build/Makefile'])
      expect(existsSync(join(natives, 'better-sqlite3', gone)), gone).toBe(false);

    const { getCurrentFuseWire, FuseV1Options } = require('@electron/fuses') as typeof import('@electron/fuses');
    const wire = await getCurrentFuseWire(join(unpacked, 'ampule'));
    expect(wire[FuseV1Options.RunAsNode]).toBe(48);
    expect(wire[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(48);
    expect(wire[FuseV1Options.EnableNodeCliInspectArguments]).toBe(48);
    expect(wire[FuseV1Options.OnlyLoadAppFromAsar]).toBe(49);
    expect(wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(49);
    expect(wire[FuseV1Options.EnableCookieEncryption]).toBe(49);
    expect(readFileSync(join(unpacked, 'ampule')).includes(SENTINEL)).toBe(true);
  });
});
