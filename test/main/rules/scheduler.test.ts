// The rule scheduler over a real encrypted store: Prometheus's aligned evaluation timestamps,
// query_offset, yielding to the event loop between rules, missed and failed evaluations counted,
// a query that times out failing its rule only, and reload keeping an unchanged group's state.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../../../shared/labels';
import { createCipher } from '../../../main/crypto/cipher';
import { openTsdb, type Tsdb } from '../../../main/tsdb';
import { instantQuery } from '../../../main/query/engine';
import { RuleScheduler, evalTimestamp, groupOffsetMs, type ScheduledGroup, type ScheduledNamespace } from '../../../main/rules/scheduler';

let dir: string;
let db: Tsdb;
let sched: RuleScheduler | null = null;
const storage = () => ({ querier: () => db.querier(), appender: () => db.appender() });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ampule-rules-sched-'));
  const cipher = createCipher(randomBytes(32));
  db = openTsdb({ path: join(dir, 's.db'), workspaceId: 'sched', keys: { current: 1, get: () => cipher }, outOfOrderWindowMs: Number.MAX_SAFE_INTEGER });
  const app = db.appender();
  for (const i of ['a', 'b']) app.append(0, labelsFromRecord({ __name__: 'm', instance: i }), Date.now() - 1000, 1);
  app.commit();
});
afterEach(() => {
  sched?.close();
  sched = null;
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const file = (groups: string) => ({ name: 'ns', data: `groups:\n${groups}` });
const group = (name: string, interval: string, rules: string[], extra = '') => `  - name: ${name}\n    interval: ${interval}\n${extra}    rules:\n${rules.map((r) => `      - ${r}\n`).join('')}`;
const record = (n: number) => `record: r${n}\n        expr: sum(m)`;

function waitFor(f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = () => (f() ? resolve() : Date.now() > end ? reject(new Error('timed out')) : setTimeout(check, 20));
    check();
  });
}

describe('alignment', () => {
  it('offsets a group within its interval from its name and file, the same on every start', () => {
    const o = groupOffsetMs('g', 'ns', 60_000);
    expect(o).toBeGreaterThanOrEqual(0);
    expect(o).toBeLessThan(60_000);
    expect(groupOffsetMs('g', 'ns', 60_000)).toBe(o);
    const spread = new Set(Array.from({ length: 20 }, (_, i) => groupOffsetMs(`g${i}`, 'ns', 60_000)));
    expect(spread.size).toBeGreaterThan(15);
  });

  it('gives the latest aligned time at or before now (Prometheus EvalTimestamp)', () => {
    expect(evalTimestamp(125_000, 60_000, 7_000)).toBe(67_000);
    expect(evalTimestamp(127_000, 60_000, 7_000)).toBe(127_000);
    expect(evalTimestamp(126_999, 60_000, 7_000)).toBe(67_000);
  });
});

describe('RuleScheduler', () => {
  it('evaluates each group at aligned timestamps with its query_offset and writes the output', async () => {
    const seen: number[] = [];
    let g!: ScheduledGroup;
    sched = new RuleScheduler(storage(), () => [file(group('fast', '1s', [record(1)], '    query_offset: 250ms\n'))], {
      afterEval: (grp, ts) => {
        g = grp;
        seen.push(ts);
      },
    });
    await waitFor(() => seen.length >= 2);
    const offset = groupOffsetMs('fast', 'ns', 1000);
    for (const ts of seen) expect(((ts - offset) % 1000 + 1000) % 1000).toBe(0);
    expect(seen[1]! - seen[0]!).toBe(1000);
    const rule = g.evaluator.rules[0]!;
    expect(rule.health).toMatchObject({ health: 'ok', lastError: null });
    expect(rule.health.lastEvaluation).toBe(seen[seen.length - 1]! - 250);
    const out = instantQuery(db.querier(), 'r1', rule.health.lastEvaluation!);
    expect(out.value.type === 'vector' && out.value.samples.map((x) => x.f)).toEqual([2]);
    expect(g.evaluations).toBeGreaterThanOrEqual(2);
    expect(g.failed).toBe(0);
  });

  it('yields to the event loop between rules, so other work runs mid-group', async () => {
    sched = new RuleScheduler(storage(), () => [file(group('many', '1h', [1, 2, 3, 4, 5].map(record)))]);
    const g = sched.groups()[0]!;
    const done = sched.evaluate(g, Date.now());
    const midway = await new Promise<number>((r) => setImmediate(() => r(g.evaluator.rules.filter((x) => x.health.health !== 'unknown').length)));
    expect(g.running).toBe(true);
    expect(midway).toBeGreaterThan(0);
    expect(midway).toBeLessThan(5);
    await done;
    expect(g.evaluator.rules.every((x) => x.health.health === 'ok')).toBe(true);
  });

  it('counts failed evaluations and missed intervals', async () => {
    let skew = 0;
    let evals = 0;
    sched = new RuleScheduler(storage(), () => [file(group('lim', '1s', [record(1) + '\n        labels: {x: y}', 'record: per_instance\n        expr: m'], '    limit: 1\n'))], {
      now: () => Date.now() + skew,
      afterEval: () => evals++,
    });
    const g = sched.groups()[0]!;
    await waitFor(() => evals >= 1);
    expect(g.failed).toBe(1); // per_instance gives 2 series over the limit of 1
    expect(g.evaluator.rules[1]!.health).toMatchObject({ health: 'err', lastError: 'exceeded limit of 1 with 2 series' });
    expect(g.evaluator.rules[0]!.health.health).toBe('ok');
    skew = 3_500; // the process "slept" through three intervals
    await waitFor(() => evals >= 2);
    expect(g.missed).toBeGreaterThanOrEqual(3);
  });

  it('a rule whose query times out shows the timeout in its health; other groups go on', async () => {
    let evals = 0;
    // A deadline already past: every query that reads the store times out (vector(1) reads nothing).
    sched = new RuleScheduler(storage(), () => [file(group('slow', '1s', ['record: s\n        expr: sum(m)']) + group('fine', '1s', ['record: f\n        expr: vector(1)']))], {
      evaluator: { engine: { timeoutMs: -1 } },
      afterEval: () => evals++,
    });
    const [slow, fine] = sched.groups() as [ScheduledGroup, ScheduledGroup];
    await waitFor(() => evals >= 4); // finished evaluations of both groups
    expect(slow.evaluator.rules[0]!.health).toMatchObject({ health: 'err', lastError: expect.stringMatching(/^query timed out in /) });
    expect(slow.failed).toBeGreaterThanOrEqual(1);
    expect(fine.evaluator.rules[0]!.health).toMatchObject({ health: 'ok', lastError: null });
    expect(fine.failed).toBe(0);
    expect(Math.min(slow.evaluations, fine.evaluations)).toBeGreaterThanOrEqual(2); // one group failing holds up no other
  });

  it('keeps an unchanged group (and its state) across a reload, replaces a changed one, drops a removed one', () => {
    let files: ScheduledNamespace[] = [file(group('a', '1h', [record(1)]) + group('b', '1h', [record(2)]))];
    sched = new RuleScheduler(storage(), () => files);
    const [a, b] = sched.groups();
    files = [file(group('a', '1h', [record(1)]) + group('b', '2h', [record(2)]))];
    sched.reload();
    expect(sched.groups()[0]).toBe(a);
    expect(sched.groups()[1]).not.toBe(b);
    expect(sched.groups()[1]!.intervalMs).toBe(7_200_000);
    files = [];
    sched.reload();
    expect(sched.groups()).toEqual([]);
  });

  it('restores pending alerts from ALERTS_FOR_STATE after a restart, with the downtime and the grace period', async () => {
    const ts = Math.floor(Date.now() / 1000) * 1000;
    const MIN = 60_000;
    const app = db.appender();
    const state = (alertname: string, instance: string, activeAt: number, downAt: number) => app.append(0, labelsFromRecord({ __name__: 'ALERTS_FOR_STATE', alertname, instance }), downAt, activeAt / 1000);
    state('Short', 'a', ts - 15 * MIN, ts - 2 * MIN); // 13m of its 20m spent: 7m left < 10m grace
    state('Long', 'a', ts - 15 * MIN, ts - 5 * MIN); // 10m of its 1h spent: resumes, shifted by the 5m down
    state('Fast', 'a', ts - 15 * MIN, ts - 2 * MIN); // for 5m < grace: not restored
    app.commit();
    const alert = (name: string, forDur: string) => `alert: ${name}\n        expr: m > 0\n        for: ${forDur}`;
    sched = new RuleScheduler(storage(), () => [file(group('g', '1h', [alert('Short', '20m'), alert('Long', '1h'), alert('Fast', '5m')]))]);
    const g = sched.groups()[0]!;
    await sched.evaluate(g, ts);
    const activeAt = (rule: number, instance: string) => [...g.evaluator.rules[rule]!.active.values()].find((a) => a.labels.some((l) => l.name === 'instance' && l.value === instance))!.activeAt;
    expect(activeAt(0, 'a')).toBe(ts + 10 * MIN - 20 * MIN);
    expect(activeAt(1, 'a')).toBe(ts - 15 * MIN + 5 * MIN);
    expect(activeAt(2, 'a')).toBe(ts);
    expect(activeAt(0, 'b')).toBe(ts); // no stored state: starts now
    expect(g.evaluator.rules.every((r) => r.restored)).toBe(true);
    // The first evaluation wrote no ALERTS_FOR_STATE (it would have hidden the state); the next one does.
    const forState = (t: number) => db.querier().select([{ type: '=', name: '__name__', value: 'ALERTS_FOR_STATE' }], t, t).length;
    expect(forState(ts)).toBe(0);
    await sched.evaluate(g, ts + 1000);
    expect(forState(ts + 1000)).toBe(6);
  });
});
