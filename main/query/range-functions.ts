// The kernels of range functions on floats (rate, increase, *_over_time…): one series' window in,
// one value out. The step-by-step functions (functions.ts), their histogram-aware versions
// (histogram/functions.ts) and the range-query fast path (range-eval.ts) all run these.
import type { Labels } from '../../shared/labels';
import type { Expr } from './ast';
import type { Evaluator } from './evaluator';
import { kahan, kahanAdd, quantile } from './numeric';
import { type Series, metricName } from './values';

/** The series' values in its window, as a plain array. */
export function values(s: Series): number[] {
  return Array.prototype.slice.call(s.fs, s.lo, s.hi) as number[];
}

const COUNTER_SUFFIX = /(_total|_sum|_count|_bucket)$/;

/**
 * One series' window (rangeStart, rangeEnd] (ms) → whether it has a value, the value left in
 * kernelValue[0]: a number returned from a call that is not inlined is boxed, one allocation per
 * series and step (28 MB of garbage in one whole-day query over 6,000 series).
 */
export type RangeKernel = (s: Series, rangeStart: number, rangeEnd: number) => boolean;

export const kernelValue = new Float64Array(1);

/** A kernel's answer: `v`, left in kernelValue. */
export function put(v: number): true {
  kernelValue[0] = v;
  return true;
}

/** Prometheus's extrapolatedRate for rate/increase/delta. */
function extrapolate(isCounter: boolean, isRate: boolean): RangeKernel {
  return (s, rangeStart, rangeEnd) => {
    const { ts, fs, lo, hi } = s;
    const n = hi - lo;
    if (n < 2) return false;
    const firstT = ts[lo]!, lastT = ts[hi - 1]!;
    let result = fs[hi - 1]! - fs[lo]!;
    if (isCounter && (!s.resets || s.resets[hi - 1] !== s.resets[lo])) {
      for (let i = lo + 1; i < hi; i++) if (fs[i]! < fs[i - 1]!) result += fs[i - 1]!;
    }
    let durationToStart = (firstT - rangeStart) / 1000;
    let durationToEnd = (rangeEnd - lastT) / 1000;
    const sampledInterval = (lastT - firstT) / 1000;
    const avg = sampledInterval / (n - 1);
    const threshold = avg * 1.1;
    if (durationToStart >= threshold) durationToStart = avg / 2;
    if (isCounter) {
      let durationToZero = durationToStart;
      if (result > 0 && fs[lo]! >= 0) durationToZero = sampledInterval * (fs[lo]! / result);
      if (durationToZero < durationToStart) durationToStart = durationToZero;
    }
    if (durationToEnd >= threshold) durationToEnd = avg / 2;
    let factor = sampledInterval !== 0 ? (sampledInterval + durationToStart + durationToEnd) / sampledInterval : 1;
    if (isRate) factor /= (rangeEnd - rangeStart) / 1000;
    return put(result * factor);
  };
}

/**
 * rate/increase on a series whose name does not look like a counter: an info annotation. `checked`
 * (names already looked at by this call) keeps it to one test a name, not one a series: over
 * 100,000 series of 100 names the test and its message took 110–140 ms a query.
 */
export function checkCounterName(ev: Evaluator, metric: Labels, arg: Expr, checked: Set<string>): void {
  const name = metricName(metric);
  if (checked.has(name)) return;
  checked.add(name);
  if (name && !COUNTER_SUFFIX.test(name)) {
    ev.info(`metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${JSON.stringify(name)}`, arg);
  }
}

function instantValue(isRate: boolean): RangeKernel {
  return (s) => {
    const { ts, fs, hi } = s;
    if (hi - s.lo < 2) return false;
    const t0 = ts[hi - 2]!, t1 = ts[hi - 1]!, v0 = fs[hi - 2]!, v1 = fs[hi - 1]!;
    const dt = t1 - t0;
    if (dt === 0) return false;
    let r = isRate && v1 < v0 ? v1 : v1 - v0;
    if (isRate) r /= dt / 1000;
    return put(r);
  };
}

export function linearRegression(s: Series, interceptTime: number): [number, number] {
  let n = 0, sumX = 0, cX = 0, sumY = 0, cY = 0, sumXY = 0, cXY = 0, sumX2 = 0, cX2 = 0;
  const { ts, fs, lo, hi } = s;
  const initY = fs[lo]!;
  let constY = true;
  for (let i = lo; i < hi; i++) {
    const y = fs[i]!;
    if (constY && i > lo && y !== initY) constY = false;
    n++;
    const x = (ts[i]! - interceptTime) / 1000;
    kahanAdd(x, sumX, cX);
    sumX = kahan.sum;
    cX = kahan.c;
    kahanAdd(y, sumY, cY);
    sumY = kahan.sum;
    cY = kahan.c;
    kahanAdd(x * y, sumXY, cXY);
    sumXY = kahan.sum;
    cXY = kahan.c;
    kahanAdd(x * x, sumX2, cX2);
    sumX2 = kahan.sum;
    cX2 = kahan.c;
  }
  if (constY) return Number.isFinite(initY) || Number.isNaN(initY) ? [0, initY] : [NaN, NaN];
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return [slope, sumY / n - (slope * sumX) / n];
}

function variance(s: Series): number {
  let count = 0, mean = 0, cMean = 0, aux = 0, cAux = 0;
  for (let i = s.lo; i < s.hi; i++) {
    const f = s.fs[i]!;
    count++;
    const delta = f - (mean + cMean);
    kahanAdd(delta / count, mean, cMean);
    mean = kahan.sum;
    cMean = kahan.c;
    kahanAdd(delta * (f - (mean + cMean)), aux, cAux);
    aux = kahan.sum;
    cAux = kahan.c;
  }
  return (aux + cAux) / count;
}

function compareOverTime(cmp: (cur: number, best: number) => boolean, returnTs: boolean): RangeKernel {
  return (s) => {
    let best = s.fs[s.lo]!, bestT = s.ts[s.lo]!;
    for (let i = s.lo; i < s.hi; i++) {
      if (cmp(s.fs[i]!, best)) {
        best = s.fs[i]!;
        bestT = s.ts[i]!;
      }
    }
    return put(returnTs ? bestT / 1000 : best);
  };
}

/**
 * Functions of one range vector whose value per series depends only on that series' window; the
 * range-query fast path (range-eval.ts) slides them over every step. `counter`: rate/increase,
 * which note names that do not look like counters.
 */
export const RANGE_FUNCTIONS: Record<string, { kernel: RangeKernel; keepName: boolean; counter: boolean }> = {
  present_over_time: { kernel: () => put(1), keepName: false, counter: false },
  count_over_time: { kernel: (s) => put(s.hi - s.lo), keepName: false, counter: false },
  last_over_time: { kernel: (s) => put(s.fs[s.hi - 1]!), keepName: true, counter: false },
  first_over_time: { kernel: (s) => put(s.fs[s.lo]!), keepName: true, counter: false },
  ts_of_last_over_time: { kernel: (s) => put(s.ts[s.hi - 1]! / 1000), keepName: false, counter: false },
  ts_of_first_over_time: { kernel: (s) => put(s.ts[s.lo]! / 1000), keepName: false, counter: false },
  max_over_time: { kernel: compareOverTime((c, m) => c > m || Number.isNaN(m), false), keepName: false, counter: false },
  min_over_time: { kernel: compareOverTime((c, m) => c < m || Number.isNaN(m), false), keepName: false, counter: false },
  ts_of_max_over_time: { kernel: compareOverTime((c, m) => c >= m || Number.isNaN(m), true), keepName: false, counter: false },
  ts_of_min_over_time: { kernel: compareOverTime((c, m) => c <= m || Number.isNaN(m), true), keepName: false, counter: false },
  // sum and avg inline Kahan summation (kahanAdd's exact steps): they are the hot loops of dashboards.
  sum_over_time: {
    kernel: (s) => {
      const { fs, lo, hi } = s;
      let sum = 0, c = 0;
      for (let i = lo; i < hi; i++) {
        const f = fs[i]!, t = sum + f;
        if (t === Infinity || t === -Infinity) c = 0;
        else c += Math.abs(sum) >= Math.abs(f) ? sum - t + f : f - t + sum;
        sum = t;
      }
      return put(Number.isFinite(sum) ? sum + c : sum);
    },
    keepName: false, counter: false,
  },
  avg_over_time: {
    kernel: (s) => {
      const { fs, lo, hi } = s;
      let sum = fs[lo]!, c = 0, i = lo + 1;
      for (; i < hi; i++) {
        const f = fs[i]!, t = sum + f;
        if (t === Infinity || t === -Infinity) break;
        c += Math.abs(sum) >= Math.abs(f) ? sum - t + f : f - t + sum;
        sum = t;
      }
      if (i === hi) return put(sum / (hi - lo) + c / (hi - lo));
      // The sum overflowed: go on with an incremental mean, as Prometheus does.
      let mean = sum / (i - lo);
      c /= i - lo;
      for (; i < hi; i++) {
        const count = i - lo + 1, q = (count - 1) / count;
        kahanAdd(fs[i]! / count, q * mean, q * c);
        mean = kahan.sum;
        c = kahan.c;
      }
      return put(mean + c);
    },
    keepName: false, counter: false,
  },
  stddev_over_time: { kernel: (s) => put(Math.sqrt(variance(s))), keepName: false, counter: false },
  stdvar_over_time: { kernel: (s) => put(variance(s)), keepName: false, counter: false },
  mad_over_time: {
    kernel: (s) => {
      const vs = values(s);
      if (vs.some(Number.isNaN)) return put(NaN);
      const median = quantile(0.5, vs);
      return put(quantile(0.5, vs.map((v) => Math.abs(v - median))));
    },
    keepName: false, counter: false,
  },
  changes: {
    kernel: (s) => {
      let n = 0;
      for (let i = s.lo + 1; i < s.hi; i++) {
        const a = s.fs[i - 1]!, b = s.fs[i]!;
        if (a !== b && !(Number.isNaN(a) && Number.isNaN(b))) n++;
      }
      return put(n);
    },
    keepName: false, counter: false,
  },
  resets: {
    kernel: (s) => {
      let n = 0;
      for (let i = s.lo + 1; i < s.hi; i++) if (s.fs[i]! < s.fs[i - 1]!) n++;
      return put(n);
    },
    keepName: false, counter: false,
  },
  irate: { kernel: instantValue(true), keepName: false, counter: false },
  idelta: { kernel: instantValue(false), keepName: false, counter: false },
  deriv: { kernel: (s) => s.hi - s.lo >= 2 && put(linearRegression(s, s.ts[s.lo]!)[0]), keepName: false, counter: false },
  rate: { kernel: extrapolate(true, true), keepName: false, counter: true },
  increase: { kernel: extrapolate(true, false), keepName: false, counter: true },
  delta: { kernel: extrapolate(false, false), keepName: false, counter: false },
};
