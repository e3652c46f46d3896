// The API's JSON for native histograms, against the example in Prometheus's web/api/v1 codec
// tests: a schema-2 histogram with negative, zero and positive buckets (boundary rules 1, 3, 0).
import { describe, expect, it } from 'vitest';
import { formatValue } from '../../../../main/query/api';
import type { FloatHistogram } from '../../../../main/tsdb/histogram';

const H: FloatHistogram = {
  counterResetHint: 'unknown', schema: 2, zeroThreshold: 0.001, zeroCount: 12, count: 10, sum: 20,
  positiveSpans: [{ offset: 3, length: 2 }, { offset: 1, length: 3 }], positiveBuckets: [1, 2, 2, 1, 1],
  negativeSpans: [{ offset: 2, length: 2 }], negativeBuckets: [2, 1],
};

// Prometheus's expected buckets; its bound table differs from exact rounding in the last bit at times.
const PROMETHEUS = [
  [1, '-1.6817928305074288', '-1.414213562373095', '1'], [1, '-1.414213562373095', '-1.189207115002721', '2'],
  [3, '-0.001', '0.001', '12'], [0, '1.414213562373095', '1.6817928305074288', '1'], [0, '1.6817928305074288', '2', '2'],
  [0, '2.378414230005442', '2.82842712474619', '2'], [0, '2.82842712474619', '3.3635856610148576', '1'], [0, '3.3635856610148576', '4', '1'],
] as const;

function expectBuckets(actual: unknown): void {
  const got = actual as [number, string, string, string][];
  expect(got).toHaveLength(PROMETHEUS.length);
  got.forEach((b, i) => {
    const want = PROMETHEUS[i]!;
    expect(b[0]).toBe(want[0]);
    expect(Number(b[1])).toBeCloseTo(Number(want[1]), 14);
    expect(Number(b[2])).toBeCloseTo(Number(want[2]), 14);
    expect(b[3]).toBe(want[3]);
  });
}

describe('native histograms in query results', () => {
  it('a matrix series carries "histograms" and no "values" when it has no floats', () => {
    const v = formatValue({ type: 'matrix', series: [{ metric: [{ name: '__name__', value: 'foo' }], ts: [], fs: [], hts: [1000], hs: [H] }] });
    const s = (v.result as Record<string, unknown>[])[0]!;
    expect(Object.keys(s)).toEqual(['metric', 'histograms']);
    const [t, body] = (s['histograms'] as [number, Record<string, unknown>][])[0]!;
    expect(t).toBe(1);
    expect(body['count']).toBe('10');
    expect(body['sum']).toBe('20');
    expectBuckets(body['buckets']);
  });

  it('a vector sample carries "histogram" instead of "value"; empty buckets are left out', () => {
    const empty: FloatHistogram = { ...H, zeroCount: 0, positiveBuckets: [0, 0, 0, 0, 0], negativeBuckets: [0, 0], count: 0, sum: 0 };
    const v = formatValue({ type: 'vector', t: 2500, samples: [{ metric: [], t: 2500, f: 0, h: empty }, { metric: [{ name: 'a', value: 'b' }], t: 2500, f: 1.5 }] });
    expect(v.result).toEqual([
      { metric: {}, histogram: [2.5, { count: '0', sum: '0' }] },
      { metric: { a: 'b' }, value: [2.5, '1.5'] },
    ]);
  });

  it('custom buckets: the first is closed at -Inf, the others open below', () => {
    const nhcb: FloatHistogram = {
      counterResetHint: 'unknown', schema: -53, zeroThreshold: 0, zeroCount: 0, count: 6, sum: 1e-7,
      positiveSpans: [{ offset: 0, length: 3 }], positiveBuckets: [1, 2, 3], negativeSpans: [], negativeBuckets: [], customValues: [0.5, 1],
    };
    const v = formatValue({ type: 'vector', t: 0, samples: [{ metric: [], t: 0, f: 0, h: nhcb }] });
    expect((v.result as { histogram: unknown[] }[])[0]!.histogram[1]).toEqual({
      count: '6', sum: '1e-07',
      buckets: [[3, '-Inf', '0.5', '1'], [0, '0.5', '1', '2'], [0, '1', '+Inf', '3']],
    });
  });
});
