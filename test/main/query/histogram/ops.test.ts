// Native-histogram arithmetic against the rules of Prometheus's model/histogram, on hand-built
// histograms whose answers follow from the bucket definitions.
import { describe, expect, it } from 'vitest';
import { parseHistogramDesc, parseHistogramItem } from '../../../../main/query/histogram/notation';
import {
  IncompatibleSchemaError, add, allBuckets, bound, compact, detectReset, histogramString, meanOf, sub, sumOf, toSchema, trimBuckets,
} from '../../../../main/query/histogram/ops';
import type { FloatHistogram } from '../../../../main/tsdb/histogram';

const h = (desc: string): FloatHistogram => parseHistogramDesc(`{{${desc}}}`).h;
const positive = (x: FloatHistogram): [number, number][] => allBuckets(x).filter((b) => b.lower >= 0 && b.upper > x.zeroThreshold).map((b) => [b.upper, b.count]);

describe('bucket bounds', () => {
  it('are powers of 2^(2^-schema), and custom values for NHCB', () => {
    expect(bound(1, 0)).toBe(2);
    expect(bound(0, 0)).toBe(1);
    expect(bound(-1, 0)).toBe(0.5);
    expect(bound(1, -1)).toBe(4);
    expect(bound(8, 3)).toBe(2);
    expect(bound(1, 1)).toBe(Math.SQRT2);
    expect(bound(0, -53, [1, 5])).toBe(1);
    expect(bound(2, -53, [1, 5])).toBe(Infinity);
    expect(bound(-1, -53, [1, 5])).toBe(-Infinity);
  });
});

describe('notation', () => {
  it('reads every field, and xN / + sequences', () => {
    const x = h('schema:1 sum:5 count:4 z_bucket:1 z_bucket_w:0.5 buckets:[1 2] offset:-1 n_buckets:[3] n_offset:2 counter_reset_hint:gauge');
    expect(x).toMatchObject({ schema: 1, sum: 5, count: 4, zeroCount: 1, zeroThreshold: 0.5, counterResetHint: 'gauge' });
    expect(x.positiveSpans).toEqual([{ offset: -1, length: 2 }]);
    expect(x.negativeSpans).toEqual([{ offset: 2, length: 1 }]);
    expect(parseHistogramItem('{{count:1}}x2')).toHaveLength(3);
    const seq = parseHistogramItem('{{sum:1 count:1 buckets:[1]}}+{{sum:2 count:2 buckets:[2]}}x2');
    expect(seq.map((s) => [s.h.count, s.h.sum, s.h.positiveBuckets[0]])).toEqual([[1, 1, 1], [3, 3, 3], [5, 5, 5]]);
    expect(() => parseHistogramDesc('{{count:1 count:2}}')).toThrow(/duplicate key/);
  });
});

describe('add and sub', () => {
  it('reduce to the lower schema by merging buckets', () => {
    // Schema 1 buckets 1..4 are (√2^0,√2^1], …; in schema 0 bucket k covers (2^(k-1), 2^k].
    const fine = h('schema:1 count:4 sum:4 buckets:[1 1 1 1] offset:1');
    const coarse = h('schema:0 count:1 sum:1 buckets:[1] offset:1');
    const r = add(fine, coarse).h;
    expect(r.schema).toBe(0);
    expect(r.count).toBe(5);
    expect(positive(r)).toEqual([[2, 3], [4, 2]]);
    expect(positive(toSchema(fine, 0))).toEqual([[2, 2], [4, 2]]);
  });

  it('widen the zero bucket to the larger threshold, absorbing the buckets inside it', () => {
    const narrow = h('schema:0 count:3 sum:1 z_bucket:1 z_bucket_w:0.1 buckets:[1 1] offset:0');
    const wide = h('schema:0 count:1 sum:1 z_bucket:1 z_bucket_w:1');
    const r = add(narrow, wide).h;
    expect(r.zeroThreshold).toBe(1);
    // narrow's bucket (0.5,1] moved into the zero bucket; (1,2] stays.
    expect(r.zeroCount).toBe(3);
    expect(positive(r)).toEqual([[2, 1]]);
  });

  it('reconcile differing custom bounds to the ones both have, and refuse exponential with custom', () => {
    const a = h('schema:-53 count:3 sum:3 custom_values:[1 2 5] buckets:[1 1 1]');
    const b = h('schema:-53 count:2 sum:2 custom_values:[1 5] buckets:[1 1]');
    const r = sub(a, b);
    expect(r.boundsReconciled).toBe(true);
    expect(r.h.customValues).toEqual([1, 5]);
    expect(r.h.positiveBuckets).toEqual([1]);
    expect(r.h.positiveSpans).toEqual([{ offset: 1, length: 1 }]);
    expect(() => add(a, h('schema:0 count:1'))).toThrow(IncompatibleSchemaError);
  });

  it('report a collision of counter reset hints and keep gauges gauges', () => {
    expect(add(h('count:1 counter_reset_hint:reset'), h('count:1 counter_reset_hint:not_reset')).counterResetCollision).toBe(true);
    expect(add(h('count:1 counter_reset_hint:gauge'), h('count:1')).h.counterResetHint).toBe('gauge');
  });
});

describe('sums and means of many histograms', () => {
  it('compensate cancellation (Kahan) and switch to an incremental mean on overflow', () => {
    const hs = [h('count:1 sum:1e100'), h('count:1 sum:1.5'), h('count:1 sum:-1e100')];
    expect(sumOf(hs).h.sum).toBe(1.5);
    const big = [h('count:1.5e308 sum:1'), h('count:1.5e308 sum:3')];
    const m = meanOf(big).h;
    expect(m.count).toBe(1.5e308);
    expect(m.sum).toBe(2);
  });
});

describe('detectReset', () => {
  it('sees a drop in count, zero count or any bucket, and trusts explicit hints', () => {
    const prev = h('count:4 sum:4 z_bucket:1 buckets:[1 2]');
    expect(detectReset(h('count:5 sum:5 z_bucket:1 buckets:[1 3]'), prev)).toBe(false);
    expect(detectReset(h('count:3 sum:5 z_bucket:1 buckets:[1 2]'), prev)).toBe(true);
    expect(detectReset(h('count:5 sum:5 z_bucket:0 buckets:[2 3]'), prev)).toBe(true);
    expect(detectReset(h('count:5 sum:5 z_bucket:1 buckets:[0 4]'), prev)).toBe(true);
    expect(detectReset(h('count:5 sum:5 z_bucket:1 buckets:[1 3] counter_reset_hint:reset'), prev)).toBe(true);
    expect(detectReset(h('count:1 counter_reset_hint:not_reset'), prev)).toBe(false);
    // A finer schema than before is a reset; a coarser one compares merged buckets.
    expect(detectReset(h('schema:1 count:5'), prev)).toBe(true);
  });
});

describe('trimBuckets', () => {
  it('keeps the observations below or above a value, interpolating in the bucket it falls in', () => {
    const x = h('schema:-53 count:10 sum:50 custom_values:[2 4 8] buckets:[0 5 5]');
    const below = trimBuckets(x, 3, true);
    expect(below.count).toBe(2.5);
    expect(below.sum).toBe(2.5 * 2.5); // midpoint of (2,3]
    const above = trimBuckets(x, 3, false);
    expect(above.count).toBe(7.5);
  });
});

describe('histogramString', () => {
  it('prints as Prometheus does (count_values labels): raw bounds, negative to positive', () => {
    expect(histogramString(h('schema:0 sum:5 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2] n_buckets:[1]'))).toBe(
      '{count:4, sum:5, [-1,-0.5):1, [-0.001,0.001]:1, (0.5,1]:1, (1,2]:2}',
    );
  });
});

describe('compact', () => {
  it('drops empty buckets and joins spans', () => {
    const x = compact(h('count:2 buckets:[0 1 0 0 1 0] offset:-2'));
    expect(x.positiveSpans).toEqual([{ offset: -1, length: 1 }, { offset: 2, length: 1 }]);
    expect(x.positiveBuckets).toEqual([1, 1]);
  });
});
