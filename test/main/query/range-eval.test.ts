// The range fast path (range-eval.ts) against the step-by-step evaluator: a range query must give
// exactly what instant queries at each of its steps give, on data with the awkward cases —
// counter resets, NaN, stale markers, gaps, equal values for topk ties — over the real store.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCipher } from '../../../main/crypto/cipher';
import { instantQuery, rangeQuery } from '../../../main/query/engine';
import { openTsdb, type Tsdb } from '../../../main/tsdb';
import { labelsFromRecord, labelsKey } from '../../../shared/labels';

const T0 = 1_700_000_000_000;
const STALE = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0]!;
let dir: string;
let db: Tsdb;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ampule-range-eval-'));
  const cipher = createCipher(randomBytes(32));
  db = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'ws-range', keys: { current: 1, get: () => cipher } });
  let seed = 3;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const app = db.appender();
  for (let i = 0; i < 24; i++) {
    const labels = labelsFromRecord({ __name__: i % 3 === 2 ? 'temp' : 'req_total', job: `j${i % 4}`, instance: `h${i}` });
    let ref = 0, v = 0;
    for (let k = 0; k < 240; k++) {
      if (i % 5 === 1 && k > 100 && k < 130) continue; // a gap
      const r = rand();
      if (i % 7 === 3 && k === 150) v = STALE;
      else if (i % 6 === 4 && r < 0.02) v = NaN;
      else if (i % 2 === 0 && r < 0.03) v = Math.floor(r * 100); // counter reset
      else if (i % 4 === 1) v = 10; // equal values: topk ties
      else v = (Number.isFinite(v) ? v : 0) + Math.floor(r * 10);
      ref = app.append(ref, labels, T0 + k * 15_000 + (i % 3) * 1000, v);
    }
  }
  for (let h = 0; h < 3; h++) {
    const counts = [0, 0, 0];
    const refs = [0, 0, 0];
    for (let k = 0; k < 240; k++) {
      const obs = Math.floor(rand() * 10);
      counts[0]! += Math.floor(obs / 3);
      counts[1]! += Math.floor(obs / 2);
      counts[2]! += obs;
      ['0.1', '1', '+Inf'].forEach((le, b) => {
        refs[b] = app.append(refs[b]!, labelsFromRecord({ __name__: 'hist_bucket', instance: `h${h}`, le }), T0 + k * 15_000, counts[b]!);
      });
    }
  }
  // A bucket whose bound is not a number: histogram_quantile warns and leaves it out, at every step.
  for (let k = 0; k < 240; k++) app.append(0, labelsFromRecord({ __name__: 'hist_bucket', instance: 'h1', le: 'garbage' }), T0 + k * 15_000, k);
  app.commit();
});

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const QUERIES = [
  'rate(req_total[1m])', 'increase(req_total[5m])', 'delta(temp[2m])', 'irate(req_total[1m])',
  'avg_over_time(temp[3m])', 'max_over_time(req_total[1m])', 'last_over_time(temp[2m])', 'count_over_time({job="j1"}[45s])',
  'sum by (job) (rate(req_total[1m]))', 'avg without (instance) (rate(req_total[5m] offset 2m))', 'max by (job) (temp)',
  'count(req_total)', 'stddev by (job) (avg_over_time(temp[1m]))', 'sum(sum by (job) (rate({__name__=~"req_total|temp"}[2m])))',
  'topk(3, rate(req_total[1m]))', 'bottomk(2, req_total)', 'topk by (job) (1, last_over_time(req_total[1m]))', 'topk(2, temp)',
  'group by (job) (temp)', 'max_over_time(sum by (job) (rate(req_total[1m]))[5m:30s])', 'histogram_quantile(0.9, sum by (le) (rate(hist_bucket[1m])))',
  'histogram_quantile(0.5, sum by (instance, le) (rate(hist_bucket[2m])))',
  'sum by (job) (rate(req_total[1m])) / sum by (job) (rate(req_total[5m]))',
  'rate(req_total[1m]) * 8', 'sum_over_time(temp[2m])', 'avg_over_time((temp * 1e307)[2m:15s])', '100 - avg by (job) (temp)', 'rate(req_total[1m]) > 0.3', 'sum(temp) > bool 100', '2 ^ topk(1, temp)',
];

describe('range fast path', () => {
  it('histogram_quantile warns of a malformed bucket bound in a range query as in an instant one', () => {
    const q = 'histogram_quantile(0.5, sum by (instance, le) (rate(hist_bucket[2m])))';
    const warning = 'bucket label "le" is missing or has a malformed value of "garbage"';
    expect(rangeQuery(db.querier(), q, T0 + 120_000, T0 + 239 * 15_000, 60_000).annotations.warnings.some((w) => w.includes(warning))).toBe(true);
    expect(instantQuery(db.querier(), q, T0 + 200 * 15_000).annotations.warnings.some((w) => w.includes(warning))).toBe(true);
  });

  for (const q of QUERIES) {
    for (const step of [15_000, 60_000, 600_000]) {
      it(`${q} at step ${step / 1000}s equals per-step instant queries`, () => {
        const start = T0 + 120_000, end = T0 + 239 * 15_000;
        const range = rangeQuery(db.querier(), q, start, end, step);
        if (range.value.type !== 'matrix') throw new Error('not a matrix');
        const got = new Map<string, number[]>();
        for (const s of range.value.series) s.ts.forEach((t, i) => got.set(`${labelsKey(s.metric)}@${t}`, [s.fs[i]!]));
        const want = new Map<string, number[]>();
        for (let t = start; t <= end; t += step) {
          const r = instantQuery(db.querier(), q, t);
          if (r.value.type !== 'vector') throw new Error('not a vector');
          for (const s of r.value.samples) want.set(`${labelsKey(s.metric)}@${t}`, [s.f]);
        }
        expect(got.size).toBeGreaterThan(0);
        expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
        for (const [k, v] of want) expect(Object.is(got.get(k)![0], v[0]) || got.get(k)![0] === v[0], k).toBe(true);
      });
    }
  }
});
