// The master key in the real OS keychain (gnome-keyring over D-Bus), and what each way of the
// keychain being unreachable looks like to the user.
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Entry, findCredentials } from '@napi-rs/keyring';
import { keychainError, keychainSlot } from '../../../main/crypto/keychain';
import { newKey } from '../../../main/crypto/master-key';
import { keychainSkipNote, noKeychainReason, noPrivateBusReason, privateBus, removeChildBundle, removeService, runChild, runChildAsync, uniqueService, withoutBus } from './keychain-env';
import { tempDirs } from '../../temp-dirs';

const temp = tempDirs('ampule-kc-');
const tempDir = temp.make;
afterAll(() => {
  temp.removeAll();
  removeChildBundle();
});

describe('keychain error mapping (texts measured in KEYCHAIN.md)', () => {
  const cases: [string, string][] = [
    ['Platform failure: DBus error: Using X11 for dbus-daemon autolaunch was disabled at compile time, set your DBUS_SESSION_BUS_ADDRESS instead', 'no_session_bus'],
    ['Platform failure: DBus error: The name org.freedesktop.secrets was not provided by any .service files', 'no_secret_service'],
    ["Couldn't access platform storage: Secret Service: no result found", 'locked'],
    ["Couldn't access platform storage: Secret Service: unlock prompt was dismissed", 'locked'],
    ['zbus error: org.freedesktop.Secret.Error.IsLocked: Cannot get secret of a locked object', 'locked'],
    ['something else entirely', 'unknown'],
  ];
  it.each(cases)('%s → %s', (text, kind) => {
    const e = keychainError(new Error(text), 'here');
    expect(e.kind).toBe(kind);
    expect(e.message).toContain('How to fix:');
  });
});

describe.skipIf(noKeychainReason)(`session keychain${keychainSkipNote}`, () => {
  const service = uniqueService();
  afterAll(() => removeService(service));

  it('stores, loads and removes a key, pinned to the Secret Service', () => {
    const slot = keychainSlot(service, 'acct');
    expect(slot.load()).toBeNull();
    const key = newKey();
    slot.store(key);
    expect(slot.load()!.equals(key)).toBe(true);
    // Visible through the Secret Service itself (not the kernel keyring).
    expect(new Entry(service, 'acct', { linux: { store: 'secret-service' } }).getPassword()).toBe(key.toString('base64'));
    expect(slot.location).toContain(service);
    slot.remove();
    expect(slot.load()).toBeNull();
  });

  it('a deleted entry for an existing store is an error, never a new key', () => {
    const dataDir = tempDir();
    const first = runChild(['create', dataDir, service, 'prod']);
    expect(first.result?.ok).toBe(true);
    const [entry] = findCredentials(service).filter((c) => !c.account.endsWith('.pending'));
    expect(entry).toBeDefined();
    const saved = entry!.password;
    new Entry(service, entry!.account, { linux: { store: 'secret-service' } }).deleteCredential();

    const again = runChild(['open', dataDir, service]);
    expect(again.result).toMatchObject({ ok: false, kind: 'missing' });
    expect(again.result!.message).toMatch(/locked or the entry is missing/);
    expect(again.result!.message).toMatch(/will not create a new key/);
    // Nothing was written in its place.
    expect(new Entry(service, entry!.account, { linux: { store: 'secret-service' } }).getPassword()).toBeNull();

    // Restoring the entry brings everything back.
    new Entry(service, entry!.account, { linux: { store: 'secret-service' } }).setPassword(saved);
    const restored = runChild(['open', dataDir, service]);
    expect(restored.result?.ok).toBe(true);
    expect((restored.result!.workspaces as { alias: string }[]).map((w) => w.alias)).toEqual(['prod']);
  });

  it('processes starting on one new data directory at once agree on one key', async () => {
    const dataDir = tempDir();
    const entriesBefore = findCredentials(service).length;
    const results = await Promise.all([1, 2, 3, 4].map(() => runChildAsync(['open', dataDir, service])));
    // The whole result in the failure: a plain error names its cause only in its message.
    for (const r of results) expect(r.result, JSON.stringify(r.result)).toMatchObject({ ok: true, workspaces: [] });
    expect(findCredentials(service).filter((c) => !c.account.endsWith('.pending'))).toHaveLength(1 + entriesBefore);
    expect(runChild(['create', dataDir, service, 'after']).result?.ok).toBe(true);
    expect(runChild(['open', dataDir, service]).result?.ok).toBe(true);
  });

  it('a replaced entry is reported as the wrong key', () => {
    const dataDir = tempDir();
    expect(runChild(['create', dataDir, service, 'x']).result?.ok).toBe(true);
    for (const c of findCredentials(service)) new Entry(service, c.account, { linux: { store: 'secret-service' } }).setPassword(newKey().toString('base64'));
    expect(runChild(['open', dataDir, service]).result).toMatchObject({ ok: false, kind: 'wrong_key' });
  });
});

describe('keychain unreachable (child processes)', () => {
  it('no session bus at all', () => {
    const r = runChild(['open', tempDir(), uniqueService()], withoutBus());
    expect(r.result).toMatchObject({ ok: false, kind: 'no_session_bus' });
    expect(r.result!.message).toMatch(/No D-Bus session bus/);
    expect(r.result!.message).toMatch(/--master-key-file/);
  });

  it('a bus address that points nowhere', () => {
    const r = runChild(['open', tempDir(), uniqueService()], { ...process.env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(tempDir(), 'no-bus')}` });
    expect(r.result).toMatchObject({ ok: false, kind: 'no_session_bus' });
  });

  describe.skipIf(noPrivateBusReason)(`private buses${noPrivateBusReason ? ` (skipped: ${noPrivateBusReason})` : ''}`, () => {
    it('a bus without a Secret Service', () => {
      const bus = privateBus('none');
      try {
        const r = runChild(['open', tempDir(), uniqueService()], bus.env);
        expect(r.result).toMatchObject({ ok: false, kind: 'no_secret_service' });
        expect(r.result!.message).toMatch(/apt-get install gnome-keyring/);
      } finally {
        bus.stop();
      }
    });

    it('a keyring that was never unlocked', () => {
      const bus = privateBus('never-unlocked');
      try {
        const dataDir = tempDir();
        const r = runChild(['open', dataDir, uniqueService()], bus.env);
        expect(r.result).toMatchObject({ ok: false, kind: 'locked' });
        expect(r.result!.message).toMatch(/unlock the keyring/);
      } finally {
        bus.stop();
      }
    });

    it('a keyring locked after the store was made', () => {
      const bus = privateBus('unlocked');
      try {
        const dataDir = tempDir();
        const service = uniqueService();
        expect(runChild(['create', dataDir, service, 'a'], bus.env).result?.ok).toBe(true);
        bus.lock();
        const r = runChild(['open', dataDir, service], bus.env);
        expect(r.result).toMatchObject({ ok: false, kind: 'locked' });
        expect(r.result!.message).toMatch(/keychain is locked/);
      } finally {
        bus.stop();
      }
    });
  });
});
