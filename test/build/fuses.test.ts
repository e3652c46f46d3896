// The fuses the afterPack hook flips: the configuration it uses, and the hook run for real with
// @electron/fuses on a stand-in binary (FakeElectronBinary: the fuse sentinel and wire as Electron
// lays them out, since no Electron binary exists here). Electron's default wire (RunAsNode and
// the NODE_OPTIONS/--inspect fuses on) must come out the other side hardened.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const { FUSE_VALUES, fuseConfig } = require('../../build/fuses.cjs') as {
  FUSE_VALUES: Record<string, boolean>;
  fuseConfig(platform: string): Record<string, unknown>;
};
const afterPack = require('../../build/after-pack.cjs') as { default(ctx: unknown): Promise<void>; electronBinary(ctx: unknown): string };
const { FuseV1Options, getCurrentFuseWire } = require('@electron/fuses') as typeof import('@electron/fuses');

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
/** A file shaped like an Electron binary around its fuse wire: v1, 8 fuses, Electron's defaults. */
function writeFakeElectronBinary(path: string): void {
  const defaults = '10111100'; // RunAsNode, NODE_OPTIONS, --inspect on; cookie encryption off…
  writeFileSync(path, Buffer.concat([Buffer.alloc(4096, 0x90), Buffer.from(SENTINEL), Buffer.from([1, 8]), Buffer.from(defaults), Buffer.alloc(4096, 0x90)]));
}

const dir = mkdtempSync(join(tmpdir(), 'ampule-fuses-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fuse configuration', () => {
  it('turns off every way to run the binary as something else', () => {
    expect(FUSE_VALUES).toMatchObject({
      RunAsNode: false,
      EnableNodeOptionsEnvironmentVariable: false,
      EnableNodeCliInspectArguments: false,
      EnableEmbeddedAsarIntegrityValidation: true,
      OnlyLoadAppFromAsar: true,
      EnableCookieEncryption: true,
      GrantFileProtocolExtraPrivileges: false,
    });
  });
  it('decides every fuse @electron/fuses knows, strictly', () => {
    const known = Object.keys(FuseV1Options).filter((k) => Number.isNaN(Number(k)));
    expect(Object.keys(FUSE_VALUES).sort()).toEqual(known.sort());
    const config = fuseConfig('linux');
    expect(config.strictlyRequireAllFuses).toBe(true);
    expect(config[FuseV1Options.RunAsNode]).toBe(false);
    expect(config.resetAdHocDarwinSignature).toBe(false);
    expect(fuseConfig('darwin').resetAdHocDarwinSignature).toBe(true);
  });
});

describe('afterPack hook', () => {
  it('finds the binary per platform', () => {
    const packager = { appInfo: { productFilename: 'Ampule' }, executableName: 'ampule' };
    expect(afterPack.electronBinary({ appOutDir: '/o', electronPlatformName: 'linux', packager })).toBe(join('/o', 'ampule'));
    expect(afterPack.electronBinary({ appOutDir: '/o', electronPlatformName: 'win32', packager })).toBe(join('/o', 'Ampule.exe'));
    expect(afterPack.electronBinary({ appOutDir: '/o', electronPlatformName: 'darwin', packager })).toBe(join('/o', 'Ampule.app'));
  });

  it('flips the fuses in the packed binary', async () => {
    const binary = join(dir, 'ampule');
    writeFakeElectronBinary(binary);
    await afterPack.default({ appOutDir: dir, electronPlatformName: 'linux', packager: { appInfo: { productFilename: 'Ampule' }, executableName: 'ampule' } });
    const wire = await getCurrentFuseWire(binary);
    const ON = 49;
    const OFF = 48;
    for (const [name, value] of Object.entries(FUSE_VALUES)) {
      expect(wire[FuseV1Options[name as keyof typeof FuseV1Options]], name).toBe(value ? ON : OFF);
    }
    // Nothing but the wire changed.
    expect(readFileSync(binary).length).toBe(4096 + SENTINEL.length + 2 + 8 + 4096);
  });
});
