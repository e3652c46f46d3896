// The passphrase-sealed master key: the sealed file (format, 0600, nothing in clear, header bound),
// a wrong passphrase never making a new key, the headless choice, and the appliance and checklist
// on top of it (real scrypt, real files, real control database).
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openSealedKey, SEAL_KDF, sealedKeyPath, sealedKeySlot, sealKey } from '../../../main/crypto/sealed-key';
import { chooseMasterKey, headlessChoices, type ChoiceInput } from '../../../main/crypto/master-key-choice';
import { KeyStoreError } from '../../../main/crypto/types';
import { newKey } from '../../../main/crypto/master-key';
import { openAppliance } from '../../../main/core/open-appliance';
import { computeChecklist } from '../../../main/checklist/compute';
import { withoutBus } from './keychain-env';

const FAST = { N: 2 ** 14, r: 8, p: 1 }; // the format's floor, for the tests that only check the format
const PASS = 'correct horse battery staple';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ampule-sealed-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function kind(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof KeyStoreError) return e.kind;
    throw e;
  }
  return undefined;
}

describe('sealed key file', () => {
  it('round-trips, is 0600, strong by default and holds no key bytes in clear', () => {
    const key = newKey();
    const slot = sealedKeySlot(join(dir, 'k.sealed'), PASS);
    expect(slot.load()).toBeNull();
    slot.store(key);
    const raw = readFileSync(join(dir, 'k.sealed'));
    expect(statSync(join(dir, 'k.sealed')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(raw.toString())).toMatchObject({ format: 'ampule-sealed-master-key', kdf: 'scrypt', N: SEAL_KDF.N, r: 8, p: 1 });
    expect(SEAL_KDF.N).toBeGreaterThanOrEqual(2 ** 17);
    for (const form of [key, Buffer.from(key.toString('hex')), Buffer.from(key.toString('base64'))]) expect(raw.includes(form)).toBe(false);
    expect(slot.load()!.equals(key)).toBe(true);
  });

  it('refuses a wrong passphrase, a tampered file and a weakened header', () => {
    const key = newKey();
    const text = sealKey(key, PASS, FAST);
    expect(openSealedKey(text, PASS, 'f').equals(key)).toBe(true);
    expect(kind(() => openSealedKey(text, 'not the passphrase', 'f'))).toBe('wrong_passphrase');
    const f = JSON.parse(text) as { sealed: string; N: number; r: number };
    const flipped = Buffer.from(f.sealed, 'base64');
    flipped[flipped.length - 1]! ^= 1;
    expect(kind(() => openSealedKey(JSON.stringify({ ...f, sealed: flipped.toString('base64') }), PASS, 'f'))).toBe('wrong_passphrase');
    // A header changed to cheaper parameters is bound by the AAD (and the floor refuses N < 2^14).
    expect(kind(() => openSealedKey(JSON.stringify({ ...f, r: 9 }), PASS, 'f'))).toBe('wrong_passphrase');
    expect(kind(() => openSealedKey(JSON.stringify({ ...f, N: 2 ** 10 }), PASS, 'f'))).toBe('file_invalid');
    expect(kind(() => openSealedKey('not json', PASS, 'f'))).toBe('file_invalid');
  });
});

describe('appliance with a passphrase-sealed master key', () => {
  it('creates the key once, reopens it, names it in the checklist, and never replaces it on a wrong passphrase', async () => {
    const dataDir = join(dir, 'data');
    const a = await openAppliance({ dataDir, masterKeyPassphrase: PASS });
    const ws = a.control.createWorkspace({ alias: 'sealed' }).workspaceId;
    expect(a.masterKey.kind).toBe('passphrase');
    const item = computeChecklist(a).find((i) => i.id === 'master-key')!;
    expect(item).toMatchObject({ title: 'Master key: passphrase-sealed', status: 'pass' });
    a.close();
    const sealed = readFileSync(sealedKeyPath(dataDir));

    await expect(openAppliance({ dataDir, masterKeyPassphrase: 'a wrong passphrase' })).rejects.toMatchObject({ kind: 'wrong_passphrase' });
    expect(readFileSync(sealedKeyPath(dataDir)).equals(sealed)).toBe(true);
    // Without any passphrase: a clear error, not a detour through the keychain.
    await expect(openAppliance({ dataDir })).rejects.toMatchObject({ kind: 'missing', message: expect.stringContaining('sealed by a passphrase') });

    const b = await openAppliance({ dataDir, masterKeyPassphrase: PASS });
    expect(b.control.describeWorkspace(ws).alias).toBe('sealed');
    // Rotation parks the next key in a pending sealed file, then promotes it.
    b.rotateMasterKey();
    b.close();
    expect(readFileSync(sealedKeyPath(dataDir)).equals(sealed)).toBe(false);
    expect(existsSync(`${sealedKeyPath(dataDir)}.pending`)).toBe(false);
    const c = await openAppliance({ dataDir, masterKeyPassphrase: PASS });
    expect(c.control.describeWorkspace(ws).alias).toBe('sealed');
    c.close();
  }, 180_000); // five scrypt derivations of 128 MiB each, on a shared machine
});

describe('chooseMasterKey (headless choice)', () => {
  // The keychain probe runs in this process: take its session bus away (vitest runs each file in
  // its own process), as on a headless server.
  const bus = process.env.DBUS_SESSION_BUS_ADDRESS;
  beforeAll(() => void delete process.env.DBUS_SESSION_BUS_ADDRESS);
  afterAll(() => {
    if (bus !== undefined) process.env.DBUS_SESSION_BUS_ADDRESS = bus;
  });
  const input = (over: Partial<ChoiceInput> = {}): ChoiceInput & { said: string[] } => {
    const said: string[] = [];
    return { dataDir: join(dir, 'data'), env: withoutBus(), keychainService: 'AmpuleTest-choice', ask: null, say: (l) => said.push(l), said, ...over };
  };

  it('takes a passphrase from --passphrase-file, AMPULE_PASSPHRASE_FILE or the systemd credential, in that order', async () => {
    const file = (name: string, text: string, mode = 0o600) => {
      writeFileSync(join(dir, name), text, { mode });
      chmodSync(join(dir, name), mode);
      return join(dir, name);
    };
    const flag = file('flag', 'from the flag\n');
    const envFile = file('env', 'from the env\n');
    const credDir = mkdtempSync(join(dir, 'cred-'));
    writeFileSync(join(credDir, 'ampule-passphrase'), 'from systemd', { mode: 0o400 });
    const env = { ...withoutBus(), AMPULE_PASSPHRASE_FILE: envFile, CREDENTIALS_DIRECTORY: credDir };
    expect(await chooseMasterKey(input({ passphraseFile: flag, env }))).toEqual({ masterKeyPassphrase: 'from the flag' });
    expect(await chooseMasterKey(input({ env }))).toEqual({ masterKeyPassphrase: 'from the env' });
    expect(await chooseMasterKey(input({ env: { ...withoutBus(), CREDENTIALS_DIRECTORY: credDir } }))).toEqual({ masterKeyPassphrase: 'from systemd' });
    const open = file('open', 'readable by all\n', 0o644);
    await expect(chooseMasterKey(input({ passphraseFile: open }))).rejects.toMatchObject({ kind: 'file_permissions' });
    expect(await chooseMasterKey(input({ masterKeyFile: '/k', passphraseFile: flag }))).toEqual({ masterKeyFile: '/k' });
  });

  it('without a keychain: explains the three ways; asks twice on a terminal for a new data directory, else fails', async () => {
    const noTty = input();
    await expect(chooseMasterKey(noTty)).rejects.toMatchObject({ kind: 'no_session_bus' });
    expect(noTty.said.join('\n')).toContain(headlessChoices(noTty.dataDir)[0]);
    expect(noTty.said.join('\n')).toMatch(/keychain[\s\S]*passphrase[\s\S]*--master-key-file/);

    const answers = [PASS, PASS];
    const asked: string[] = [];
    const tty = input({ ask: async (q) => (asked.push(q), answers.shift()!) });
    expect(await chooseMasterKey(tty)).toEqual({ masterKeyPassphrase: PASS });
    expect(asked).toEqual(['New passphrase: ', 'Repeat passphrase: ']);

    const typo = input({ ask: async (q) => (q.startsWith('New') ? PASS : `${PASS}!`) });
    await expect(chooseMasterKey(typo)).rejects.toMatchObject({ kind: 'wrong_passphrase', message: expect.stringContaining('differ') });
    await expect(chooseMasterKey(input({ ask: async () => 'short' }))).rejects.toMatchObject({ kind: 'wrong_passphrase' });

    // A sealed key already there: asked once, no confirmation; without a terminal, told how to give it.
    const dataDir = join(dir, 'data');
    (await openAppliance({ dataDir, masterKeyPassphrase: PASS })).close();
    const once: string[] = [];
    expect(await chooseMasterKey(input({ ask: async (q) => (once.push(q), PASS) }))).toEqual({ masterKeyPassphrase: PASS });
    expect(once).toHaveLength(1);
    await expect(chooseMasterKey(input())).rejects.toMatchObject({ kind: 'missing', message: expect.stringContaining('sealed by a passphrase') });
  });

  it('keeps an existing keychain-made data directory to its keychain: no offer to make a new key', async () => {
    const dataDir = join(dir, 'data');
    // Made with a key file: it has a control.db and no sealed key.
    const keyFile = join(dir, 'master.key');
    writeFileSync(keyFile, newKey(), { mode: 0o600 });
    (await openAppliance({ dataDir, masterKeyFile: keyFile })).close();
    const asked: string[] = [];
    await expect(chooseMasterKey(input({ ask: async (q) => (asked.push(q), PASS) }))).rejects.toMatchObject({ kind: 'no_session_bus' });
    expect(asked).toEqual([]);
    expect(existsSync(sealedKeyPath(dataDir))).toBe(false);
  });
});
