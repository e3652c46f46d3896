// openAppliance end to end on real files and the real keychain: data directory, master key
// choice, workspace stores (encrypted tsdb), crypto-shredding delete.
import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openAppliance, workspaceDir } from '../../../main/core/open-appliance';
import { KeyStoreError } from '../../../main/crypto/types';
import { labelsFromRecord } from '../../../shared/labels';
import type { ActivityEvent } from '../../../main/control/types';
import { keychainSkipNote, noKeychainReason, removeService, uniqueService } from '../crypto/keychain-env';
import { filesContaining } from '../control/helpers';
import { tempDirs } from '../../temp-dirs';

const temp = tempDirs('ampule-open-');
const tempDir = temp.make;
afterAll(() => temp.removeAll());

function keyFile(dir: string, name = 'master.key', mode = 0o600): string {
  const p = join(dir, name);
  writeFileSync(p, randomBytes(32).toString('hex'));
  chmodSync(p, mode);
  return p;
}

async function openError(p: Promise<unknown>): Promise<KeyStoreError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(KeyStoreError);
  return e as KeyStoreError;
}

describe('openAppliance with a key file', () => {
  it('creates the data directory 0700 (and tightens an existing one)', async () => {
    const dir = tempDir();
    const key = keyFile(dir);
    const a = await openAppliance({ dataDir: join(dir, 'new', 'data'), masterKeyFile: key });
    expect(statSync(a.dataDir).mode & 0o777).toBe(0o700);
    expect(existsSync(join(a.dataDir, 'control.db'))).toBe(true);
    expect(a.masterKey.kind).toBe('file');
    a.close();
    const loose = join(dir, 'loose');
    mkdirSync(loose, { mode: 0o755 });
    chmodSync(loose, 0o755);
    (await openAppliance({ dataDir: loose, masterKeyFile: key })).close();
    expect(statSync(loose).mode & 0o777).toBe(0o700);
  });

  it('refuses a key file with a loose mode, and another key than the store was made with', async () => {
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const good = keyFile(dir);
    (await openAppliance({ dataDir, masterKeyFile: good })).close();
    const loose = keyFile(dir, 'loose.key', 0o644);
    expect((await openError(openAppliance({ dataDir, masterKeyFile: loose }))).kind).toBe('file_permissions');
    const other = keyFile(dir, 'other.key');
    const wrong = await openError(openAppliance({ dataDir, masterKeyFile: other }));
    expect(wrong.kind).toBe('wrong_key');
    expect(wrong.message).toMatch(/is not the key this data directory was encrypted with/);
    (await openAppliance({ dataDir, masterKeyFile: good })).close();
  });

  it('stores samples in an encrypted per-workspace store that survives reopening', async () => {
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const masterKeyFile = keyFile(dir);
    const events: ActivityEvent[] = [];
    const a = await openAppliance({ dataDir, masterKeyFile, activity: { record: (e) => events.push(e) } });
    const { workspaceId } = a.control.createWorkspace({ alias: 'metrics' });
    expect(events.some((e) => e.action === 'workspace.create' && e.workspaceId === workspaceId)).toBe(true);
    const labels = labelsFromRecord({ __name__: 'secret_metric_wombat', instance: 'host-kangaroo:9100' });
    const app = a.store(workspaceId).appender();
    const t0 = Date.now();
    for (let i = 0; i < 10; i++) app.append(0, labels, t0 + i * 1000, i * 1.5);
    app.commit();
    expect(a.store(workspaceId)).toBe(a.store(workspaceId));
    expect(a.store(workspaceId).stats().series).toBe(1);
    a.close();

    for (const s of ['secret_metric_wombat', 'host-kangaroo']) expect(filesContaining(dataDir, s)).toEqual([]);
    expect(existsSync(join(workspaceDir(dataDir, workspaceId), 'tsdb.db'))).toBe(true);

    const b = await openAppliance({ dataDir, masterKeyFile });
    const [series] = b.store(workspaceId).querier().select([{ type: '=', name: '__name__', value: 'secret_metric_wombat' }], t0, t0 + 60_000);
    expect(series && Array.from(series.values)).toEqual([0, 1.5, 3, 4.5, 6, 7.5, 9, 10.5, 12, 13.5]);
    expect(() => b.store('ws-00000000-0000-0000-0000-000000000000')).toThrow(expect.objectContaining({ kind: 'not_found' }));

    // Delete: key destroyed, store closed, its folder gone.
    b.control.deleteWorkspace(workspaceId);
    expect(existsSync(workspaceDir(dataDir, workspaceId))).toBe(false);
    expect(() => b.store(workspaceId)).toThrow(expect.objectContaining({ kind: 'not_found' }));
    b.close();
  });
});

describe('nothing customer-owned or secret reaches the data directory in clear', () => {
  it('aliases, tags, token names and token secrets: in control.db, -wal, -shm, the activity log, stores', async () => {
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const masterKeyFile = keyFile(dir);
    const a = await openAppliance({ dataDir, masterKeyFile });
    const plain = ['AliasPlatypus-4471', 'TagKeyEchidna', 'TagValueDingo', 'TokenNameQuoll'];
    const { workspaceId } = a.control.createWorkspace({ alias: plain[0]!, tags: { [plain[1]!]: plain[2]! } });
    a.control.updateWorkspace(workspaceId, { alias: `${plain[0]}-renamed` });
    const { token, tokenId } = a.control.createToken(workspaceId, { scopes: ['remote_write'], name: plain[3]! });
    a.control.verifyToken(token);
    a.control.verifyToken(`amp_${tokenId}_${'x'.repeat(43)}`);
    a.store(workspaceId);
    const secret = token.slice(`amp_${tokenId}_`.length);
    const scan = () => [...plain, secret].flatMap((s) => filesContaining(dataDir, s));
    expect(scan()).toEqual([]);
    a.close();
    expect(scan()).toEqual([]);
  });
});

describe.skipIf(noKeychainReason)(`openAppliance with the OS keychain${keychainSkipNote}`, () => {
  const service = uniqueService();
  afterAll(() => removeService(service));

  it('makes the master key on first start, one entry per data directory, and finds it again', async () => {
    const d1 = join(tempDir(), 'one');
    const d2 = join(tempDir(), 'two');
    const a = await openAppliance({ dataDir: d1, keychainService: service });
    const b = await openAppliance({ dataDir: d2, keychainService: service });
    expect(a.masterKey.kind).toBe('keychain');
    expect(a.masterKey.location).toContain(`service "${service}"`);
    expect(a.masterKey.location).not.toBe(b.masterKey.location);
    const { workspaceId } = a.control.createWorkspace({ alias: 'kc' });
    a.close();
    b.close();
    const again = await openAppliance({ dataDir: d1, keychainService: service });
    expect(again.masterKey.location).toBe(a.masterKey.location);
    expect(again.control.describeWorkspace(workspaceId).alias).toBe('kc');
    again.close();
  });
});
