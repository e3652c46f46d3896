// The anchored/smoothed modifiers and info() beyond Prometheus's own scripts (test/fixtures/promql-experimental):
// their parse errors and printing as Prometheus's parser and printer give them, and range queries
// (evaluated step by step, never by the range fast path) agreeing with instant queries per step.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../../../shared/labels';
import { createCipher } from '../../../main/crypto/cipher';
import { instantQuery, rangeQuery } from '../../../main/query/engine';
import { ParseError, parseExpr } from '../../../main/query/parser';
import { printExpr } from '../../../main/query/printer';
import { openTsdb, type Tsdb } from '../../../main/tsdb/index';

function parseError(q: string): string {
  try {
    parseExpr(q);
  } catch (e) {
    if (e instanceof ParseError) return e.message;
    throw e;
  }
  return '';
}

describe('anchored and smoothed', () => {
  it('parses and prints them as Prometheus does (modifier after the range, before @ and offset)', () => {
    expect(printExpr(parseExpr('rate(x[5m] anchored)'))).toBe('rate(x[5m] anchored)');
    expect(printExpr(parseExpr('rate(x[5m] offset 1m smoothed)'))).toBe('rate(x[5m] smoothed offset 1m)');
    expect(printExpr(parseExpr('x smoothed'))).toBe('x smoothed');
    expect(printExpr(parseExpr('increase(x[5m] @ 100 anchored)'))).toBe('increase(x[5m] anchored @ 100.000)');
  });

  it('refuses them where Prometheus does', () => {
    expect(parseError('x[5m:1m] anchored')).toBe('anchored modifier is not supported for subqueries');
    expect(parseError('rate(x[5m:1m] smoothed)')).toBe('smoothed modifier is not supported for subqueries');
    expect(parseError('x[5m] anchored smoothed')).toBe('anchored and smoothed modifiers cannot be used together');
    expect(parseError('(1 + 2) anchored')).toBe('anchored modifier not implemented');
  });

  it('gives the same values in a range query as in instant queries at each step, through aggregations', () => {
    const db = store();
    const app = db.appender();
    // A counter with a reset and a gap, and a steady one; 15 s apart.
    const a = [1, 2, 3, 4, 5, 9, 10, 11, 12, 13, NaN, NaN, 3, 4];
    a.forEach((v, i) => Number.isNaN(v) || app.append(0, labelsFromRecord({ __name__: 'metric', id: '1' }), T0 + i * 15_000, v));
    for (let i = 0; i < 14; i++) app.append(0, labelsFromRecord({ __name__: 'metric', id: '2' }), T0 + i * 15_000, 5 * i);
    app.commit();
    for (const q of ['sum(increase(metric[1m] anchored))', 'sum by (id) (rate(metric[1m] smoothed))', 'changes(metric[1m] anchored)', 'max(metric smoothed)', '2 * resets(metric[45s] anchored)']) {
      const r = rangeQuery(db.querier(), q, T0, T0 + 200_000, 20_000).value;
      if (r.type !== 'matrix') throw new Error('expected a matrix');
      for (let t = T0; t <= T0 + 200_000; t += 20_000) {
        const inst = instantQuery(db.querier(), q, t).value;
        if (inst.type !== 'vector') throw new Error('expected a vector');
        const fromRange = r.series.flatMap((s) => s.ts.map((ts, i) => [ts, s.fs[i]!, JSON.stringify(s.metric)] as const)).filter(([ts]) => ts === t);
        expect(fromRange.map(([, f, m]) => [m, f]).sort(), `${q} at ${t - T0}`).toEqual(inst.samples.map((x) => [JSON.stringify(x.metric), x.f]).sort());
      }
    }
  });
});

describe('info()', () => {
  it('takes a label selector without a name as its second argument, as Prometheus does', () => {
    expect(printExpr(parseExpr('info(up, {data=~".*"})'))).toBe('info(up, {data=~".*"})');
    expect(parseError('info(up, build_info)')).toBe('expected label selectors only, got vector selector instead');
    expect(parseError('info(up, {a="b"} + 1)')).toBe('expected label selectors only');
    expect(parseError('info(up, {a=~".*"}, {b="c"})')).toMatch(/expected at most 2 argument\(s\) in call to "info", got 3/);
  });
});

const T0 = 1_790_000_000_000;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function store(): Tsdb {
  const dir = mkdtempSync(join(tmpdir(), 'ampule-extended-'));
  const cipher = createCipher(randomBytes(32));
  const db = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'ws-extendedtest', keys: { current: 1, get: () => cipher } });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => db.close());
  return db;
}
