// Master-key rotation survives kill -9 at every step: the rotation runs in a child process that
// kills itself (SIGKILL) at an injected point; the data directory must then open with nothing lost.
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Entry, findCredentials } from '@napi-rs/keyring';
import { openAppliance } from '../../../main/core/open-appliance';
import { newKey } from '../../../main/crypto/master-key';
import { KeyStoreError } from '../../../main/crypto/types';
import { keychainSkipNote, noKeychainReason, removeChildBundle, removeService, runChild, uniqueService } from './keychain-env';
import { tempDirs } from '../../temp-dirs';

const temp = tempDirs('ampule-rot-');
const tempDir = temp.make;
afterAll(() => {
  temp.removeAll();
  removeChildBundle();
});

const secrets = (service: string) => new Map(findCredentials(service).map((c) => [c.account, c.password]));

describe.skipIf(noKeychainReason)(`master-key rotation in the keychain${keychainSkipNote}`, () => {
  const service = uniqueService();
  afterAll(() => removeService(service));

  /** A data directory with three workspaces and a token; returns what must survive. */
  async function seeded() {
    const dataDir = tempDir();
    const a = await openAppliance({ dataDir, keychainService: service });
    const aliases = ['alpha', 'beta', 'gamma'];
    const ids = aliases.map((alias) => a.control.createWorkspace({ alias, tags: { env: alias } }).workspaceId);
    const token = a.control.createToken(ids[1]!, { scopes: ['query'], name: 'grafana' }).token;
    const account = a.masterKey.location.match(/account "([^"]+)"/)![1]!;
    a.close();
    return { dataDir, aliases, ids, token, account };
  }

  async function expectIntact(s: Awaited<ReturnType<typeof seeded>>) {
    const a = await openAppliance({ dataDir: s.dataDir, keychainService: service });
    try {
      expect(a.control.listWorkspaces().map((w) => w.alias)).toEqual(s.aliases);
      expect(a.control.describeWorkspace(s.ids[2]!).tags).toEqual({ env: 'gamma' });
      expect(a.control.verifyToken(s.token)?.workspaceId).toBe(s.ids[1]);
      expect(a.control.listTokens(s.ids[1]!)[0]!.name).toBe('grafana');
    } finally {
      a.close();
    }
    // Recovery leaves exactly one key: the pending slot is gone.
    expect(secrets(service).has(`${s.account}.pending`)).toBe(false);
  }

  it('completes: a new key wraps everything, the old one is gone', async () => {
    const s = await seeded();
    const before = secrets(service).get(s.account);
    const a = await openAppliance({ dataDir: s.dataDir, keychainService: service });
    a.rotateMasterKey();
    a.close();
    const after = secrets(service).get(s.account);
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    await expectIntact(s);
    // The old key no longer opens the store.
    new Entry(service, s.account, { linux: { store: 'secret-service' } }).setPassword(before!);
    await expect(openAppliance({ dataDir: s.dataDir, keychainService: service })).rejects.toMatchObject({ kind: 'wrong_key' });
    new Entry(service, s.account, { linux: { store: 'secret-service' } }).setPassword(after!);
  });

  // Each point: where the child dies, and whether the new key is the one in force afterwards.
  const points: [string, boolean][] = [
    ['pending-stored', false], // new key parked, nothing re-wrapped
    ['rewrap:1', false], // inside the SQLite transaction: rolled back
    ['rewrap:3', false], // every key re-wrapped but not committed
    ['rewrapped', true], // committed, not promoted: recovery promotes
    ['promoted', true], // promoted, pending slot not yet removed
    ['done', true],
  ];
  it.each(points)('kill -9 at %s: opens with nothing lost (new key in force: %s)', async (point, newKeyInForce) => {
    const s = await seeded();
    const before = secrets(service).get(s.account);
    const child = runChild(['rotate', s.dataDir, service, point]);
    expect(child.signal).toBe('SIGKILL');
    await expectIntact(s);
    expect(secrets(service).get(s.account) !== before).toBe(newKeyInForce);
  });

  it('two interrupted rotations in a row, then a complete one', async () => {
    const s = await seeded();
    expect(runChild(['rotate', s.dataDir, service, 'rewrapped']).signal).toBe('SIGKILL');
    expect(runChild(['rotate', s.dataDir, service, 'pending-stored']).signal).toBe('SIGKILL');
    expect(runChild(['rotate', s.dataDir, service]).result).toEqual({ ok: true });
    await expectIntact(s);
  });
});

describe('master-key rotation with key files', () => {
  it('re-wraps under the next file; the old file is then the wrong key', async () => {
    const dir = tempDir();
    const file = (name: string) => {
      const p = join(dir, name);
      writeFileSync(p, newKey().toString('hex'));
      chmodSync(p, 0o600);
      return p;
    };
    const oldFile = file('old.key');
    const nextFile = file('next.key');
    const dataDir = join(dir, 'data');
    const a = await openAppliance({ dataDir, masterKeyFile: oldFile });
    const id = a.control.createWorkspace({ alias: 'edge' }).workspaceId;
    expect(() => a.rotateMasterKey()).toThrow(/cannot be rotated in place/);
    a.rotateMasterKey({ newKeyFile: nextFile });
    expect(a.masterKey.location).toContain('next.key');
    expect(a.control.describeWorkspace(id).alias).toBe('edge');
    a.close();
    const err = await openAppliance({ dataDir, masterKeyFile: oldFile }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyStoreError);
    expect((err as KeyStoreError).kind).toBe('wrong_key');
    expect((err as KeyStoreError).message).toMatch(/pass the key file this data directory was created with/);
    const b = await openAppliance({ dataDir, masterKeyFile: nextFile });
    expect(b.control.describeWorkspace(id).alias).toBe('edge');
    b.close();
  });
});
