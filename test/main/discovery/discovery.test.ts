// Ingest rules (drop / keyed hash) on real control.db rows sealed with a real data key, and
// discovery scans over a real encrypted store with planted personal data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlDatabase } from '../../../main/control/control-plane';
import { masterKey, newKey } from '../../../main/crypto/master-key';
import { openTsdb } from '../../../main/tsdb/index';
import { applyIngestRules, compileIngestRules } from '../../../main/discovery/ingest-rules';
import { IngestRuleStore } from '../../../main/discovery/rules-store';
import { DiscoveryIndex, scanWorkspace } from '../../../main/discovery/scan';
import { labelsFromRecord, labelsToRecord } from '../../../shared/labels';

let dir: string;
let control: ControlDatabase;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ampule-discovery-'));
  control = ControlDatabase.open(join(dir, 'control.db'));
  const master = masterKey(newKey());
  control.keys.setKeyCheck(master.check);
  control.keys.useMasterKey(master);
});
afterAll(() => {
  control.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ingest rules', () => {
  const rules = compileIngestRules({ drop: ['session'], hash: ['user'] }, randomBytes(32));
  it('drops and hashes labels, keeping the set sorted, and leaves other sets untouched', () => {
    const ls = labelsFromRecord({ __name__: 'logins_total', job: 'auth', session: 'abc', user: 'alice@example.com' });
    const out = applyIngestRules(ls, rules);
    expect(out.map((l) => l.name)).toEqual(['__name__', 'job', 'user']);
    const hashed = labelsToRecord(out).user!;
    expect(hashed).toMatch(/^hmac:[A-Za-z0-9_-]{22}$/);
    expect(applyIngestRules(ls, rules)).toEqual(out); // stable
    expect(labelsToRecord(applyIngestRules(labelsFromRecord({ __name__: 'x', user: 'bob@example.com' }), rules)).user).not.toBe(hashed);
    const untouched = labelsFromRecord({ __name__: 'up', job: 'node' });
    expect(applyIngestRules(untouched, rules)).toBe(untouched);
    expect(applyIngestRules(untouched, null)).toBe(untouched);
    // Another workspace's key gives another hash: values cannot be joined across workspaces.
    const other = compileIngestRules({ drop: [], hash: ['user'] }, randomBytes(32));
    expect(labelsToRecord(applyIngestRules(ls, other)).user).not.toBe(hashed);

    const many = Array.from({ length: 10_000 }, (_, i) => labelsFromRecord({ __name__: 'http_requests_total', code: '200', instance: `host-${i}`, job: 'api', user: `u${i % 100}` }));
    const t0 = performance.now();
    for (let r = 0; r < 10; r++) for (const l of many) applyIngestRules(l, rules);
    console.log(`applyIngestRules: ${(((performance.now() - t0) * 1e6) / 100_000).toFixed(0)} ns per label set (one hashed label, memoized)`);
  });

  it('are stored sealed with the workspace data key and validated', () => {
    const ws = control.createWorkspace({ alias: 'rules-test' });
    const store = new IngestRuleStore(control.db, (id) => control.dataKeys(id));
    expect(store.get(ws.workspaceId)).toEqual({ drop: [], hash: [] });
    expect(store.compiled(ws.workspaceId)).toBeNull();
    expect(store.set(ws.workspaceId, { drop: ['zzz_customer_label', 'a_label'], hash: ['email_address'] })).toEqual({ drop: ['a_label', 'zzz_customer_label'], hash: ['email_address'] });
    const h1 = store.compiled(ws.workspaceId)!.hashValue('email_address', 'x@example.com');
    // Changing the rules keeps the hash key, so hashed values stay joinable.
    store.set(ws.workspaceId, { drop: [], hash: ['email_address'] });
    expect(store.compiled(ws.workspaceId)!.hashValue('email_address', 'x@example.com')).toBe(h1);
    expect(() => store.set(ws.workspaceId, { drop: ['__name__'], hash: [] })).toThrow(/metric name/);
    expect(() => store.set(ws.workspaceId, { drop: ['a'], hash: ['a'] })).toThrow(/both dropped and hashed/);
    expect(() => store.set(ws.workspaceId, { drop: ['bad-name'], hash: [] })).toThrow(/not a valid label name/);
    control.db.pragma('wal_checkpoint(TRUNCATE)');
    expect(readFileSync(join(dir, 'control.db')).toString('latin1')).not.toContain('email_address');
  });
});

describe('discovery scan', () => {
  it('finds planted personal data in series, alias and tags with progress, and incrementally', async () => {
    const ws = control.createWorkspace({ alias: 'billing for jane.doe@example.com', tags: { owner: 'team-a' } });
    const db = openTsdb({ path: join(dir, 'ws.db'), workspaceId: ws.workspaceId, keys: control.dataKeys(ws.workspaceId) });
    const app = db.appender();
    for (let i = 0; i < 2500; i++) {
      const rec: Record<string, string> = { __name__: 'payments_total', instance: `10.0.${i >> 8}.${i & 255}:9100`, job: 'billing', version: '1.2.3', request_id: `${1000000000000 + i}` };
      if (i % 10 === 0) rec.customer_email = `customer${i}@example.org`;
      if (i % 100 === 0) rec.card = '4111 1111 1111 1111';
      app.append(0, labelsFromRecord(rec), 1_700_000_000_000, i);
    }
    app.commit();
    const progress: number[] = [];
    const report = await scanWorkspace(ws, db.querier(), (p) => progress.push(p.seriesScanned));
    expect(report.seriesScanned).toBe(2500);
    expect(progress).toEqual([1000, 2000, 2500]);
    const byKey = Object.fromEntries(report.findings.map((f) => [`${f.kind}:${f.labelName}`, f]));
    expect(Object.keys(byKey).sort()).toEqual(['email:alias', 'email:customer_email', 'payment_card:card']);
    expect(byKey['email:customer_email']).toMatchObject({ series: 250, example: expect.stringMatching(/^c\*\*\*@e\*\*\*\.org$/) });
    expect(byKey['payment_card:card']).toMatchObject({ series: 25, example: '**** **** **** 1111' });
    // The store's series come a part a turn, never in one listing of them all.
    const parted = db.querier();
    parted.series = () => {
      throw new Error('every series listed at once');
    };
    expect((await scanWorkspace(ws, parted)).findings).toEqual(report.findings);

    const index = new DiscoveryIndex();
    index.setScan(report);
    index.observeNewSeries(ws.workspaceId, [labelsFromRecord({ __name__: 'x', phone: '+44 20 7946 0958' }), labelsFromRecord({ __name__: 'x', customer_email: 'a@b.example.com' })]);
    const all = index.all();
    expect(all.find((f) => f.kind === 'phone')).toMatchObject({ workspaceId: ws.workspaceId, labelName: 'phone', series: 1 });
    expect(all.find((f) => f.labelName === 'customer_email')!.series).toBe(251);
    expect(JSON.stringify(all)).not.toContain('jane.doe');

    // A scan in turns: a series ingest makes while it runs (not in its listing) counts once, not never.
    const again = new DiscoveryIndex();
    again.observeNewSeries(ws.workspaceId, [labelsFromRecord({ __name__: 'payments_total', customer_email: 'customer0@example.org' })]); // one the listing holds
    let done = false;
    const rescanned = again.rescan(ws, db.querier()).finally(() => (done = true));
    again.observeNewSeries(ws.workspaceId, [labelsFromRecord({ __name__: 'late', customer_email: 'late@example.org' })]);
    let turns = 0;
    while (!done) {
      turns++;
      await new Promise((r) => setImmediate(r));
    }
    expect((await rescanned)!.seriesScanned).toBe(2500);
    expect(turns).toBeGreaterThanOrEqual(2); // 2,500 series, 1,000 a turn
    expect(again.all().find((f) => f.labelName === 'customer_email')!.series).toBe(251);
    // Forgotten (the workspace deleted) while it ran: its findings do not come back.
    const gone = again.rescan(ws, db.querier());
    again.forget(ws.workspaceId);
    expect(await gone).toBeNull();
    expect(again.all()).toEqual([]);
    db.close();
  });
});
