// The evaluator over a real encrypted store: query_offset shifts both the query and the output
// timestamps, a failing rule reports its error in its health while the next rules still run,
// alert limits, and the resolved-alert retention.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../../../shared/labels';
import { createCipher } from '../../../main/crypto/cipher';
import { instantQuery } from '../../../main/query/engine';
import { openTsdb, type Tsdb } from '../../../main/tsdb';
import { GroupEvaluator, RESOLVED_RETENTION_MS } from '../../../main/rules/evaluator';
import { parseRuleFile } from '../../../main/rules/rule-file';
import type { FloatHistogram } from '../../../main/tsdb/histogram';
import { STALE_NAN_BITS } from '../../../main/tsdb/types';
import { fromBits } from '../tsdb/helpers';

let dir: string;
let db: Tsdb;
const storage = () => ({ querier: () => db.querier(), appender: () => db.appender() });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ampule-rules-eval-'));
  const cipher = createCipher(randomBytes(32));
  db = openTsdb({ path: join(dir, 's.db'), workspaceId: 'eval', keys: { current: 1, get: () => cipher }, outOfOrderWindowMs: Number.MAX_SAFE_INTEGER });
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function load(name: string, labels: Record<string, string>, points: [number, number][]): void {
  const app = db.appender();
  for (const [t, v] of points) app.append(0, labelsFromRecord({ __name__: name, ...labels }), t, v);
  app.commit();
}

function values(expr: string, t: number): Record<string, number> {
  const r = instantQuery(db.querier(), expr, t);
  if (r.value.type !== 'vector') throw new Error('not a vector');
  return Object.fromEntries(r.value.samples.map((s) => [s.metric.map((l) => `${l.name}=${l.value}`).join(','), s.f]));
}

function group(yaml: string, i = 0) {
  return new GroupEvaluator(parseRuleFile(yaml).groups[i]!);
}

describe('GroupEvaluator', () => {
  it('query_offset evaluates and stamps the output that much earlier', () => {
    load('m', {}, [[0, 1], [60_000, 2], [120_000, 3]]);
    const g = group('groups:\n  - name: g\n    query_offset: 1m\n    rules:\n      - record: m:copy\n        expr: m\n');
    g.eval(storage(), 120_000);
    expect(g.rules[0]!.health).toMatchObject({ health: 'ok', lastError: null, lastEvaluation: 60_000 });
    expect(values('m:copy', 60_000)).toEqual({ '__name__=m:copy': 2 });
  });

  it('a failing rule shows its error; the rules after it still run', () => {
    load('m', { a: '1' }, [[0, 1]]);
    load('m', { a: '2' }, [[0, 1]]);
    const g = group('groups:\n  - name: g\n    rules:\n      - record: clash\n        expr: m\n        labels:\n          a: same\n      - record: ok\n        expr: count(m)\n');
    g.eval(storage(), 0);
    expect(g.rules[0]!.health.health).toBe('err');
    expect(g.rules[0]!.health.lastError).toBe('vector contains metrics with the same labelset after applying rule labels');
    expect(g.rules[1]!.health.health).toBe('ok');
    expect(values('ok', 0)).toEqual({ '__name__=ok': 2 });
  });

  it('an alerting rule over its group limit fails and forgets its alerts', () => {
    load('up', { i: 'a' }, [[0, 0]]);
    load('up', { i: 'b' }, [[0, 0]]);
    const g = group('groups:\n  - name: g\n    limit: 1\n    rules:\n      - alert: Down\n        expr: up == 0\n');
    g.eval(storage(), 0);
    expect(g.rules[0]!.health.lastError).toBe('exceeded limit of 1 with 2 alerts');
    expect(g.rules[0]!.alerts()).toEqual([]);
  });

  it('pending → firing → resolved, kept for the retention period, then dropped', () => {
    load('up', { i: 'a' }, [[0, 0], [60_000, 0], [120_000, 1]]);
    const g = group('groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n        for: 1m\n');
    const rule = g.rules[0]!;
    g.eval(storage(), 0);
    expect(rule.alerts().map((a) => a.state)).toEqual(['pending']);
    g.eval(storage(), 60_000);
    expect(rule.alerts().map((a) => [a.state, a.activeAt, a.firedAt])).toEqual([['firing', 0, 60_000]]);
    g.eval(storage(), 120_000);
    expect(rule.alerts()).toEqual([]);
    expect([...rule.active.values()].map((a) => [a.state, a.resolvedAt])).toEqual([['inactive', 120_000]]);
    // The ALERTS series went stale when the alert resolved.
    expect(values('ALERTS', 120_000)).toEqual({});
    g.eval(storage(), 120_000 + RESOLVED_RETENTION_MS + 1);
    expect(rule.active.size).toBe(0);
  });
});

describe('recording rules over native histograms', () => {
  const hist = (count: number, sum: number, buckets: number[]): FloatHistogram => ({
    counterResetHint: 'unknown',
    schema: 0,
    zeroThreshold: 0.001,
    zeroCount: 0,
    count,
    sum,
    positiveSpans: [{ offset: 0, length: buckets.length }],
    negativeSpans: [],
    positiveBuckets: buckets,
    negativeBuckets: [],
  });

  it('a histogram result is stored as a native histogram, and goes stale when the rule stops producing it', () => {
    const app = db.appender();
    app.appendHistogram(0, labelsFromRecord({ __name__: 'lat', pod: 'a' }), 0, hist(3, 6, [1, 2]));
    app.appendHistogram(0, labelsFromRecord({ __name__: 'lat', pod: 'b' }), 0, hist(4, 10, [3, 1]));
    app.commit();
    const g = group('groups:\n  - name: g\n    rules:\n      - record: lat:sum\n        expr: sum(lat)\n');
    g.eval(storage(), 0);
    expect(g.rules[0]!.health).toMatchObject({ health: 'ok', lastError: null });
    const r = instantQuery(db.querier(), 'lat:sum', 0);
    if (r.value.type !== 'vector') throw new Error('not a vector');
    expect(r.value.samples).toHaveLength(1);
    expect(r.value.samples[0]!.h).toMatchObject({ count: 7, sum: 16, positiveBuckets: [4, 3] });
    expect(values('histogram_count(lat:sum)', 0)).toEqual({ '': 7 });
    // The inputs go stale at 1 min; at 2 min the rule produces nothing and its series ends with a
    // staleness marker (without one, lat:sum at 0 would still answer at 2.5 min through the lookback).
    const stale = db.appender();
    for (const pod of ['a', 'b']) stale.append(0, labelsFromRecord({ __name__: 'lat', pod }), 60_000, fromBits(STALE_NAN_BITS));
    stale.commit();
    expect(values('lat:sum', 150_000)).toHaveProperty(['__name__=lat:sum']);
    g.eval(storage(), 120_000);
    expect(g.rules[0]!.health.health).toBe('ok');
    expect(values('lat:sum', 150_000)).toEqual({});
  });
});
