// Anchored and smoothed range selectors (extended-range.ts) on native histograms, after
// Prometheus's extendedHistogramRate, interpolateHistograms, correctForCounterResetsHistogram and
// smoothSeries: the boundary histograms are the anchor or are interpolated, counter resets in
// between are added back, and a window mixing floats and histograms gives nothing and a warning.
import type { Expr, MatrixSelector } from '../ast';
import type { Evaluator } from '../evaluator';
import type { FloatHistogram } from '../../tsdb/histogram';
import { type Sample, metricName } from '../values';
import type { Labels } from '../../../shared/labels';
import { IncompatibleSchemaError, add, compact, detectReset, div, equals, mul, sub, usesCustomBuckets, withHint } from './ops';
import { infoReconciled, warnMixedFloatsHistograms, warnMixedSchemas } from './functions';

/** One series' points around an extended range: ts ascending, hs[i] undefined where point i is a float. */
export interface HistogramWindow {
  metric: Labels;
  ts: ArrayLike<number>;
  fs: ArrayLike<number>;
  hs: ArrayLike<FloatHistogram | undefined>;
  lo: number;
  hi: number;
  rangeStart: number;
  rangeEnd: number;
}

export function windowHasHistograms(w: { hs?: ArrayLike<FloatHistogram | undefined> | null; lo: number; hi: number }): boolean {
  if (!w.hs) return false;
  for (let i = w.lo; i < w.hi; i++) if (w.hs[i]) return true;
  return false;
}

/** Sub/add that reports reconciled custom bounds; throws IncompatibleSchemaError. */
function subInfo(ev: Evaluator, a: FloatHistogram, b: FloatHistogram, at: Expr): FloatHistogram {
  const r = sub(a, b, false);
  if (r.boundsReconciled) infoReconciled(ev, 'subtraction', at);
  return r.h;
}

function addInfo(ev: Evaluator, a: FloatHistogram, b: FloatHistogram, at: Expr): FloatHistogram {
  const r = add(a, b, false);
  if (r.boundsReconciled) infoReconciled(ev, 'addition', at);
  return r.h;
}

/** The histogram at t between (t1, h1) and (t2, h2); a counter reset between them restarts from zero. */
export function interpolateHistograms(
  ev: Evaluator, h1: FloatHistogram, t1: number, h2: FloatHistogram, t2: number, t: number, isCounter: boolean, at: Expr,
): FloatHistogram {
  if (t === t1) return h1;
  if (t === t2) return h2;
  const fraction = (t - t1) / (t2 - t1);
  if (isCounter && detectReset(h2, h1)) return mul(h2, fraction);
  return addInfo(ev, mul(subInfo(ev, h2, h1, at), fraction), h1, at);
}

/** rate/increase/delta of a histogram window (all points histograms). */
function extendedHistogramRate(
  ev: Evaluator, w: HistogramWindow, ms: MatrixSelector, isCounter: boolean, isRate: boolean, at: Expr,
): FloatHistogram | null {
  const ts: number[] = [], h: FloatHistogram[] = [];
  for (let i = w.lo; i < w.hi; i++) {
    ts.push(w.ts[i]!);
    h.push(w.hs[i]!);
  }
  const smoothed = ms.vector.smoothed === true;
  const { rangeStart, rangeEnd } = w;
  const name = metricName(w.metric);
  let last = h.length - 1;
  let i = 0;
  while (i < last && !(ts[i]! > rangeStart)) i++;
  let first = Math.max(0, i - 1);
  if (smoothed) {
    let j = 0;
    while (j < last && !(ts[j]! >= rangeEnd)) j++;
    last = j;
  }
  if (ts[last]! <= rangeStart) return null;
  if (smoothed && ts[first]! > rangeEnd) return null;
  const custom = usesCustomBuckets(h[first]!);
  for (let k = first; k <= last; k++) {
    if (usesCustomBuckets(h[k]!) !== custom) {
      warnMixedSchemas(ev, name, at);
      return null;
    }
    if (isCounter && h[k]!.counterResetHint === 'gauge') ev.warn(`this native histogram metric is not a counter: ${JSON.stringify(name)}`, at);
  }
  try {
    const left = smoothed && ts[first]! < rangeStart ? interpolateHistograms(ev, h[first]!, ts[first]!, h[first + 1]!, ts[first + 1]!, rangeStart, isCounter, at) : h[first]!;
    const right = smoothed && last > 0 && ts[last]! > rangeEnd ? interpolateHistograms(ev, h[last - 1]!, ts[last - 1]!, h[last]!, ts[last]!, rangeEnd, isCounter, at) : h[last]!;
    if (!isCounter && (left.counterResetHint !== 'gauge' || right.counterResetHint !== 'gauge')) {
      ev.warn(`this native histogram metric is not a gauge: ${JSON.stringify(name)}`, at);
    }
    let result = subInfo(ev, right, left, at);
    if (isCounter) {
      // Resets strictly between the boundaries; the boundary values account for the ones at the edges.
      let f = first + 1;
      let prev = left;
      if (smoothed && ts[first]! < rangeStart && detectReset(h[first + 1]!, h[first]!)) {
        prev = h[first + 1]!;
        f++;
      }
      const l = last - 1;
      if (f <= l + 1) {
        let correction: FloatHistogram | null = null;
        const addCorrection = (x: FloatHistogram): void => {
          correction = correction ? addInfo(ev, correction, x, at) : x;
        };
        for (let k = f; k <= l; k++) {
          if (detectReset(h[k]!, prev)) addCorrection(prev);
          prev = h[k]!;
        }
        if (detectReset(right, prev)) addCorrection(prev);
        if (correction) result = addInfo(ev, result, correction, at);
      }
    }
    if (isRate) result = div(result, ms.range / 1000);
    return compact(withHint(result, 'gauge'));
  } catch (e) {
    if (!(e instanceof IncompatibleSchemaError)) throw e;
    warnMixedSchemas(ev, name, at);
    return null;
  }
}

/** changes/resets from the anchor over a window holding histograms (Prometheus's funcChanges/funcResets). */
function anchoredTransitions(w: HistogramWindow, func: 'changes' | 'resets'): number | null {
  let after = w.lo;
  while (after < w.hi && !(w.ts[after]! > w.rangeStart)) after++;
  if (after >= w.hi) return null;
  let n = 0;
  for (let i = Math.max(w.lo, after - 1) + 1; i < w.hi; i++) {
    const ph = w.hs[i - 1], ch = w.hs[i];
    if (!ph && !ch) {
      const a = w.fs[i - 1]!, b = w.fs[i]!;
      if (func === 'resets' ? b < a : a !== b && !(Number.isNaN(a) && Number.isNaN(b))) n++;
    } else if (!ph || !ch) n++;
    else if (func === 'resets' ? detectReset(ch, ph) : !equals(ch, ph)) n++;
  }
  return n;
}

/** An anchored/smoothed call on a window holding histograms; null for no output. */
export function extendedHistogramCall(ev: Evaluator, func: string, ms: MatrixSelector, w: HistogramWindow, t: number, at: Expr): Sample | null {
  if (func === 'changes' || func === 'resets') {
    const n = anchoredTransitions(w, func);
    return n === null ? null : { metric: w.metric, f: n, t, dropName: true };
  }
  for (let i = w.lo; i < w.hi; i++) {
    if (!w.hs[i]) {
      warnMixedFloatsHistograms(ev, w.metric, at);
      return null;
    }
  }
  const h = extendedHistogramRate(ev, w, ms, func !== 'delta', func === 'rate', at);
  return h ? { metric: w.metric, f: 0, h, t, dropName: true } : null;
}

/**
 * `x smoothed` at `at` for a series whose lookback window [lo, hi) holds histograms: the sample at
 * `at`, else interpolated between its neighbours (as a counter unless both are gauges), else the
 * last one before with its hint cleared.
 */
export function smoothedHistogram(
  ev: Evaluator, s: { metric: Labels; ts: ArrayLike<number>; hs: ArrayLike<FloatHistogram | undefined> }, lo: number, hi: number, at: number, t: number, pos: Expr,
): Sample | null {
  for (let k = lo; k < hi; k++) {
    if (!s.hs[k]) {
      warnMixedFloatsHistograms(ev, s.metric, pos);
      return null;
    }
  }
  let i = lo;
  while (i < hi && s.ts[i]! < at) i++;
  if (i < hi && s.ts[i] === at) return { metric: s.metric, f: 0, h: s.hs[i]!, t, dropName: false };
  if (i > lo && i < hi) {
    const prev = s.hs[i - 1]!, next = s.hs[i]!;
    if (usesCustomBuckets(prev) !== usesCustomBuckets(next)) {
      warnMixedSchemas(ev, metricName(s.metric), pos);
      return null;
    }
    const isCounter = prev.counterResetHint !== 'gauge' || next.counterResetHint !== 'gauge';
    try {
      const h = interpolateHistograms(ev, prev, s.ts[i - 1]!, next, s.ts[i]!, at, isCounter, pos);
      return { metric: s.metric, f: 0, h, t, dropName: false };
    } catch (e) {
      if (!(e instanceof IncompatibleSchemaError)) throw e;
      warnMixedSchemas(ev, metricName(s.metric), pos);
      return null;
    }
  }
  if (i > lo) return { metric: s.metric, f: 0, h: withHint(s.hs[i - 1]!, 'unknown'), t, dropName: false };
  return null;
}
