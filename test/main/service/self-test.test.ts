// The self-test verifies every workspace store and the checklist fails on damage, naming the
// workspace, the file and the item, while the other workspaces keep working. Real appliance,
// real encrypted stores; the damage is written into the files with SQLite (a fault the appliance
// cannot produce itself).
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AmpuleApi, SelfTestProgress } from '../../../shared/api';
import { labelsFromRecord } from '../../../shared/labels';
import { openAppliance, workspaceDir } from '../../../main/core/open-appliance';
import type { Appliance } from '../../../main/core/appliance';
import { controlDatabase } from '../../../main/retention/key-lifecycle';
import { createServiceRuntime, type ServiceRuntime } from '../../../main/service/runtime';
import { consoleStatus } from '../../../main/console/credentials';
import { openTsdb, StoreDamaged } from '../../../main/tsdb';
import { customerStrings } from '../../../main/service/self-test';
import { tempKeyFileDir } from '../core/key-file-dir';

const T0 = 1_700_000_000_000;

async function until(f: () => Promise<SelfTestProgress>): Promise<SelfTestProgress> {
  for (let i = 0; i < 1500; i++) {
    const p = await f();
    if (p.state !== 'running') return p;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('self-test did not finish');
}

describe('self-test and checklist on damaged stores', () => {
  const made = tempKeyFileDir('ampule-selftest-');
  let app: Appliance;
  let runtime: ServiceRuntime;
  let api: AmpuleApi;
  const ws: string[] = [];
  const file = (id: string) => join(workspaceDir(join(made.dir, 'data'), id), 'tsdb.db');

  beforeAll(async () => {
    app = await openAppliance({ dataDir: join(made.dir, 'data'), masterKeyFile: made.keyFile });
    runtime = createServiceRuntime(app, { consoleStatus: () => consoleStatus(app.dataDir) });
    api = runtime.api('test', () => null);
    for (const alias of ['alpha', 'beta']) {
      const id = app.control.createWorkspace({ alias }).workspaceId;
      ws.push(id);
      app.store(id); // makes the folder and file
      app.closeStore(id);
      // Chunk rows need a compaction, which the appliance runs on a timer: do it on the file directly.
      const db = openTsdb({ path: file(id), workspaceId: id, keys: controlDatabase(app).dataKeys(id) });
      const a = db.appender();
      for (let i = 0; i < 200; i++) for (let s = 0; s < 5; s++) a.append(0, labelsFromRecord({ __name__: 'st_metric', s: String(s) }), T0 + i * 60_000, i);
      // A native-histogram series: its labels are customer strings the scan must look for, its chunks part of what is verified.
      for (let i = 0; i < 200; i++) {
        a.appendHistogram(0, labelsFromRecord({ __name__: 'st_latency_seconds', tenant: 'histogram-tenant-42' }), T0 + i * 60_000, {
          counterResetHint: 'not_reset', schema: 1, zeroThreshold: 0, zeroCount: 0, count: 3 * i, sum: i * 0.75,
          positiveSpans: [{ offset: 2, length: 2 }], positiveBuckets: [i, 2 * i], negativeSpans: [], negativeBuckets: [],
        });
      }
      a.commit();
      db.compact({ all: true });
      const late = db.appender();
      late.append(0, labelsFromRecord({ __name__: 'st_late' }), T0 + 10 ** 9, 1);
      late.commit();
      db.close();
    }
  });
  afterAll(() => {
    runtime?.close();
    app?.close();
    rmSync(made.dir, { recursive: true, force: true });
  });

  const integrity = async () => (await api.checklist()).find((i) => i.id === 'store-integrity')!;

  it('passes on sound stores', async () => {
    expect((await integrity()).status).toBe('warn'); // not verified yet
    await api.startSelfTest();
    const p = await until(() => api.selfTestProgress());
    expect(p.state, p.message).toBe('passed');
    expect(p.damage).toEqual([]);
    expect(await integrity()).toMatchObject({ status: 'pass', evidence: expect.stringContaining('every workspace store verified') });
    // The histogram series' labels are among the strings the plaintext scan looked for (and did not find).
    expect(customerStrings(app)).toEqual(expect.arrayContaining(['st_latency_seconds', 'histogram-tenant-42']));
    expect((await api.checklist()).find((i) => i.id === 'plaintext-scan')!.status).toBe('pass');
  });

  it('fails on an altered chunk row (found only by reading it) and on a missing log record (found on open)', async () => {
    const [alpha, beta] = ws as [string, string];
    const raw = new Database(file(alpha));
    const row = raw.prepare('SELECT bucket, part, data FROM chunks LIMIT 1').get() as { bucket: number; part: number; data: Buffer };
    row.data[row.data.length >> 1]! ^= 0x08;
    raw.prepare('UPDATE chunks SET data = ? WHERE bucket = ? AND part = ?').run(row.data, row.bucket, row.part);
    raw.close();
    app.closeStore(beta);
    const rawB = new Database(file(beta));
    expect(rawB.prepare('DELETE FROM log').run().changes).toBe(1);
    rawB.close();

    expect(() => app.store(beta)).toThrow(StoreDamaged);
    // Data outside the damaged row stays readable.
    expect(app.store(alpha).querier().select([{ type: '=', name: '__name__', value: 'st_late' }], T0 + 10 ** 9, Infinity)).toHaveLength(1);

    await api.startSelfTest();
    const p = await until(() => api.selfTestProgress());
    expect(p.state).toBe('failed');
    expect(p.damage).toHaveLength(2);
    const [a, b] = [p.damage!.find((d) => d.includes(alpha))!, p.damage!.find((d) => d.includes(beta))!];
    expect(a).toMatch(new RegExp(`^Workspace ${alpha}: the store file workspaces/${alpha}/tsdb\\.db is damaged: chunk row for .*\\(bucket ${row.bucket}\\).*\\(part ${row.part}\\): ciphertext failed authentication`));
    expect(b).toMatch(new RegExp(`^Workspace ${beta}: the store file workspaces/${beta}/tsdb\\.db is damaged: log records: 1 of 1 record\\(s\\) missing`));
    expect(p.message).toContain('2 workspace store(s) damaged');
    const item = await integrity();
    expect(item).toMatchObject({ status: 'fail', fix: { action: 'ampule restore FILE' } });
    expect(item.evidence).toContain(alpha);
    expect(item.evidence).toContain(beta);
    // The rest of the checklist still answers.
    expect((await api.checklist()).find((i) => i.id === 'plaintext-scan')!.status).toBe('fail');
  });
});
