// The query pool's instant query for rule evaluation: the raw value (label sets, floats, native
// histograms) computed on a worker equals instantQuery's on this thread, the store is read on this
// thread, and a query error comes back with its own message (a rule's health shows it).
import { afterAll, describe, expect, it } from 'vitest';
import { isMainThread } from 'node:worker_threads';
import { instantQuery } from '../../../main/query/engine';
import { QueryPool } from '../../../main/http/query-pool';
import type { FloatHistogram } from '../../../main/tsdb/histogram';
import type { Matcher, Querier, SeriesData } from '../../../main/tsdb/types';
import { labelsFromRecord } from '../../../shared/labels';

const T0 = 1_700_000_000_000;
const hist = (i: number): FloatHistogram => ({
  counterResetHint: 'not_reset',
  schema: 0,
  zeroThreshold: 0.001,
  zeroCount: i,
  count: 3 * i,
  sum: 10 * i,
  positiveSpans: [{ offset: 0, length: 2 }],
  negativeSpans: [],
  positiveBuckets: [i, i],
  negativeBuckets: [],
});
const series: SeriesData[] = [
  ...['a', 'b'].map((job, j) => ({
    labels: labelsFromRecord({ __name__: 'up_total', job }),
    timestamps: Float64Array.from({ length: 60 }, (_, i) => T0 + i * 1000),
    values: Float64Array.from({ length: 60 }, (_, i) => i * (j + 1)),
  })),
  {
    labels: labelsFromRecord({ __name__: 'latency', job: 'a' }),
    timestamps: new Float64Array(0),
    values: new Float64Array(0),
    histograms: { timestamps: Float64Array.from({ length: 60 }, (_, i) => T0 + i * 1000), values: Array.from({ length: 60 }, (_, i) => hist(i)) },
  },
];
const name = (s: SeriesData) => s.labels.find((l) => l.name === '__name__')?.value;
const matches = (s: SeriesData, ms: readonly Matcher[]) => ms.every((m) => m.type !== '=' || s.labels.find((l) => l.name === m.name)?.value === m.value);

function store(): Querier & { threads: boolean[] } {
  const threads: boolean[] = [];
  return {
    threads,
    select(ms) {
      threads.push(isMainThread);
      return series.filter((s) => matches(s, ms));
    },
    series: (ms) => series.filter((s) => matches(s, ms)).map((s) => s.labels),
    labelNames: () => ['__name__', 'job'],
    labelValues: (n) => (n === 'job' ? ['a', 'b'] : [...new Set(series.map(name))] as string[]),
  };
}

const pool = new QueryPool(1);
afterAll(() => pool.close());

describe('QueryPool.instant', () => {
  it('returns the raw value of floats, scalars and native histograms as instantQuery does here', async () => {
    const t = T0 + 59_000;
    for (const expr of ['sum by (job) (rate(up_total[30s]))', 'scalar(sum(up_total))', 'latency', 'up_total > 1000']) {
      const q = store();
      const value = await pool.instant(expr, t, q);
      expect(value).toEqual(instantQuery(store(), expr, t).value);
      expect(q.threads.length).toBeGreaterThan(0);
      expect(q.threads.every((x) => x)).toBe(true);
    }
    const h = await pool.instant('latency', t, store());
    expect(h.type === 'vector' && h.samples[0]!.h).toMatchObject({ count: 177, sum: 590, positiveBuckets: [59, 59] });
  });

  it("rejects with the query's own error (parse, samples limit) and keeps answering", async () => {
    await expect(pool.instant('sum(', T0, store())).rejects.toThrow(/^1:5: parse error: unexpected end of input$/);
    await expect(pool.instant('count_over_time(up_total[60s:1ms])', T0 + 59_000, store(), { maxSamples: 100 })).rejects.toThrow(/too many samples/);
    const v = await pool.instant('count(up_total)', T0 + 59_000, store());
    expect(v.type === 'vector' && v.samples[0]!.f).toBe(2);
  });
});
