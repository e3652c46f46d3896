// PromQL functions that read native histograms, after Prometheus's promql/functions.go and
// quantile.go: histogram_count/sum/avg/stddev/stdvar/fraction/quantile(s), and the range functions
// whose answer for a histogram series is itself a histogram or depends on histogram resets
// (rate, increase, delta, irate, idelta, resets, changes, sum/avg/last/first_over_time…). A series
// without histograms in its window goes through the float kernels of range-functions.ts unchanged.
import type { Labels } from '../../../shared/labels';
import { getLabel, labelsKey } from '../../../shared/labels';
import type { FloatHistogram } from '../../tsdb/histogram';
import type { Call, Expr } from '../ast';
import type { Evaluator } from '../evaluator';
import { bucketQuantile, formatFloatF, formatG, parseGoFloat } from '../numeric';
import { RANGE_FUNCTIONS, checkCounterName, kernelValue } from '../range-functions';
import { type MatrixValue, type Sample, type Series, type Value, QueryError, metricName } from '../values';
import {
  IncompatibleSchemaError, add, allBuckets, compact, detectReset, div, equals, meanOf, mul, sub, sumOf, toSchema, usesCustomBuckets, withHint,
} from './ops';

type Handler = (ev: Evaluator, e: Call, t: number) => Value;

const vec = (v: Sample[]): Value => ({ type: 'vector', v });

const unwrap = (e: Expr): Expr => (e.kind === 'paren' ? unwrap(e.expr) : e);

function matrixArg(ev: Evaluator, e: Expr, t: number): MatrixValue {
  const v = ev.eval(e, t);
  if (v.type !== 'matrix') throw new QueryError('expected range vector argument');
  return v;
}

function vectorArg(ev: Evaluator, e: Expr, t: number): Sample[] {
  const v = ev.eval(e, t);
  return v.type === 'vector' ? v.v : [];
}

function scalarArg(ev: Evaluator, e: Expr, t: number): number {
  const v = ev.eval(e, t);
  if (v.type === 'scalar') return v.v;
  throw new QueryError('expected scalar argument');
}

/** Whether the window [lo, hi) of s holds a native histogram. */
export function windowHasHistogram(s: Series): boolean {
  if (!s.hs) return false;
  for (let i = s.lo; i < s.hi; i++) if (s.hs[i]) return true;
  return false;
}

interface Split {
  fts: number[];
  fs: number[];
  hts: number[];
  hs: FloatHistogram[];
}

/** The window's float and histogram points apart (Prometheus's Series.Floats/Histograms). */
function split(s: Series): Split {
  const out: Split = { fts: [], fs: [], hts: [], hs: [] };
  for (let i = s.lo; i < s.hi; i++) {
    const h = s.hs?.[i];
    if (h) {
      out.hts.push(s.ts[i]!);
      out.hs.push(h);
    } else {
      out.fts.push(s.ts[i]!);
      out.fs.push(s.fs[i]!);
    }
  }
  return out;
}

/** The window's float points only, as a series of its own (what float-only functions see). */
export function floatView(s: Series): Series {
  const p = split(s);
  return { metric: s.metric, ts: p.fts, fs: p.fs, lo: 0, hi: p.fts.length, dropName: s.dropName };
}

const quoted = (name: string): string => JSON.stringify(name);
const forName = (name: string): string => (name ? ` for metric name ${quoted(name)}` : '');

export const warnMixedFloatsHistograms = (ev: Evaluator, l: Labels, at: Expr): void =>
  ev.warn(`encountered a mix of histograms and floats for metric name ${quoted(metricName(l))}`, at);
export const warnMixedSchemas = (ev: Evaluator, name: string, at: Expr): void =>
  ev.warn(`vector contains a mix of histograms with exponential and custom buckets schemas for metric name ${quoted(name)}`, at);
const warnNotCounter = (ev: Evaluator, l: Labels, at: Expr): void =>
  ev.warn(`this native histogram metric is not a counter: ${quoted(metricName(l))}`, at);
const warnNotGauge = (ev: Evaluator, l: Labels, at: Expr): void =>
  ev.warn(`this native histogram metric is not a gauge: ${quoted(metricName(l))}`, at);
export const infoReconciled = (ev: Evaluator, op: 'addition' | 'subtraction' | 'aggregation', at: Expr): void =>
  ev.info(`mismatched custom buckets were reconciled during ${op}`, at);
export const warnCounterResetCollision = (ev: Evaluator, op: 'addition' | 'subtraction' | 'aggregation', at: Expr): void =>
  ev.warn(`conflicting counter resets during histogram ${op}`, at);

// ---- rate, increase, delta ----

/** Prometheus's histogramRate: last − first with counter resets added back; null when incompatible. */
function histogramRate(ev: Evaluator, hs: FloatHistogram[], isCounter: boolean, metric: Labels, at: Expr): FloatHistogram | null {
  let prev = hs[0]!;
  const last = hs[hs.length - 1]!;
  let custom = usesCustomBuckets(prev);
  // Warnings found before an incompatibility are dropped with it, as Prometheus does.
  const pending: (() => void)[] = [];
  if (isCounter && (prev.counterResetHint === 'gauge' || last.counterResetHint === 'gauge')) pending.push(() => warnNotCounter(ev, metric, at));
  if (isCounter) {
    const second = hs[1]!;
    if (detectReset(second, prev)) {
      prev = emptyLike(second);
      custom = usesCustomBuckets(second);
    }
  }
  const flush = (): void => pending.forEach((f) => f());
  if (usesCustomBuckets(last) !== custom) {
    flush();
    warnMixedSchemas(ev, metricName(metric), at);
    return null;
  }
  let minSchema = Math.min(last.schema, prev.schema);
  for (let i = 1; i < hs.length - 1; i++) {
    if (!isCounter) continue;
    const cur = hs[i]!;
    if (cur.counterResetHint === 'gauge') pending.push(() => warnNotCounter(ev, metric, at));
    if (cur.schema < minSchema) minSchema = cur.schema;
    if (usesCustomBuckets(cur) !== custom) {
      warnMixedSchemas(ev, metricName(metric), at);
      return null;
    }
  }
  flush();
  let h = toSchema(last, minSchema);
  try {
    const r = sub(h, prev, false);
    h = r.h;
    if (r.boundsReconciled) infoReconciled(ev, 'subtraction', at);
  } catch (e) {
    if (!(e instanceof IncompatibleSchemaError)) throw e;
    warnMixedSchemas(ev, metricName(metric), at);
    return null;
  }
  if (isCounter) {
    for (let i = 1; i < hs.length; i++) {
      const cur = hs[i]!;
      if (detectReset(cur, prev)) {
        try {
          const r = add(h, prev, false);
          h = r.h;
          if (r.boundsReconciled) infoReconciled(ev, 'addition', at);
        } catch (e) {
          if (!(e instanceof IncompatibleSchemaError)) throw e;
          warnMixedSchemas(ev, metricName(metric), at);
          return null;
        }
      }
      prev = cur;
    }
  } else if (hs[0]!.counterResetHint !== 'gauge' || last.counterResetHint !== 'gauge') {
    warnNotGauge(ev, metric, at);
  }
  return compact(withHint(h, 'gauge'));
}

function emptyLike(h: FloatHistogram): FloatHistogram {
  return {
    counterResetHint: 'unknown', schema: h.schema, zeroThreshold: 0, zeroCount: 0, count: 0, sum: 0,
    positiveSpans: [], positiveBuckets: [], negativeSpans: [], negativeBuckets: [],
    ...(h.customValues ? { customValues: h.customValues } : {}),
  };
}

function extrapolatedRate(name: 'rate' | 'increase' | 'delta'): Handler {
  const isCounter = name !== 'delta', isRate = name === 'rate';
  const floatKernel = RANGE_FUNCTIONS[name]!.kernel;
  return (ev, e, t) => {
    const arg = e.args[0]!;
    const m = matrixArg(ev, arg, t);
    const out: Sample[] = [];
    const sel = unwrap(arg);
    const checked = new Set<string>();
    for (const s of m.series) {
      if (!windowHasHistogram(s)) {
        if (!floatKernel(s, m.rangeStart, m.rangeEnd)) continue;
        out.push({ metric: s.metric, f: kernelValue[0]!, t, dropName: true });
        if (isCounter && sel.kind === 'matrix') checkCounterName(ev, s.metric, arg, checked);
        continue;
      }
      const p = split(s);
      if (p.fs.length > 0) {
        warnMixedFloatsHistograms(ev, s.metric, arg);
        continue;
      }
      if (p.hs.length < 2) continue;
      const res = histogramRate(ev, p.hs, isCounter, s.metric, arg);
      if (!res) continue;
      const firstT = p.hts[0]!, lastT = p.hts[p.hts.length - 1]!;
      let durationToStart = (firstT - m.rangeStart) / 1000;
      let durationToEnd = (m.rangeEnd - lastT) / 1000;
      const sampledInterval = (lastT - firstT) / 1000;
      const avg = sampledInterval / (p.hs.length - 1);
      const threshold = avg * 1.1;
      if (durationToStart >= threshold) durationToStart = avg / 2;
      if (isCounter && res.count > 0 && p.hs[0]!.count >= 0) {
        const durationToZero = sampledInterval * (p.hs[0]!.count / res.count);
        if (durationToZero < durationToStart) durationToStart = durationToZero;
      }
      if (durationToEnd >= threshold) durationToEnd = avg / 2;
      let factor = sampledInterval !== 0 ? (sampledInterval + durationToStart + durationToEnd) / sampledInterval : 1;
      if (isRate) factor /= (m.rangeEnd - m.rangeStart) / 1000;
      out.push({ metric: s.metric, f: 0, h: mul(res, factor), t, dropName: true });
    }
    return vec(out);
  };
}

// ---- irate, idelta ----

function instantValue(isRate: boolean): Handler {
  const floatKernel = RANGE_FUNCTIONS[isRate ? 'irate' : 'idelta']!.kernel;
  return (ev, e, t) => {
    const arg = e.args[0]!;
    const m = matrixArg(ev, arg, t);
    const out: Sample[] = [];
    for (const s of m.series) {
      if (s.hi - s.lo < 2) continue;
      const h1 = s.hs?.[s.hi - 1], h0 = s.hs?.[s.hi - 2];
      if (!h0 && !h1) {
        if (floatKernel(s, m.rangeStart, m.rangeEnd)) out.push({ metric: s.metric, f: kernelValue[0]!, t, dropName: true });
        continue;
      }
      if (!h0 || !h1) {
        warnMixedFloatsHistograms(ev, s.metric, arg);
        continue;
      }
      const dt = s.ts[s.hi - 1]! - s.ts[s.hi - 2]!;
      if (dt === 0) continue;
      if (isRate && (h1.counterResetHint === 'gauge' || h0.counterResetHint === 'gauge')) warnNotCounter(ev, s.metric, arg);
      if (!isRate && (h1.counterResetHint !== 'gauge' || h0.counterResetHint !== 'gauge')) warnNotGauge(ev, s.metric, arg);
      let r = h1;
      if (!isRate || !detectReset(h1, h0)) {
        try {
          const d = sub(h1, h0, false);
          r = d.h;
          if (d.boundsReconciled) infoReconciled(ev, 'subtraction', arg);
        } catch (err) {
          if (!(err instanceof IncompatibleSchemaError)) throw err;
          warnMixedSchemas(ev, metricName(s.metric), arg);
          continue;
        }
      }
      r = compact(withHint(r, 'gauge'));
      if (isRate) r = div(r, dt / 1000);
      out.push({ metric: s.metric, f: 0, h: r, t, dropName: true });
    }
    return vec(out);
  };
}

// ---- resets, changes ----

function countTransitions(isResets: boolean): Handler {
  return (ev, e, t) => {
    const m = matrixArg(ev, e.args[0]!, t);
    const out: Sample[] = [];
    const floatKernel = RANGE_FUNCTIONS[isResets ? 'resets' : 'changes']!.kernel;
    for (const s of m.series) {
      if (s.hi <= s.lo) continue;
      if (!s.hs) {
        if (floatKernel(s, m.rangeStart, m.rangeEnd)) out.push({ metric: s.metric, f: kernelValue[0]!, t, dropName: true });
        continue;
      }
      let n = 0;
      for (let i = s.lo + 1; i < s.hi; i++) {
        const ph = s.hs[i - 1], ch = s.hs[i];
        if (!ph && !ch) {
          const a = s.fs[i - 1]!, b = s.fs[i]!;
          if (isResets ? b < a : a !== b && !(Number.isNaN(a) && Number.isNaN(b))) n++;
        } else if (!ph || !ch) n++;
        else if (isResets ? detectReset(ch, ph) : !equals(ch, ph)) n++;
      }
      out.push({ metric: s.metric, f: n, t, dropName: true });
    }
    return vec(out);
  };
}

// ---- sum_over_time, avg_over_time ----

/** Sum or mean of histograms with Prometheus's annotations; null when they cannot be added. */
export function combineHistograms(ev: Evaluator, hs: readonly FloatHistogram[], mean: boolean, at: Expr, name: string): FloatHistogram | null {
  let reset = false, notReset = false;
  for (const h of hs) {
    if (h.counterResetHint === 'reset') reset = true;
    else if (h.counterResetHint === 'not_reset') notReset = true;
  }
  let r;
  try {
    r = mean ? meanOf(hs) : sumOf(hs);
  } catch (err) {
    if (!(err instanceof IncompatibleSchemaError)) throw err;
    warnMixedSchemas(ev, name, at);
    return null;
  }
  if (reset && notReset) warnCounterResetCollision(ev, 'aggregation', at);
  if (r.boundsReconciled) infoReconciled(ev, 'aggregation', at);
  return r.h;
}

function histogramOverTime(avg: boolean): Handler {
  const floatKernel = RANGE_FUNCTIONS[avg ? 'avg_over_time' : 'sum_over_time']!.kernel;
  return (ev, e, t) => {
    const arg = e.args[0]!;
    const m = matrixArg(ev, arg, t);
    const out: Sample[] = [];
    for (const s of m.series) {
      if (s.hi <= s.lo) continue;
      if (!windowHasHistogram(s)) {
        if (floatKernel(s, m.rangeStart, m.rangeEnd)) out.push({ metric: s.metric, f: kernelValue[0]!, t, dropName: true });
        continue;
      }
      const p = split(s);
      if (p.fs.length > 0) {
        warnMixedFloatsHistograms(ev, s.metric, arg);
        continue;
      }
      const h = combineHistograms(ev, p.hs, avg, arg, metricName(s.metric));
      if (h) out.push({ metric: s.metric, f: 0, h, t, dropName: true });
    }
    return vec(out);
  };
}


/** last_over_time/first_over_time: the point itself, histogram or float; the name stays. */
function pointOverTime(last: boolean): Handler {
  return (ev, e, t) => {
    const m = matrixArg(ev, e.args[0]!, t);
    const out: Sample[] = [];
    for (const s of m.series) {
      if (s.hi <= s.lo) continue;
      const i = last ? s.hi - 1 : s.lo;
      const h = s.hs?.[i];
      out.push(h ? { metric: s.metric, f: 0, h, t, dropName: s.dropName } : { metric: s.metric, f: s.fs[i]!, t, dropName: s.dropName });
    }
    return vec(out);
  };
}

/** Range functions that count or time points of either kind: the float kernels read only ts. */
function anyPointOverTime(name: string): Handler {
  return (ev, e, t) => {
    const f = RANGE_FUNCTIONS[name]!;
    const m = matrixArg(ev, e.args[0]!, t);
    const out: Sample[] = [];
    for (const s of m.series) {
      if (s.hi <= s.lo) continue;
      if (f.kernel({ ...s, fs: s.ts }, m.rangeStart, m.rangeEnd)) out.push({ metric: s.metric, f: kernelValue[0]!, t, dropName: true });
    }
    return vec(out);
  };
}

// ---- histogram_* of instant vectors ----

function perHistogram(f: (h: FloatHistogram) => number): Handler {
  return (ev, e, t) => {
    const out: Sample[] = [];
    for (const s of vectorArg(ev, e.args[0]!, t)) if (s.h) out.push({ metric: s.metric, f: f(s.h), t, dropName: true });
    return vec(out);
  };
}

function variance(h: FloatHistogram): number {
  const mean = h.sum / h.count;
  let v = 0, c = 0;
  const custom = usesCustomBuckets(h);
  for (const b of allBuckets(h)) {
    if (b.count === 0) continue;
    let val: number;
    if (custom) val = (b.upper + b.lower) / 2;
    else if (b.lower <= 0 && b.upper >= 0) val = 0;
    else {
      val = Math.sqrt(b.upper * b.lower);
      if (b.upper < 0) val = -val;
    }
    const d = val - mean;
    const inc = b.count * d * d, t = v + inc;
    if (Number.isFinite(t)) c += Math.abs(v) >= Math.abs(inc) ? v - t + inc : inc - t + v;
    else c = 0;
    v = t;
  }
  return (v + c) / h.count;
}

/** Prometheus's HistogramQuantile on a native histogram. */
export function histogramQuantile(ev: Evaluator, q: number, h: FloatHistogram, name: string, at: Expr): number {
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (h.count === 0 || Number.isNaN(q)) return NaN;
  const custom = usesCustomBuckets(h);
  const buckets = allBuckets(h);
  const forward = Number.isNaN(h.sum) || q < 0.5;
  const order = forward ? buckets : [...buckets].reverse();
  let rank = forward ? q * h.count : (1 - q) * h.count;
  let count = 0, k = 0;
  let b = order[0] ?? { lower: 0, upper: 0, count: 0, lowerInclusive: false, upperInclusive: false, index: 0 };
  for (; k < order.length; k++) {
    b = { ...order[k]! };
    if (b.count === 0) continue;
    count += b.count;
    if (count >= rank) break;
  }
  if (!custom && b.lower < 0 && b.upper > 0) {
    const hasNeg = h.negativeBuckets.length > 0, hasPos = h.positiveBuckets.length > 0;
    if (!hasNeg && hasPos) b.lower = 0;
    else if (!hasPos && hasNeg) b.upper = 0;
  } else if (custom) {
    if (b.lower === -Infinity) {
      if (b.upper <= 0) return b.upper;
      b.lower = 0;
    } else if (b.upper === Infinity) return b.lower;
  }
  if (count > h.count) count = h.count;
  if (count < rank) {
    if (Number.isNaN(h.sum)) {
      ev.info(`input to histogram_quantile has NaN observations, result is NaN${forName(name)}`, at);
      return NaN;
    }
    return b.upper;
  }
  if (forward) rank -= count - b.count;
  else rank = count - rank;
  if (Number.isNaN(h.sum)) {
    let total = count;
    for (let j = k + 1; j < order.length; j++) total += order[j]!.count;
    if (total < h.count) ev.info(`input to histogram_quantile has NaN observations, result is skewed higher${forName(name)}`, at);
  }
  const fraction = rank / b.count;
  if (custom || (b.lower <= 0 && b.upper >= 0)) return b.lower + (b.upper - b.lower) * fraction;
  const logLower = Math.log2(Math.abs(b.lower)), logUpper = Math.log2(Math.abs(b.upper));
  if (b.lower > 0) return 2 ** (logLower + (logUpper - logLower) * fraction);
  return -(2 ** (logUpper + (logLower - logUpper) * (1 - fraction)));
}

function fractionBelow(b: { lower: number; upper: number }, v: number, linear: boolean): number {
  if (linear) return (v - b.lower) / (b.upper - b.lower);
  const logLower = Math.log2(Math.abs(b.lower)), logUpper = Math.log2(Math.abs(b.upper)), logV = Math.log2(Math.abs(v));
  if (v > 0) return (logV - logLower) / (logUpper - logLower);
  return 1 - (logV - logUpper) / (logLower - logUpper);
}

/** Prometheus's HistogramFraction on a native histogram. */
export function histogramFraction(ev: Evaluator, lower: number, upper: number, h: FloatHistogram, name: string, at: Expr): number {
  if (h.count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  const custom = usesCustomBuckets(h);
  const buckets = allBuckets(h);
  let count = 0, rank = 0, lowerRank = 0, upperRank = 0, lowerSet = false, upperSet = false, k = 0;
  for (; k < buckets.length; k++) {
    const b = { ...buckets[k]! };
    count += b.count;
    let zero = false;
    const linear = (v: number): number => (b.lower === -Infinity ? b.count : rank + b.count * fractionBelow(b, v, true));
    const expo = (v: number): number => rank + b.count * fractionBelow(b, v, false);
    if (b.lower <= 0 && b.upper >= 0) {
      zero = true;
      const hasNeg = h.negativeBuckets.length > 0, hasPos = h.positiveBuckets.length > 0;
      if (!hasNeg && hasPos) b.lower = 0;
      else if (!hasPos && hasNeg) b.upper = 0;
    }
    if (!lowerSet && b.lower >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && b.lower >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && b.lower < lower && b.upper > lower) {
      lowerRank = custom || zero ? linear(lower) : expo(lower);
      lowerSet = true;
    }
    if (!upperSet && b.lower < upper && b.upper > upper) {
      upperRank = custom || zero ? linear(upper) : expo(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank += b.count;
  }
  if (Number.isNaN(h.sum)) {
    for (let j = k + 1; j < buckets.length; j++) count += buckets[j]!.count;
    if (count < h.count) ev.info(`input to histogram_fraction has NaN observations, which are excluded from all fractions${forName(name)}`, at);
  } else count = h.count;
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / h.count;
}

interface ClassicBucket {
  upper: number;
  count: number;
}

/** Prometheus's BucketFraction for classic histograms. */
function bucketFraction(lower: number, upper: number, input: ClassicBucket[]): number {
  const sorted = [...input].sort((a, b) => a.upper - b.upper);
  if (sorted[sorted.length - 1]!.upper !== Infinity) return NaN;
  const bs: ClassicBucket[] = [];
  for (const b of sorted) {
    const last = bs[bs.length - 1];
    if (last && last.upper === b.upper) last.count += b.count;
    else bs.push({ ...b });
  }
  const count = bs[bs.length - 1]!.count;
  if (count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;
  let rank = 0, lowerRank = 0, upperRank = 0, lowerSet = false, upperSet = false;
  let lowerBound = bs[0]!.upper <= 0 ? -Infinity : 0;
  for (let i = 0; i < bs.length; i++) {
    const b = bs[i]!;
    if (i > 0) lowerBound = bs[i - 1]!.upper;
    const upperBound = b.upper;
    const lin = (v: number): number => (lowerBound === -Infinity ? b.count : rank + ((b.count - rank) * (v - lowerBound)) / (upperBound - lowerBound));
    if (!lowerSet && lowerBound >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && lowerBound >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && lowerBound < lower && upperBound > lower) {
      lowerRank = lin(lower);
      lowerSet = true;
    }
    if (!upperSet && lowerBound < upper && upperBound > upper) {
      upperRank = lin(upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank = b.count;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / count;
}

/** A bucket series' `le` bound (null when missing or malformed) and its group: the labels without `le`, and their key. */
interface BucketOf {
  readonly upper: number | null;
  readonly metric: Labels;
  readonly key: string;
}

/**
 * By label set (immutable, and the same object at every step of a range query's precomputed
 * input): each step parsed `le` and built the group's labels and key again, 2,870 series × 288
 * steps in a whole-day `histogram_quantile(0.9, sum by (job, le) (rate(…)))`.
 */
const bucketOf = new WeakMap<Labels, BucketOf>();

function bucketOfLabels(l: Labels): BucketOf {
  let b = bucketOf.get(l);
  if (!b) {
    const upper = parseGoFloat(getLabel(l, 'le'));
    const metric = upper === null ? l : l.filter((x) => x.name !== 'le');
    bucketOf.set(l, (b = { upper, metric, key: upper === null ? '' : labelsKey(metric) }));
  }
  return b;
}

/**
 * An instant vector split into native histograms and classic bucket groups (by labels without
 * `le`), Prometheus's resetHistograms: a native histogram with the labels of a classic group
 * cancels both, with a warning.
 */
function bucketGroups(ev: Evaluator, input: Sample[], at: Expr): { natives: Sample[]; classic: { metric: Labels; buckets: ClassicBucket[] }[] } {
  const groups = new Map<string, { metric: Labels; buckets: ClassicBucket[] }>();
  const natives: Sample[] = [];
  for (const s of input) {
    if (s.h) {
      natives.push(s);
      continue;
    }
    const { upper, metric, key } = bucketOfLabels(s.metric);
    if (upper === null) {
      ev.warn(`bucket label "le" is missing or has a malformed value of ${JSON.stringify(getLabel(s.metric, 'le'))}${forName(metricName(s.metric))}`, at);
      continue;
    }
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { metric, buckets: [] }));
    g.buckets.push({ upper, count: s.f });
  }
  const keptNatives: Sample[] = [];
  for (const s of natives) {
    const k = labelsKey(s.metric);
    if (groups.has(k)) {
      ev.warn(`vector contains a mix of classic and native histograms${forName(metricName(s.metric))}`, at);
      groups.delete(k);
      continue;
    }
    keptNatives.push(s);
  }
  return { natives: keptNatives, classic: [...groups.values()] };
}

function checkQuantile(ev: Evaluator, q: number, at: Expr): void {
  if (Number.isNaN(q) || q < 0 || q > 1) ev.warn(`quantile value should be between 0 and 1, got ${formatG(q)}`, at);
}

function classicQuantile(ev: Evaluator, q: number, g: { metric: Labels; buckets: ClassicBucket[] }, at: Expr): number {
  const [v, forced] = bucketQuantile(q, g.buckets.map((b) => ({ ...b })));
  if (forced) {
    ev.info(
      `input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)${forName(metricName(g.metric))}`,
      at,
    );
  }
  return v;
}

const histogramQuantileFn: Handler = (ev, e, t) => {
  const q = scalarArg(ev, e.args[0]!, t);
  const input = vectorArg(ev, e.args[1]!, t);
  checkQuantile(ev, q, e.args[0]!);
  const { natives, classic } = bucketGroups(ev, input, e.args[1]!);
  const out: Sample[] = [];
  for (const s of natives) out.push({ metric: s.metric, f: histogramQuantile(ev, q, s.h!, metricName(s.metric), e.args[1]!), t, dropName: true });
  for (const g of classic) if (g.buckets.length) out.push({ metric: g.metric, f: classicQuantile(ev, q, g, e.args[1]!), t, dropName: true });
  return vec(out);
};

function withLabel(l: Labels, name: string, value: string): Labels {
  return [...l.filter((x) => x.name !== name), { name, value }].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const histogramQuantilesFn: Handler = (ev, e, t) => {
  const input = vectorArg(ev, e.args[0]!, t);
  const a1 = unwrap(e.args[1]!);
  const label = a1.kind === 'string' ? a1.value : '';
  const qs = e.args.slice(2).map((a) => {
    const q = scalarArg(ev, a, t);
    checkQuantile(ev, q, a);
    return q;
  });
  const { natives, classic } = bucketGroups(ev, input, e.args[0]!);
  const out: Sample[] = [];
  for (const q of qs) {
    const qs = Number.isNaN(q) ? 'NaN' : formatOpenMetricsFloat(q);
    for (const s of natives) {
      out.push({ metric: withLabel(s.metric, label, qs), f: histogramQuantile(ev, q, s.h!, metricName(s.metric), e.args[0]!), t, dropName: true });
    }
    for (const g of classic) if (g.buckets.length) out.push({ metric: withLabel(g.metric, label, qs), f: classicQuantile(ev, q, g, e.args[0]!), t, dropName: true });
  }
  return vec(out);
};

/** Prometheus's labels.FormatOpenMetricsFloat: integral values get ".0". */
function formatOpenMetricsFloat(f: number): string {
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  const s = formatFloatF(f);
  return /^-?\d+$/.test(s) ? `${s}.0` : s;
}

const histogramFractionFn: Handler = (ev, e, t) => {
  const lower = scalarArg(ev, e.args[0]!, t), upper = scalarArg(ev, e.args[1]!, t);
  const input = vectorArg(ev, e.args[2]!, t);
  const { natives, classic } = bucketGroups(ev, input, e.args[2]!);
  const out: Sample[] = [];
  for (const s of natives) out.push({ metric: s.metric, f: histogramFraction(ev, lower, upper, s.h!, metricName(s.metric), e.args[2]!), t, dropName: true });
  for (const g of classic) if (g.buckets.length) out.push({ metric: g.metric, f: bucketFraction(lower, upper, g.buckets), t, dropName: true });
  return vec(out);
};

/**
 * Handlers that take over from functions.ts for every input (they fall back to the float kernels
 * themselves); any other function sees only the float points of its arguments.
 */
export const HISTOGRAM_HANDLERS: Record<string, Handler> = {
  rate: extrapolatedRate('rate'),
  increase: extrapolatedRate('increase'),
  delta: extrapolatedRate('delta'),
  irate: instantValue(true),
  idelta: instantValue(false),
  resets: countTransitions(true),
  changes: countTransitions(false),
  sum_over_time: histogramOverTime(false),
  avg_over_time: histogramOverTime(true),
  last_over_time: pointOverTime(true),
  first_over_time: pointOverTime(false),
  count_over_time: anyPointOverTime('count_over_time'),
  present_over_time: anyPointOverTime('present_over_time'),
  ts_of_last_over_time: anyPointOverTime('ts_of_last_over_time'),
  ts_of_first_over_time: anyPointOverTime('ts_of_first_over_time'),
  histogram_count: perHistogram((h) => h.count),
  histogram_sum: perHistogram((h) => h.sum),
  histogram_avg: perHistogram((h) => h.sum / h.count),
  histogram_stdvar: perHistogram(variance),
  histogram_stddev: perHistogram((h) => Math.sqrt(variance(h))),
  histogram_fraction: histogramFractionFn,
  histogram_quantile: histogramQuantileFn,
  histogram_quantiles: histogramQuantilesFn,
};
