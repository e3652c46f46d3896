// The activity log against a real control database: filters, aggregation, encryption at rest,
// and tamper detection for each kind of change someone with only disk access could make.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openControlDb } from '../../../main/control/db';
import { masterKey, newKey } from '../../../main/crypto/master-key';
import { DecryptError } from '../../../main/crypto/types';
import { openActivityLog, scrubDetail, type ActivityLog, type ChainPoint } from '../../../main/audit/activity-log';
import { activityKeys, withActivityKey } from '../../../main/audit/log-key';
import type { WrappedKeyStore } from '../../../main/crypto/rotation';

let dir: string;
let db: Database.Database;
let log: ActivityLog;
let clock: number;
const master = masterKey(newKey());

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ampule-audit-'));
  db = openControlDb(join(dir, 'control.db'));
  clock = Date.parse('2026-11-28T12:00:00Z');
  log = openActivityLog(db, activityKeys(db, master), { now: () => clock, timer: false });
});
afterEach(() => {
  log.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Record `seq` as a point a verification can start after. */
function pointAt(seq: number): ChainPoint {
  return { seq, chain: (db.prepare(`SELECT chain FROM activity_log WHERE seq = ?`).get(seq) as { chain: Buffer }).chain };
}

function fill(n: number): void {
  for (let i = 0; i < n; i++) {
    clock += 1000;
    log.append({ action: i % 2 ? 'token.create' : 'workspace.create', outcome: 'ok', actor: 'cli', workspaceId: `ws-${i % 3}abc`, detail: `alias=customer-${i}` });
  }
}

describe('activity log', () => {
  it('pages newest first and filters by action prefix, workspace, outcome and time', () => {
    fill(10);
    log.append({ action: 'token.verify', outcome: 'denied', actor: '10.0.0.1', workspaceId: 'ws-0abc', detail: 'unknown token' });
    const p1 = log.list({ limit: 4 });
    expect(p1.entries.map((e) => e.seq)).toEqual([11, 10, 9, 8]);
    const p2 = log.list({ limit: 4, before: p1.nextBefore! });
    expect(p2.entries.map((e) => e.seq)).toEqual([7, 6, 5, 4]);
    expect(log.list({ limit: 10, before: 3 }).nextBefore).toBeNull();
    expect(log.list({ action: 'token.' }).entries.map((e) => e.seq)).toEqual([11, 10, 8, 6, 4, 2]);
    expect(log.list({ workspaceId: 'ws-0abc', outcome: 'denied' }).entries).toHaveLength(1);
    const t0 = Date.parse('2026-11-28T12:00:00Z');
    expect(log.list({ since: t0 + 3000, until: t0 + 5000 }).entries.map((e) => e.seq)).toEqual([4, 3]);
    const e = log.list({ limit: 1 }).entries[0]!;
    expect(e).toMatchObject({ actor: '10.0.0.1', action: 'token.verify', outcome: 'denied', workspaceId: 'ws-0abc', detail: 'unknown token' });
  });

  it('keeps actor and detail encrypted on disk', () => {
    log.append({ action: 'workspace.rename', outcome: 'ok', actor: 'console:admin-zebra', detail: 'alias=payroll-quokka' });
    db.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = readFileSync(join(dir, 'control.db')).toString('latin1');
    expect(bytes).toContain('workspace.rename');
    expect(bytes).not.toContain('payroll-quokka');
    expect(bytes).not.toContain('admin-zebra');
  });

  it('records a control-plane ActivityEvent and never a token', () => {
    log.record({ action: 'token.create', actor: 'cli', workspaceId: 'ws-abc', outcome: 'success', details: { tokenId: 'tok1', scopes: 'query' } });
    log.append({ action: 'token.verify', outcome: 'denied', actor: 'x', detail: 'bad token amp_tok1_c2VjcmV0c2VjcmV0c2VjcmV0' });
    log.append({ action: 'console.login', outcome: 'denied', actor: 'x', detail: 'Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345' });
    const [c, b, a] = log.list({}).entries;
    expect(a).toMatchObject({ outcome: 'ok', detail: 'tokenId=tok1, scopes=query', workspaceId: 'ws-abc' });
    expect(b!.detail).toBe('bad token amp_[withheld]');
    expect(c!.detail).toMatch(/withheld/);
    expect(scrubDetail('workspace created')).toBe('workspace created');
  });

  it('aggregates a flood of failures into one record per workspace, reason and minute', () => {
    for (let i = 0; i < 20_000; i++) log.appendAggregated({ action: 'auth.failure', outcome: 'denied', actor: `10.0.0.${i % 7}`, workspaceId: 'ws-abc', detail: 'unknown token' });
    for (let i = 0; i < 2_000; i++) log.appendAggregated({ action: 'auth.failure', outcome: 'denied', actor: 'x', workspaceId: `ws-r${i}`, detail: 'unknown workspace' });
    clock += 60_000; // next minute: the previous one is written
    log.appendAggregated({ action: 'auth.failure', outcome: 'denied', actor: 'y', workspaceId: 'ws-abc', detail: 'unknown token' });
    log.flush();
    const all = [...log.exportRecords()];
    expect(all.length).toBeLessThanOrEqual(258);
    expect(all.reduce((s, r) => s + r.count, 0)).toBe(22_001);
    const flood = all.find((r) => r.workspaceId === 'ws-abc' && r.count > 1)!;
    expect(flood.count).toBe(20_000);
    expect(flood.actor).toBe('10.0.0.0 and 6 other(s)');
    expect(log.verify().ok).toBe(true);
  });

  it('verifies in turns of the event loop, and records appended meanwhile are left to the next run', async () => {
    fill(20);
    let turns = 0;
    let done = false;
    const running = log.verifyInTurns(3).finally(() => (done = true));
    log.append({ action: 'token.create', outcome: 'ok', actor: 'cli', detail: 'appended while verifying' });
    while (!done) {
      turns++;
      await new Promise((r) => setImmediate(r));
    }
    expect(await running).toEqual({ ok: true, checked: 20, brokenAtSeq: null, message: 'all 20 records are intact and in order' });
    expect(turns).toBeGreaterThanOrEqual(6); // 20 records, 3 a turn
    expect(await log.verifyInTurns()).toEqual(log.verify());
    expect(log.verify()).toMatchObject({ ok: true, checked: 21 });
  });

  it('verifies an intact chain and exports JSON-ready records', () => {
    fill(20);
    expect(log.verify()).toEqual({ ok: true, checked: 20, brokenAtSeq: null, message: 'all 20 records are intact and in order' });
    const since = Date.parse('2026-11-28T12:00:15Z');
    const exp = [...log.exportRecords({ since })];
    expect(exp.map((r) => r.seq)).toEqual([15, 16, 17, 18, 19, 20]);
    expect(exp[0]!.chain).toMatch(/^[0-9a-f]{64}$/);
  });

  it('verifies only the records after an earlier intact point, unless that record changed', async () => {
    fill(12);
    const at5 = pointAt(5);
    db.prepare(`UPDATE activity_log SET outcome = 'denied' WHERE seq = 2`).run(); // before the point: not read again
    expect(await log.verifyInTurns(500, at5)).toEqual({ ok: true, checked: 12, brokenAtSeq: null, message: 'all 12 records are intact and in order' });
    expect(log.verify()).toMatchObject({ ok: false, brokenAtSeq: 2 });
    db.prepare(`UPDATE activity_log SET outcome = 'denied' WHERE seq = 9`).run(); // after it
    expect(await log.verifyInTurns(500, at5)).toMatchObject({ ok: false, brokenAtSeq: 9 });
    // The point's own record replaced: the whole chain is checked, and names the first damage.
    const other = pointAt(6).chain;
    db.prepare(`UPDATE activity_log SET chain = ? WHERE seq = 5`).run(other);
    expect(await log.verifyInTurns(500, at5)).toMatchObject({ ok: false, brokenAtSeq: 2 });
    // A point past the log's end (records dropped since): the whole chain.
    expect(await log.verifyInTurns(500, { seq: 40, chain: other })).toMatchObject({ ok: false, brokenAtSeq: 2 });
    expect(log.chainPoint().seq).toBe(12);
  });

  // verifyInTurns a record a turn: every page boundary crosses the damage somewhere; from a point
  // found intact before the damage, the same.
  let intactAt2: ChainPoint;
  describe.each([
    ['verify', () => Promise.resolve(log.verify())],
    ['verifyInTurns', () => log.verifyInTurns(1)],
    ['verifyInTurns since record 2', () => log.verifyInTurns(1, intactAt2)],
  ] as const)('%s names the first broken record', (_, broken) => {
    beforeEach(() => {
      fill(12);
      intactAt2 = pointAt(2);
    });

    it('edited clear column', async () => {
      db.prepare(`UPDATE activity_log SET outcome = 'denied' WHERE seq = 5`).run();
      expect(await broken()).toMatchObject({ ok: false, brokenAtSeq: 5, message: expect.stringContaining('edited') });
    });
    it('edited sealed detail', async () => {
      const r = db.prepare(`SELECT sealed FROM activity_log WHERE seq = 7`).get() as { sealed: Buffer };
      r.sealed[20]! ^= 1;
      db.prepare(`UPDATE activity_log SET sealed = ? WHERE seq = 7`).run(r.sealed);
      expect(await broken()).toMatchObject({ ok: false, brokenAtSeq: 7 });
    });
    it('deleted in the middle', async () => {
      db.prepare(`DELETE FROM activity_log WHERE seq IN (4, 5)`).run();
      expect(await broken()).toMatchObject({ ok: false, brokenAtSeq: 4, message: 'record 4–5 is missing (deleted)' });
    });
    it('deleted and renumbered', async () => {
      db.prepare(`DELETE FROM activity_log WHERE seq = 4`).run();
      db.prepare(`UPDATE activity_log SET seq = seq - 1 WHERE seq > 4`).run();
      db.prepare(`UPDATE activity_head SET seq = 11`).run();
      expect(await broken()).toMatchObject({ ok: false, brokenAtSeq: 4, message: expect.stringContaining('out of place') });
    });
    it('deleted at the end', async () => {
      db.prepare(`DELETE FROM activity_log WHERE seq >= 11`).run();
      expect(await broken()).toMatchObject({ ok: false, brokenAtSeq: 11, message: 'record 11–12 at the end is missing (deleted)' });
    });
    it('reordered', async () => {
      db.prepare(`UPDATE activity_log SET seq = -1 WHERE seq = 3`).run();
      db.prepare(`UPDATE activity_log SET seq = 3 WHERE seq = 8`).run();
      db.prepare(`UPDATE activity_log SET seq = 8 WHERE seq = -1`).run();
      expect(await broken()).toMatchObject({ ok: false, brokenAtSeq: 3, message: expect.stringContaining('out of place') });
    });
    it('inserted (a copy of another record appended)', async () => {
      db.prepare(`INSERT INTO activity_log SELECT 13, at, action, outcome, workspace_id, count, sealed, chain, tag FROM activity_log WHERE seq = 2`).run();
      expect(await broken()).toMatchObject({ ok: false, brokenAtSeq: 13 });
    });
    it('emptied completely (every record and the head deleted)', async () => {
      db.prepare(`DELETE FROM activity_log`).run();
      db.prepare(`DELETE FROM activity_head`).run();
      expect(await broken()).toMatchObject({ ok: false, brokenAtSeq: 1, message: expect.stringContaining('emptied') });
    });
    it('head rewritten to hide a truncation', async () => {
      const h = db.prepare(`SELECT chain FROM activity_log WHERE seq = 10`).get() as { chain: Buffer };
      db.prepare(`DELETE FROM activity_log WHERE seq > 10`).run();
      db.prepare(`UPDATE activity_head SET seq = 10, chain = ?`).run(h.chain);
      expect(await broken()).toMatchObject({ ok: false, message: 'the log head was edited' });
    });
  });

  it('survives a master-key rotation (root key re-wrapped, chain unchanged) and refuses a wrong master key', () => {
    fill(5);
    const next = masterKey(newKey());
    const inner: WrappedKeyStore = { keyCheck: () => master.check, setKeyCheck: () => {}, rewrapAll: () => {} };
    withActivityKey(db, inner).rewrapAll((w, ws, gen) => next.wrapDataKey(master.unwrapDataKey(w, ws, gen), ws, gen), next.check);
    const again = openActivityLog(db, activityKeys(db, next), { timer: false });
    expect(again.verify().ok).toBe(true);
    expect(again.list({ limit: 1 }).entries[0]!.detail).toBe('alias=customer-4');
    expect(() => activityKeys(db, masterKey(newKey()))).toThrow(DecryptError);
  });
});

describe('two writers', () => {
  it('keeps one unbroken chain when two connections (processes) append in turn', async () => {
    const d = mkdtempSync(join(tmpdir(), 'ampule-audit2-'));
    const m = masterKey(newKey());
    const db1 = openControlDb(join(d, 'control.db'));
    const keys = activityKeys(db1, m);
    const db2 = openControlDb(join(d, 'control.db'));
    const a = openActivityLog(db1, keys, { timer: false });
    const b = openActivityLog(db2, activityKeys(db2, m), { timer: false });
    for (let i = 0; i < 50; i++) (i % 2 ? a : b).append({ action: 'workspace.create', outcome: 'ok', actor: 'cli', detail: String(i) });
    expect(a.verify()).toMatchObject({ ok: true, checked: 50 });
    a.close(); b.close(); db1.close(); db2.close();
    rmSync(d, { recursive: true, force: true });
  });
});
