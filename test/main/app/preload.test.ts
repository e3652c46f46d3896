// Loads the preload bundled exactly as build/build.mjs bundles it, in a fresh V8 context with a
// sandbox-like `require` that knows only 'electron' — served by a named fake (FakeElectronForPreload),
// since no Electron runtime exists here. Checks what the page would get as window.ampule.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_METHODS } from '../../../shared/api';
import { ipcChannel } from '../../../main/app/channels';

/** Stands in for require('electron') inside a sandboxed preload: records what the preload does. */
class FakeElectronForPreload {
  readonly exposed = new Map<string, unknown>();
  readonly invoked: { channel: string; args: unknown[] }[] = [];
  readonly contextBridge = {
    exposeInMainWorld: (key: string, api: unknown) => void this.exposed.set(key, api),
  };
  readonly ipcRenderer = {
    invoke: (channel: string, ...args: unknown[]) => {
      this.invoked.push({ channel, args });
      return Promise.resolve({ ok: true, value: channel });
    },
    send: () => { throw new Error('the preload must not use send'); },
    on: () => { throw new Error('the preload must not listen'); },
  };
}

const dir = mkdtempSync(join(tmpdir(), 'ampule-preload-'));
const fake = new FakeElectronForPreload();
const required: string[] = [];
let code = '';

beforeAll(async () => {
  const outfile = join(dir, 'preload.cjs');
  await build({ entryPoints: ['main/app/preload.ts'], outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['electron'], logLevel: 'silent' });
  code = readFileSync(outfile, 'utf8');
  const module = { exports: {} };
  const sandboxRequire = (name: string) => {
    required.push(name);
    if (name === 'electron') return fake;
    throw new Error(`module not found in a sandboxed preload: ${name}`);
  };
  runInNewContext(code, { require: sandboxRequire, module, exports: module.exports });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('preload', () => {
  it('requires nothing but electron (a sandboxed preload can load nothing else)', () => {
    expect(required).toEqual(['electron']);
    expect(code).not.toMatch(/require\(["'](?!electron["'])/);
  });

  it('exposes exactly one object, window.ampule, frozen', () => {
    expect([...fake.exposed.keys()]).toEqual(['ampule']);
    expect(Object.isFrozen(fake.exposed.get('ampule'))).toBe(true);
  });

  it('has exactly the contract methods, each a function, and nothing else', () => {
    const api = fake.exposed.get('ampule') as Record<string, unknown>;
    expect(Object.keys(api).sort()).toEqual([...API_METHODS].sort());
    for (const m of API_METHODS) expect(typeof api[m], m).toBe('function');
    expect(Object.values(api).some((v) => v === fake.ipcRenderer || v === fake.ipcRenderer.invoke)).toBe(false);
  });

  it('each method invokes its own channel with its arguments and answers the envelope', async () => {
    const api = fake.exposed.get('ampule') as Record<string, (...a: unknown[]) => Promise<unknown>>;
    fake.invoked.length = 0;
    for (const m of API_METHODS) expect(await api[m]!('a', 2), m).toEqual({ ok: true, value: ipcChannel(m) });
    expect(fake.invoked.map((c) => c.channel)).toEqual(API_METHODS.map(ipcChannel));
    expect(fake.invoked.every((c) => c.args.length === 2 && c.args[0] === 'a' && c.args[1] === 2)).toBe(true);
  });
});
