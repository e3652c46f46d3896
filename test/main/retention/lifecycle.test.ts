// Data lifecycle on a real appliance (master key from a 0600 file): deleting series for good,
// per-workspace retention, and data-key rotation with resume.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openAppliance, workspaceDir } from '../../../main/core/open-appliance';
import type { Appliance } from '../../../main/core/appliance';
import { deleteSeriesRequest, DeleteRequestError, parseSeriesSelector } from '../../../main/retention/delete-series';
import { controlDatabase, dataKeyAges, rotateDataKey } from '../../../main/retention/key-lifecycle';
import { runCli, tempKeyFileDir } from '../core/key-file-dir';
import { labelsFromRecord } from '../../../shared/labels';

let dir: string;
let keyFile: string;
let app: Appliance;
const DAY = 86_400_000;
const all = [{ type: '=~' as const, name: '__name__', value: '^(?:.+)$' }];

beforeEach(async () => {
  ({ dir, keyFile } = tempKeyFileDir('ampule-lifecycle-'));
  app = await openAppliance({ dataDir: join(dir, 'data'), masterKeyFile: keyFile, maintenanceIntervalMs: 100 });
});
afterEach(() => {
  app.close();
  rmSync(dir, { recursive: true, force: true });
});

function fill(ws: string, now: number, days: number): void {
  const a = app.store(ws).appender();
  for (let s = 0; s < 20; s++) {
    const labels = labelsFromRecord({ __name__: s < 10 ? 'keep_me' : 'delete_me', instance: `host-${s}` });
    let ref = 0;
    for (let t = now - days * DAY; t <= now; t += 3600_000) ref = a.append(ref, labels, t, s * 1000 + (t % 977));
  }
  a.commit();
}

/** Every ciphertext blob in the store, keyed by table and row. */
function blobs(file: string): Map<string, Buffer> {
  const db = new Database(file, { readonly: true });
  const out = new Map<string, Buffer>();
  for (const [table, key] of [['chunks', 'bucket || \'/\' || part'], ['series_pages', 'page'], ['log', 'seq']] as const) {
    for (const r of db.prepare(`SELECT ${key} AS k, data FROM ${table}`).all() as { k: string; data: Buffer }[]) out.set(`${table}:${r.k}:${r.data.subarray(0, 16).toString('hex')}`, r.data);
  }
  db.close();
  return out;
}

describe('series deletion', () => {
  it('deletes matching samples so not even the current file and key can return them', async () => {
    const ws = app.control.createWorkspace({ alias: 'del' }).workspaceId;
    const now = Date.now();
    fill(ws, now, 3);
    const file = join(workspaceDir(app.dataDir, ws), 'tsdb.db');
    app.closeStore(ws); // flush the head into encrypted rows on close, and reopen
    app.store(ws);
    const before = blobs(file);
    const params = new URLSearchParams();
    params.append('match[]', 'delete_me');
    const r = await deleteSeriesRequest(params, app.store(ws), app.activity, 'test');
    expect(r.samplesDeleted).toBe(10 * (3 * 24 + 1));
    expect(app.store(ws).querier().select([{ type: '=', name: '__name__', value: 'delete_me' }], 0, now + 1).length).toBe(0);
    expect(app.store(ws).querier().select([{ type: '=', name: '__name__', value: 'keep_me' }], 0, now + 1).length).toBe(10);

    // Old ciphertext that held deleted series is gone from the file, its WAL and free pages.
    app.closeStore(ws);
    const after = blobs(file);
    const removed = [...before].filter(([k]) => !after.has(k)).map(([, b]) => b);
    expect(removed.length).toBeGreaterThan(0);
    const raw = Buffer.concat([readFileSync(file), existsSync(`${file}-wal`) ? readFileSync(`${file}-wal`) : Buffer.alloc(0)]);
    for (const b of removed) for (let off = 0; off + 32 <= b.length; off += Math.max(32, Math.floor(b.length / 8))) expect(raw.includes(b.subarray(off, off + 32))).toBe(false);
    // Reopened from the file with the key: still gone.
    expect(app.store(ws).querier().series(all, 0, now + 1).map((l) => l.find((x) => x.name === '__name__')!.value)).not.toContain('delete_me');
    expect(app.activity.list({ action: 'series.delete' }).entries[0]).toMatchObject({ workspaceId: ws, detail: expect.stringContaining('samples deleted') });
  });

  it('partially deletes a time range and refuses bad requests', async () => {
    const ws = app.control.createWorkspace({ alias: 'range' }).workspaceId;
    const now = Date.now();
    fill(ws, now, 1);
    const params = new URLSearchParams([['match[]', 'keep_me{instance="host-1"}'], ['start', String((now - 12 * 3600_000) / 1000)], ['end', String(now / 1000)]]);
    const r = await deleteSeriesRequest(params, app.store(ws), app.activity, 'test');
    expect(r.samplesDeleted).toBe(13);
    const left = app.store(ws).querier().select([{ type: '=', name: 'instance', value: 'host-1' }], 0, now + 1)[0]!;
    expect(left.timestamps.length).toBe(12);
    await expect(deleteSeriesRequest(new URLSearchParams(), app.store(ws), app.activity, 't')).rejects.toThrow('no match[] parameter provided');
    expect(() => parseSeriesSelector('{job=~".*"}')).toThrow(DeleteRequestError);
    expect(() => parseSeriesSelector('rate(x[5m])')).toThrow(/not a series selector/);
    await expect(deleteSeriesRequest(new URLSearchParams([['match[]', 'x'], ['start', 'soon']]), app.store(ws), app.activity, 't')).rejects.toThrow(/start/);
  });
});

describe('retention', () => {
  it('applies a per-workspace retention within AMP\'s range', async () => {
    const ws = app.control.createWorkspace({ alias: 'ret' }).workspaceId;
    const now = Date.now();
    fill(ws, now, 20);
    expect(() => app.settings.setRetentionDays(ws, 0)).toThrow(/1 to 1095/);
    expect(() => app.settings.setRetentionDays(ws, 1096)).toThrow(/1 to 1095/);
    expect(app.settings.retentionDays(ws)).toBeNull();
    app.settings.setRetentionDays(ws, 5);
    app.closeStore(ws);
    app.store(ws);
    await new Promise((r) => setTimeout(r, 600)); // maintenance every 100 ms
    const s = app.store(ws).querier().select(all, 0, now + 1);
    const oldest = Math.min(...s.map((x) => x.timestamps[0]!));
    expect(oldest).toBeGreaterThanOrEqual(now - 5 * DAY - 2 * 3600_000);
    expect(oldest).toBeLessThan(now - 4 * DAY);
  });
});

describe('data-key rotation', () => {
  it('re-seals every row under a new key generation, resumes after an interruption, and reports key ages', async () => {
    const ws = app.control.createWorkspace({ alias: 'rot' }).workspaceId;
    const now = Date.now();
    fill(ws, now, 2);
    app.closeStore(ws);
    const r = await rotateDataKey(app, ws);
    expect(r).toMatchObject({ generation: 2, resumed: false });
    expect(r.rowsResealed).toBeGreaterThan(0);
    const keyIds = () => {
      const db = new Database(join(workspaceDir(app.dataDir, ws), 'tsdb.db'), { readonly: true });
      const ids = db.prepare(`SELECT DISTINCT key_id FROM chunks UNION SELECT DISTINCT key_id FROM series_pages UNION SELECT DISTINCT key_id FROM log`).all() as { key_id: number }[];
      db.close();
      return ids.map((x) => x.key_id);
    };
    app.closeStore(ws);
    expect(keyIds()).toEqual([2]);
    expect(app.store(ws).querier().select(all, 0, now + 1).reduce((n, s) => n + s.timestamps.length, 0)).toBe(20 * (2 * 24 + 1));

    // A crash after the new generation was made but before re-encryption: the next run resumes it.
    const control = controlDatabase(app);
    app.closeStore(ws);
    const g = control.keys.rotate(ws, new Date().toISOString());
    app.settings.beginRotation(ws, g);
    const again = await rotateDataKey(app, ws);
    expect(again).toMatchObject({ generation: 3, resumed: true });
    // One run at a time per workspace.
    const running = rotateDataKey(app, ws);
    await expect(rotateDataKey(app, ws)).rejects.toThrow(/a data-key rotation is already running/);
    expect(await running).toMatchObject({ generation: 4, resumed: false });
    app.closeStore(ws);
    expect(keyIds()).toEqual([4]);
    expect(dataKeyAges(app, Date.now() + 400 * DAY).find((k) => k.workspaceId === ws)).toMatchObject({ generation: 4, ageDays: 400 });
  });
});

describe('lifecycle CLI', () => {
  it('series delete, retention, rotate-data, rules and scan', async () => {
    const ws = app.control.createWorkspace({ alias: 'cli' }).workspaceId;
    const a = app.store(ws).appender();
    a.append(0, labelsFromRecord({ __name__: 'logins_total', user: 'alice@example.com' }), Date.now(), 1);
    a.commit();
    app.close();
    const run = async (...argv: string[]) => {
      const { status, out, err } = await runCli(dir, keyFile, argv);
      return { status, out: out.join('\n'), err: err.join('\n') };
    };
    expect(await run('series', 'delete', '--workspace', ws, '--match', 'x')).toMatchObject({ status: 2, err: expect.stringContaining('--yes') });
    expect(await run('retention', 'set', '--workspace', ws, '--days', '2000')).toMatchObject({ status: 1, err: expect.stringContaining('1095') });
    expect(await run('retention', 'set', '--workspace', ws, '--days', '30')).toMatchObject({ status: 0 });
    expect((await run('retention', 'show', '--workspace', ws)).out).toBe(`${ws}: 30 days`);
    const scan = await run('scan', '--workspace', ws);
    expect(scan.out).toContain('a***@e***.com');
    expect(scan.out).not.toContain('alice');
    expect(await run('rules', 'set', '--workspace', ws, '--hash', 'user', '--drop', 'session')).toMatchObject({ status: 0 });
    expect((await run('rules', 'show', '--workspace', ws)).out).toBe('drop: session\nhash: user');
    expect(await run('key', 'rotate-data', '--workspace', ws)).toMatchObject({ status: 0, out: expect.stringContaining('generation 2') });
    expect(await run('series', 'delete', '--workspace', ws, '--match', 'logins_total', '--yes')).toMatchObject({ status: 0, out: `Deleted 1 samples from workspace ${ws}.` });
    app = await openAppliance({ dataDir: join(dir, 'data'), masterKeyFile: keyFile });
  });
});
