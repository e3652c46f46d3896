// Prometheus 3's extended range selectors (experimental `anchored` and `smoothed`, enabled here):
// - `x[r] anchored`: the window (t-r, t] plus the last sample at or before t-r (looked for up to
//   the lookback delta earlier), so rate/increase/delta take the plain difference from that
//   anchor, with no extrapolation; changes/resets count from it.
// - `x[r] smoothed`: the values at t-r and at t interpolated linearly between the samples around
//   them (looked for up to the lookback delta beyond the window), for rate/increase/delta.
// - `x smoothed`: an instant vector whose value at t is interpolated between the samples around t.
// Semantics from Prometheus's promql/engine.go (matrixSelector, smoothSeries, extendFloats) and
// functions.go (extendedRate, pickFirstSampleIndices); windows holding native histograms go to
// histogram/extended.ts.
import type { Call, Expr, MatrixSelector, VectorSelector } from './ast';
import type { Evaluator } from './evaluator';
import type { FloatHistogram } from '../tsdb/histogram';
import { extendedHistogramCall, smoothedHistogram, windowHasHistograms } from './histogram/extended';
import type { LoadedSeries } from './loaded-series';
import { upperBound } from './numeric';
import { type MatrixValue, type Sample, type Series, type Value, QueryError } from './values';

/** Functions that accept an anchored range (Prometheus's AnchoredSafeFunctions). */
const ANCHORED_SAFE = ['changes', 'delta', 'increase', 'rate', 'resets'];
/** Functions that accept a smoothed range (Prometheus's SmoothedSafeFunctions). */
const SMOOTHED_SAFE = ['delta', 'increase', 'rate'];

export const isExtended = (vs: VectorSelector): boolean => vs.anchored === true || vs.smoothed === true;

const unwrap = (e: Expr): Expr => (e.kind === 'paren' ? unwrap(e.expr) : e);

/** How far before (and, smoothed, after) the range an extended selector reads (ms). */
export function extendedMargins(vs: VectorSelector, lookback: number): { before: number; after: number } {
  if (vs.smoothed) return { before: lookback, after: lookback };
  if (vs.anchored) return { before: lookback, after: 0 };
  return { before: 0, after: 0 };
}

/**
 * The evaluation of a call whose range argument is anchored or smoothed, or null for an ordinary
 * call. A function that cannot take the modifier fails with Prometheus's message.
 */
export function extendedCall(ev: Evaluator, e: Call, t: number): Value | null {
  const ms = e.args.map(unwrap).find((a): a is MatrixSelector => a.kind === 'matrix' && isExtended(a.vector));
  if (!ms) return null;
  const [which, safe] = ms.vector.anchored ? ['anchored', ANCHORED_SAFE] as const : ['smoothed', SMOOTHED_SAFE] as const;
  if (!safe.includes(e.func)) throw new QueryError(`${which} modifier can only be used with: ${safe.join(', ')} - not with ${e.func}`);
  const out: Sample[] = [];
  for (const w of windows(ev, ms, t)) {
    if (windowHasHistograms(w)) {
      const smp = extendedHistogramCall(ev, e.func, ms, { ...w, hs: w.hs! }, t, e.args[0]!);
      if (smp) out.push(smp);
      continue;
    }
    const f = e.func === 'changes' || e.func === 'resets' ? anchoredCount(w, e.func) : extendedRate(w, ms, e.func !== 'delta', e.func === 'rate');
    if (f !== undefined) out.push({ metric: w.metric, f, t, dropName: true });
  }
  return { type: 'vector', v: out };
}

/** One series' samples (from, to] around the range (rangeStart, rangeEnd]. */
interface Window {
  metric: LoadedSeries['metric'];
  ts: Float64Array;
  fs: Float64Array;
  /** [lo, hi) of ts/fs. */
  lo: number;
  hi: number;
  rangeStart: number;
  rangeEnd: number;
  smoothed: boolean;
  /** Native histograms parallel to ts (undefined at floats); null when the series has none. */
  hs: (FloatHistogram | undefined)[] | null;
}

function* windows(ev: Evaluator, ms: MatrixSelector, t: number): Generator<Window> {
  const vs = ms.vector;
  const rangeEnd = ev.refTime(vs, t);
  const rangeStart = rangeEnd - ms.range;
  const { before, after } = extendedMargins(vs, ev.lookback);
  for (const s of ev.loadedSeries(vs)) {
    // Staleness markers are not samples for range selections (rts/rfs leave them out).
    const lo = upperBound(s.rts, rangeStart - before);
    const hi = upperBound(s.rts, rangeEnd + after, lo);
    if (hi > lo) yield { metric: s.metric, ts: s.rts, fs: s.rfs, lo, hi, rangeStart, rangeEnd, smoothed: vs.smoothed === true, hs: s.rhs };
  }
}

/** Index of the first sample in [lo, hi) with ts > x, or hi. */
const firstAfter = (w: Window, x: number): number => upperBound(w.ts, x, w.lo, w.hi);

/** Linear interpolation at t between two points (isCounter: a drop is a restart from 0). */
function interpolate(t1: number, y1: number, t2: number, y2: number, t: number, isCounter: boolean): number {
  if (isCounter && y2 < y1) y1 = 0;
  return y1 + ((y2 - y1) * (t - t1)) / (t2 - t1);
}

/** Prometheus's extendedRate: rate/increase/delta over an anchored or smoothed window. */
function extendedRate(w: Window, ms: MatrixSelector, isCounter: boolean, isRate: boolean): number | undefined {
  const { ts, fs, rangeStart, rangeEnd, smoothed } = w;
  let last = w.hi - 1;
  // The last sample at or before rangeStart (the anchor), else the first one.
  let first = Math.max(w.lo, Math.min(firstAfter(w, rangeStart), last) - 1);
  if (smoothed) {
    // The first sample at or after rangeEnd, else the last one.
    let i = w.lo;
    while (i < last && ts[i]! < rangeEnd) i++;
    last = i;
  }
  if (ts[last]! <= rangeStart) return undefined;
  if (smoothed && ts[first]! > rangeEnd) return undefined;
  const left = smoothed && ts[first]! < rangeStart ? interpolate(ts[first]!, fs[first]!, ts[first + 1]!, fs[first + 1]!, rangeStart, isCounter) : fs[first]!;
  const right = smoothed && last > w.lo && ts[last]! > rangeEnd ? interpolate(ts[last - 1]!, fs[last - 1]!, ts[last]!, fs[last]!, rangeEnd, isCounter) : fs[last]!;
  let result = right - left;
  if (isCounter) {
    // Only samples strictly inside the range: the boundary values already account for resets there.
    if (ts[first]! <= rangeStart) first++;
    if (ts[last]! >= rangeEnd) last--;
    let prev = left;
    for (let i = first; i <= last; i++) {
      if (fs[i]! < prev) result += prev;
      prev = fs[i]!;
    }
    if (right < prev) result += prev;
  }
  return isRate ? result / (ms.range / 1000) : result;
}

/** changes/resets from the anchor (the last sample at or before the range start) on. */
function anchoredCount(w: Window, func: 'changes' | 'resets'): number | undefined {
  const after = firstAfter(w, w.rangeStart);
  if (after >= w.hi) return undefined;
  const { fs } = w;
  let n = 0;
  for (let i = Math.max(w.lo, after - 1) + 1; i < w.hi; i++) {
    const a = fs[i - 1]!, b = fs[i]!;
    if (func === 'resets' ? b < a : a !== b && !(Number.isNaN(a) && Number.isNaN(b))) n++;
  }
  return n;
}

/**
 * `x[r] anchored` / `x[r] smoothed` as a range vector (Prometheus's extendFloats): the window's
 * samples with a point at each boundary, the anchor's or interpolated value.
 */
export function extendedMatrix(ev: Evaluator, ms: MatrixSelector, t: number): MatrixValue {
  const series: Series[] = [];
  let rangeStart = 0, rangeEnd = 0;
  for (const w of windows(ev, ms, t)) {
    if (windowHasHistograms(w)) throw new QueryError(`${w.smoothed ? 'smoothed' : 'anchored'} modifier is not supported with histograms`);
    ({ rangeStart, rangeEnd } = w);
    const { ts, fs, smoothed } = w;
    let first = Math.max(w.lo, Math.min(firstAfter(w, rangeStart), w.hi - 1) - 1);
    let last = w.hi - 1;
    if (smoothed) {
      let i = w.lo;
      while (i < last && ts[i]! < rangeEnd) i++;
      last = i;
    }
    if (ts[last]! <= rangeStart) continue;
    const left = smoothed && ts[first]! < rangeStart ? interpolate(ts[first]!, fs[first]!, ts[first + 1]!, fs[first + 1]!, rangeStart, false) : fs[first]!;
    const right = smoothed && last > w.lo && ts[last]! > rangeEnd ? interpolate(ts[last - 1]!, fs[last - 1]!, ts[last]!, fs[last]!, rangeEnd, false) : fs[last]!;
    if (ts[first]! <= rangeStart) first++;
    if (ts[last]! >= rangeEnd) last--;
    const inner = Math.max(0, last - first + 1);
    const ots = new Float64Array(inner + 2), ofs = new Float64Array(inner + 2);
    ots[0] = rangeStart;
    ofs[0] = left;
    ots.set(ts.subarray(first, first + inner), 1);
    ofs.set(fs.subarray(first, first + inner), 1);
    ots[inner + 1] = rangeEnd;
    ofs[inner + 1] = right;
    series.push({ metric: w.metric, ts: ots, fs: ofs, lo: 0, hi: inner + 2, dropName: false });
  }
  return { type: 'matrix', series, rangeStart, rangeEnd };
}

/**
 * `x smoothed` at t (Prometheus's smoothSeries): the sample at t, else the value interpolated
 * between the samples around t, else the last one before t; samples looked for within the
 * lookback delta on either side.
 */
export function smoothedVector(ev: Evaluator, vs: VectorSelector, t: number): Sample[] {
  const at = ev.refTime(vs, t);
  const out: Sample[] = [];
  for (const s of ev.loadedSeries(vs)) {
    const ts = s.rts, fs = s.rfs;
    const lo = upperBound(ts, at - ev.lookback);
    const hi = upperBound(ts, at + ev.lookback, lo);
    if (hi <= lo) continue;
    if (s.rhs && windowHasHistograms({ hs: s.rhs, lo, hi })) {
      const smp = smoothedHistogram(ev, { metric: s.metric, ts, hs: s.rhs }, lo, hi, at, t, vs);
      if (smp) out.push(smp);
      continue;
    }
    // First index in the window with ts >= at.
    let i = lo;
    while (i < hi && ts[i]! < at) i++;
    let f: number;
    if (i < hi && ts[i] === at) f = fs[i]!;
    else if (i > lo && i < hi) f = interpolate(ts[i - 1]!, fs[i - 1]!, ts[i]!, fs[i]!, at, false);
    else if (i > lo) f = fs[i - 1]!;
    else continue;
    out.push({ metric: s.metric, f, t, dropName: false });
  }
  return out;
}
