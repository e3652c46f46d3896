// The rule scheduler with its queries on a real query pool over a real encrypted store: a group's
// rules still run in order (a rule reads what the rule before it recorded at the same timestamp),
// alerts keep their state machine, and the workspace's query concurrency gate applies (a rule
// that cannot get a slot within the query timeout fails with Prometheus's queue message).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../../../shared/labels';
import { createCipher } from '../../../main/crypto/cipher';
import { openTsdb, type Tsdb } from '../../../main/tsdb';
import { instantQuery } from '../../../main/query/engine';
import { QueryLimiter } from '../../../main/query/limits';
import { QueryPool } from '../../../main/http/query-pool';
import { RuleScheduler } from '../../../main/rules/scheduler';

let dir: string;
let db: Tsdb;
let sched: RuleScheduler | null = null;
const pool = new QueryPool(1);
afterAll(() => pool.close());

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ampule-rules-pool-'));
  const cipher = createCipher(randomBytes(32));
  db = openTsdb({ path: join(dir, 's.db'), workspaceId: 'pool', keys: { current: 1, get: () => cipher } });
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

const RULES = `groups:
  - name: g
    interval: 1h
    rules:
      - record: r1
        expr: sum(m)
      - record: r2
        expr: r1 * 2
      - alert: Two
        expr: r2 == 4
        for: 0s
        annotations:
          summary: '{{ $value }}'
`;

describe('rule queries on the query pool', () => {
  it('runs a group in order at one timestamp, as in thread', async () => {
    const limiter = new QueryLimiter(2);
    sched = new RuleScheduler({ querier: () => db.querier(), appender: () => db.appender(), queries: () => limiter }, () => [{ name: 'ns', data: RULES }], { timers: false, queryRunner: pool });
    const g = sched.groups()[0]!;
    const ts = Date.now();
    await sched.evaluate(g, ts);
    expect(g.evaluator.rules.map((r) => [r.health.health, r.health.lastError])).toEqual([['ok', null], ['ok', null], ['ok', null]]);
    const r2 = instantQuery(db.querier(), 'r2', ts).value;
    expect(r2.type === 'vector' && r2.samples.map((s) => s.f)).toEqual([4]);
    expect(g.evaluator.rules[2]!.alerts().map((a) => [a.state, a.annotations.summary])).toEqual([['firing', '4']]);
    expect(limiter.load).toEqual({ running: 0, queued: 0 });
  });

  it("runs an alert template's query calls on the pool too, including queries named by an earlier answer", async () => {
    const rules = `groups:
  - name: t
    interval: 1h
    rules:
      - alert: Templated
        expr: sum(m) == 2
        annotations:
          total: '{{ with query "sum(m)" }}{{ . | first | value }}{{ end }}'
          each: >-
            {{ range query "m" }}{{ with query (printf "m{instance='%s'} * 10" .Labels.instance) }}{{ . | first | value }};{{ end }}{{ end }}
          bad: '{{ with query "sum(" }}{{ . }}{{ end }}'
`;
    let selectsHere = 0;
    // The store as the pool reads it (off-thread snapshots); a select on it means this thread evaluated.
    const counted = () => new Proxy(db.querier(), { get: (q, k) => (k === 'select' && selectsHere++, Reflect.get(q, k)) });
    sched = new RuleScheduler({ querier: counted, appender: () => db.appender(), queries: () => new QueryLimiter(2) }, () => [{ name: 'ns', data: rules }], { timers: false, queryRunner: pool });
    const g = sched.groups()[0]!;
    await sched.evaluate(g, Date.now());
    const [alert] = g.evaluator.rules[0]!.alerts();
    expect(alert?.annotations.total).toBe('2');
    expect(alert?.annotations.each).toBe('10;10;');
    expect(alert?.annotations.bad).toMatch(/^<error expanding template: error executing template __alert_Templated: .*<query "sum\(">: error calling query: 1:5: parse error: unexpected end of input>$/);
    expect(selectsHere).toBe(0);
    // The same annotations as when this thread evaluates the templates' queries itself.
    const here = new RuleScheduler({ querier: () => db.querier(), appender: () => db.appender() }, () => [{ name: 'ns', data: rules }], { timers: false });
    try {
      await here.evaluate(here.groups()[0]!, Date.now());
      expect(here.groups()[0]!.evaluator.rules[0]!.alerts()[0]?.annotations).toEqual(alert?.annotations);
    } finally {
      here.close();
    }
  });

  it('with query threads that cannot load, the group is evaluated on this thread with the same results', async () => {
    const script = join(dir, 'broken-worker.mjs');
    writeFileSync(script, "throw new Error('this bundle cannot load here');\n");
    const broken = new QueryPool(1, { script: pathToFileURL(script) });
    try {
      sched = new RuleScheduler({ querier: () => db.querier(), appender: () => db.appender(), queries: () => new QueryLimiter(2) }, () => [{ name: 'ns', data: RULES }], { timers: false, queryRunner: broken });
      const g = sched.groups()[0]!;
      const ts = Date.now();
      await sched.evaluate(g, ts);
      expect(broken.unavailable).toMatch(/this bundle cannot load here/);
      expect(g.evaluator.rules.map((r) => [r.health.health, r.health.lastError])).toEqual([['ok', null], ['ok', null], ['ok', null]]);
      const r2 = instantQuery(db.querier(), 'r2', ts).value;
      expect(r2.type === 'vector' && r2.samples.map((s) => s.f)).toEqual([4]);
    } finally {
      await broken.close();
    }
  });

  it("waits for the workspace's query slot; past the timeout the rule fails with the queue message", async () => {
    const limiter = new QueryLimiter(1);
    expect(await limiter.acquire(0)).toBe(true); // an API query holds the only slot
    sched = new RuleScheduler({ querier: () => db.querier(), appender: () => db.appender(), queries: () => limiter }, () => [{ name: 'ns', data: RULES }], { timers: false, queryRunner: pool, evaluator: { engine: { timeoutMs: 100 } } });
    const g = sched.groups()[0]!;
    await sched.evaluate(g, Date.now());
    expect(g.evaluator.rules[0]!.health.lastError).toBe('query timed out in query queue');
    expect(g.failed).toBe(1);
    limiter.release();
    await sched.evaluate(g, Date.now() + 1000);
    expect(g.evaluator.rules.map((r) => r.health.health)).toEqual(['ok', 'ok', 'ok']);
  });
});
