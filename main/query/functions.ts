// PromQL functions on floats; histogram/functions.ts takes over those that read native histograms.
import type { Labels } from '../../shared/labels';
import { METRIC_NAME, compareLabels, getLabel } from '../../shared/labels';
import { type Call, type Expr, type VectorSelector, exprType } from './ast';
import type { Evaluator } from './evaluator';
import { extendedCall } from './extended-range';
import { HISTOGRAM_HANDLERS, floatView, windowHasHistogram } from './histogram/functions';
import { infoFunction } from './info';
import { formatG, quantile } from './numeric';
import { RANGE_FUNCTIONS, type RangeKernel, checkCounterName, kernelValue, linearRegression, put, values } from './range-functions';
import { type PromRegex, compilePromRegex } from './regex';
import { clip, isValidLabelName } from './strings';
import { type MatrixValue, type Sample, type Value, QueryError, SAME_LABELSET, checkNoDuplicates, dropMetricName, keyOf, metricName } from './values';

type Handler = (ev: Evaluator, e: Call, t: number) => Value;

const vec = (v: Sample[]): Value => ({ type: 'vector', v });

function scalarArg(ev: Evaluator, e: Expr, t: number): number {
  const v = ev.eval(e, t);
  if (v.type === 'scalar') return v.v;
  throw new QueryError('expected scalar argument');
}

function vectorArg(ev: Evaluator, e: Expr, t: number): Sample[] {
  const v = ev.eval(e, t);
  return v.type === 'vector' ? v.v : [];
}

/** The float samples of a vector argument: functions on floats skip native histograms, as in Prometheus. */
function floatArg(ev: Evaluator, e: Expr, t: number): Sample[] {
  const v = vectorArg(ev, e, t);
  return v.some((s) => s.h) ? v.filter((s) => !s.h) : v;
}

/**
 * A range-vector argument as functions on floats see it: a window holding native histograms keeps
 * its float points only, with Prometheus's info when both kinds were there (the histogram-aware
 * functions of histogram/functions.ts read the matrix themselves).
 */
function matrixArg(ev: Evaluator, e: Expr, t: number): MatrixValue {
  const v = ev.eval(e, t);
  if (v.type !== 'matrix') throw new QueryError('expected range vector argument');
  if (!v.series.some((s) => s.hs)) return v;
  const series = v.series.map((s) => {
    if (!windowHasHistogram(s)) return s;
    const f = floatView(s);
    if (f.hi > 0) ev.info(`ignored histograms in a range containing both floats and histograms for metric name ${JSON.stringify(metricName(s.metric))}`, e);
    return f;
  });
  return { ...v, series };
}

function stringArg(e: Expr): string {
  let x = e;
  while (x.kind === 'paren') x = x.expr;
  if (x.kind !== 'string') throw new QueryError('expected string literal argument');
  return x.value;
}

/** Applies f to each sample's value; the metric name is dropped (delayed). */
function simple(f: (x: number) => number): Handler {
  return (ev, e, t) => vec(floatArg(ev, e.args[0]!, t).map((s) => ({ metric: s.metric, f: f(s.f), t, dropName: true })));
}

/** Applies f to each range-vector series (f false: no output). */
function overTime(f: RangeKernel, keepName = false): Handler {
  return (ev, e, t) => {
    const m = matrixArg(ev, e.args[e.args.length - 1]!, t);
    const out: Sample[] = [];
    for (const s of m.series) {
      if (s.hi <= s.lo) continue;
      if (!f(s, m.rangeStart, m.rangeEnd)) continue;
      out.push({ metric: s.metric, f: kernelValue[0]!, t, dropName: keepName ? s.dropName : true });
    }
    return vec(out);
  };
}

function unwrapParens(e: Expr): Expr {
  return e.kind === 'paren' ? unwrapParens(e.expr) : e;
}

function dateFn(f: (d: Date) => number): Handler {
  return (ev, e, t) => {
    if (e.args.length === 0) return vec([{ metric: [], f: f(new Date(t)), t, dropName: false }]);
    return vec(
      floatArg(ev, e.args[0]!, t).map((s) => ({
        metric: s.metric, f: Number.isFinite(s.f) ? f(new Date(Math.trunc(s.f * 1000))) : NaN, t, dropName: true,
      })),
    );
  };
}

function clampVec(ev: Evaluator, e: Call, t: number, min: number, max: number): Value {
  if (max < min) return vec([]);
  return vec(
    floatArg(ev, e.args[0]!, t).map((s) => ({ metric: s.metric, f: Math.max(min, Math.min(max, s.f)), t, dropName: true })),
  );
}

/** Go regexp.Expand: $1, ${1}, $name, ${name}, $$. */
function expandTemplate(tpl: string, m: RegExpExecArray): string {
  return tpl.replace(/\$(?:\$|\{([a-zA-Z0-9_]*)\}|([a-zA-Z0-9_]+))/g, (all, braced?: string, bare?: string) => {
    if (all === '$$') return '$';
    const name = braced ?? bare ?? '';
    if (/^\d+$/.test(name)) return m[Number(name)] ?? '';
    return m.groups?.[name] ?? '';
  });
}

function setLabel(l: Labels, name: string, value: string): Labels {
  const out = l.filter((x) => x.name !== name);
  if (value !== '') out.push({ name, value });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function sortByValue(desc: boolean): Handler {
  return (ev, e, t) => {
    if (ev.isRange) ev.warn('sort is ineffective for range queries since results are always ordered by labels', e);
    const v = [...floatArg(ev, e.args[0]!, t)];
    // NaN sorts last in both directions.
    v.sort((a, b) => {
      if (Number.isNaN(a.f)) return Number.isNaN(b.f) ? 0 : 1;
      if (Number.isNaN(b.f)) return -1;
      return desc ? b.f - a.f : a.f - b.f;
    });
    return vec(v);
  };
}

function sortByLabel(desc: boolean): Handler {
  return (ev, e, t) => {
    if (ev.isRange) ev.warn('sort is ineffective for range queries since results are always ordered by labels', e);
    const names = e.args.slice(1).map(stringArg);
    const v = [...vectorArg(ev, e.args[0]!, t)];
    const collator = new Intl.Collator('en', { numeric: true });
    v.sort((a, b) => {
      for (const n of names) {
        const c = collator.compare(getLabel(a.metric, n), getLabel(b.metric, n));
        if (c !== 0) return desc ? -c : c;
      }
      const c = compareLabels(a.metric, b.metric);
      return desc ? -c : c;
    });
    return vec(v);
  };
}

/** Labels for absent()/absent_over_time(): the selector's equality matchers, when unambiguous. */
function absentLabels(e: Expr): Labels {
  const x = unwrapParens(e);
  const vs: VectorSelector | null = x.kind === 'vector' ? x : x.kind === 'matrix' ? x.vector : null;
  if (!vs) return [];
  const eq = new Map<string, string>();
  const dup = new Set<string>();
  for (const m of vs.matchers) {
    if (m.name === METRIC_NAME) continue;
    if (m.type === '=') {
      if (eq.has(m.name)) dup.add(m.name);
      eq.set(m.name, m.value);
    } else dup.add(m.name);
  }
  for (const d of dup) eq.delete(d);
  return [...eq.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([name, value]) => ({ name, value }));
}

const HANDLERS: Record<string, Handler> = {
  abs: simple(Math.abs),
  ceil: simple(Math.ceil),
  floor: simple(Math.floor),
  exp: simple(Math.exp),
  sqrt: simple(Math.sqrt),
  ln: simple(Math.log),
  log2: simple(Math.log2),
  log10: simple(Math.log10),
  sin: simple(Math.sin), cos: simple(Math.cos), tan: simple(Math.tan),
  asin: simple(Math.asin), acos: simple(Math.acos), atan: simple(Math.atan),
  sinh: simple(Math.sinh), cosh: simple(Math.cosh), tanh: simple(Math.tanh),
  asinh: simple(Math.asinh), acosh: simple(Math.acosh), atanh: simple(Math.atanh),
  deg: simple((x) => (x * 180) / Math.PI),
  rad: simple((x) => (x * Math.PI) / 180),
  sgn: simple((x) => (x > 0 ? 1 : x < 0 ? -1 : x)),
  pi: () => ({ type: 'scalar', v: Math.PI }),
  time: (_ev, _e, t) => ({ type: 'scalar', v: t / 1000 }),
  start: (ev) => ({ type: 'scalar', v: ev.start / 1000 }),
  end: (ev) => ({ type: 'scalar', v: ev.end / 1000 }),
  step: (ev) => ({ type: 'scalar', v: ev.interval / 1000 }),
  range: (ev) => ({ type: 'scalar', v: (ev.end - ev.start) / 1000 }),
  min_of: (ev, e, t) => {
    const a = scalarArg(ev, e.args[0]!, t), b = scalarArg(ev, e.args[1]!, t);
    return { type: 'scalar', v: Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b) };
  },
  max_of: (ev, e, t) => {
    const a = scalarArg(ev, e.args[0]!, t), b = scalarArg(ev, e.args[1]!, t);
    return { type: 'scalar', v: Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b) };
  },
  scalar: (ev, e, t) => {
    const v = floatArg(ev, e.args[0]!, t);
    return { type: 'scalar', v: v.length === 1 ? v[0]!.f : NaN };
  },
  vector: (ev, e, t) => vec([{ metric: [], f: scalarArg(ev, e.args[0]!, t), t, dropName: false }]),
  round: (ev, e, t) => {
    const to = e.args.length > 1 ? scalarArg(ev, e.args[1]!, t) : 1;
    const inv = 1 / to;
    return vec(floatArg(ev, e.args[0]!, t).map((s) => ({ metric: s.metric, f: Math.floor(s.f * inv + 0.5) / inv, t, dropName: true })));
  },
  clamp: (ev, e, t) => clampVec(ev, e, t, scalarArg(ev, e.args[1]!, t), scalarArg(ev, e.args[2]!, t)),
  clamp_min: (ev, e, t) => clampVec(ev, e, t, scalarArg(ev, e.args[1]!, t), Infinity),
  clamp_max: (ev, e, t) => clampVec(ev, e, t, -Infinity, scalarArg(ev, e.args[1]!, t)),
  timestamp: (ev, e, t) => {
    const arg = unwrapParens(e.args[0]!);
    const v = vectorArg(ev, e.args[0]!, t);
    const raw = arg.kind === 'vector';
    return vec(v.map((s) => ({ metric: s.metric, f: (raw ? s.t : t) / 1000, t, dropName: true })));
  },
  absent: (ev, e, t) => (vectorArg(ev, e.args[0]!, t).length ? vec([]) : vec([{ metric: absentLabels(e.args[0]!), f: 1, t, dropName: true }])),
  absent_over_time: (ev, e, t) =>
    matrixArg(ev, e.args[0]!, t).series.length ? vec([]) : vec([{ metric: absentLabels(e.args[0]!), f: 1, t, dropName: true }]),
  // callFunction gives rate/increase/delta/irate/idelta/resets/changes and the *_over_time
  // functions that read histograms to HISTOGRAM_HANDLERS (histogram/functions.ts), which run these
  // same kernels on float series.
  ...Object.fromEntries(Object.entries(RANGE_FUNCTIONS).map(([name, f]) => [name, overTime(f.kernel, f.keepName)])),
  quantile_over_time: (ev, e, t) => {
    const q = scalarArg(ev, e.args[0]!, t);
    if (Number.isNaN(q) || q < 0 || q > 1) ev.warn(`quantile value should be between 0 and 1, got ${formatG(q)}`, e.args[0]!);
    return overTime((s) => put(quantile(q, values(s))))(ev, e, t);
  },
  predict_linear: (ev, e, t) => {
    const d = scalarArg(ev, e.args[1]!, t);
    const m = matrixArg(ev, e.args[0]!, t);
    const out: Sample[] = [];
    for (const s of m.series) {
      if (s.hi - s.lo < 2) continue;
      const [slope, intercept] = linearRegression(s, t);
      out.push({ metric: s.metric, f: slope * d + intercept, t, dropName: true });
    }
    return vec(out);
  },
  double_exponential_smoothing: (ev, e, t) => {
    const sf = scalarArg(ev, e.args[1]!, t), tf = scalarArg(ev, e.args[2]!, t);
    if (!(sf > 0 && sf < 1)) throw new QueryError(`invalid smoothing factor. Expected: 0 < sf < 1, got: ${sf.toFixed(6)}`);
    if (!(tf > 0 && tf < 1)) throw new QueryError(`invalid trend factor. Expected: 0 < tf < 1, got: ${tf.toFixed(6)}`);
    const m = matrixArg(ev, e.args[0]!, t);
    const out: Sample[] = [];
    for (const s of m.series) {
      const { fs, lo, hi } = s;
      if (hi - lo < 2) continue;
      let s0 = 0, s1 = fs[lo]!, b = fs[lo + 1]! - fs[lo]!;
      for (let i = lo + 1; i < hi; i++) {
        const x = sf * fs[i]!;
        b = i - 1 === lo ? b : tf * (s1 - s0) + (1 - tf) * b;
        const y = (1 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
      }
      out.push({ metric: s.metric, f: s1, t, dropName: true });
    }
    return vec(out);
  },
  info: infoFunction,
  label_replace: (ev, e, t) => {
    const dst = stringArg(e.args[1]!), repl = stringArg(e.args[2]!), src = stringArg(e.args[3]!), regex = stringArg(e.args[4]!);
    let re: PromRegex;
    try {
      re = compilePromRegex(regex);
      re.exec(''); // label_replace needs the regex engine (groups) even for fast-path patterns
    } catch {
      throw new QueryError(`invalid regular expression in label_replace(): ${clip(regex)}`);
    }
    if (!isValidLabelName(dst)) throw new QueryError(`invalid destination label name in label_replace(): ${dst}`);
    const out = vectorArg(ev, e.args[0]!, t).map((s) => {
      const m = re.exec(getLabel(s.metric, src));
      if (!m) return s;
      return { ...s, metric: setLabel(s.metric, dst, expandTemplate(repl, m)), dropName: dst === METRIC_NAME ? false : s.dropName };
    });
    checkNoDuplicates(out);
    return vec(out);
  },
  label_join: (ev, e, t) => {
    const dst = stringArg(e.args[1]!), sep = stringArg(e.args[2]!);
    const srcs = e.args.slice(3).map(stringArg);
    for (const s of srcs) if (!isValidLabelName(s)) throw new QueryError(`invalid source label name in label_join(): ${s}`);
    if (!isValidLabelName(dst)) throw new QueryError(`invalid destination label name in label_join(): ${dst}`);
    const out = vectorArg(ev, e.args[0]!, t).map((s) => ({
      ...s,
      metric: setLabel(s.metric, dst, srcs.map((n) => getLabel(s.metric, n)).join(sep)),
      dropName: dst === METRIC_NAME ? false : s.dropName,
    }));
    checkNoDuplicates(out);
    return vec(out);
  },
  sort: sortByValue(false),
  sort_desc: sortByValue(true),
  sort_by_label: sortByLabel(false),
  sort_by_label_desc: sortByLabel(true),
  year: dateFn((d) => d.getUTCFullYear()),
  month: dateFn((d) => d.getUTCMonth() + 1),
  day_of_month: dateFn((d) => d.getUTCDate()),
  day_of_week: dateFn((d) => d.getUTCDay()),
  day_of_year: dateFn((d) => Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1),
  days_in_month: dateFn((d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate()),
  hour: dateFn((d) => d.getUTCHours()),
  minute: dateFn((d) => d.getUTCMinutes()),
};

export function callFunction(ev: Evaluator, e: Call, t: number): Value {
  const extended = extendedCall(ev, e, t);
  if (extended) {
    if (extended.type !== 'vector') return extended;
    if (e.func === 'rate' || e.func === 'increase') {
      const checked = new Set<string>();
      for (const s of extended.v) checkCounterName(ev, s.metric, e.args[0]!, checked);
    }
    if (!ev.delayedNameRemoval) checkDroppedNames(ev, e, extended.v);
    return extended;
  }
  // Functions that read native histograms take over the call; the others see floats only.
  const h = HISTOGRAM_HANDLERS[e.func] ?? HANDLERS[e.func];
  if (!h) throw new QueryError(`function ${JSON.stringify(e.func)}: not supported yet`);
  const v = h(ev, e, t);
  if (v.type === 'vector' && !ev.delayedNameRemoval) checkDroppedNames(ev, e, v.v);
  return v;
}

/**
 * Per evaluation and call node: output labels without the name -> labels with it. While every
 * output so far carried one name, none can collide once it goes: the outputs are only remembered
 * (the label sets themselves, by identity), and keyed the first time another name comes.
 */
interface CallOutputs {
  /** The name of the first output. */
  name: string | undefined;
  /** Outputs (their dropName) while all carry `name`; null once keyed into `seen`. */
  oneName: Map<Labels, boolean> | null;
  readonly seen: Map<string, string>;
}
const rangeCallOutputs = new WeakMap<Evaluator, WeakMap<Call, CallOutputs>>();

/**
 * We drop __name__ lazily (label_replace after rate still sees it, as in Prometheus's promqltest
 * engine), but Prometheus as served (no promql-delayed-name-removal flag) drops it when a function
 * returns and fails there when two outputs then share their labels, even if an aggregation above
 * would have merged them. We fail where it fails: a function with a range-vector argument checks
 * its whole result matrix (every step), any other function each step's vector.
 */
function checkDroppedNames(ev: Evaluator, e: Call, v: Sample[]): void {
  if (!e.args.some((a) => exprType(a) === 'matrix')) {
    checkNoDuplicates(v);
    return;
  }
  let byCall = rangeCallOutputs.get(ev);
  if (!byCall) rangeCallOutputs.set(ev, (byCall = new WeakMap()));
  let out = byCall.get(e);
  if (!out) byCall.set(e, (out = { name: undefined, oneName: new Map(), seen: new Map() }));
  if (out.oneName) {
    if (out.oneName.size === 0 && v.length > 0) out.name = metricName(v[0]!.metric);
    const name = out.name;
    // Label sets made anew at each step (a subquery's) would pile up by identity: keyed past a bound.
    if (v.every((s) => metricName(s.metric) === name) && out.oneName.size + v.length <= ONE_NAME_MAX) {
      for (const s of v) out.oneName.set(s.metric, s.dropName);
      return;
    }
    const before = out.oneName;
    out.oneName = null;
    for (const [metric, dropName] of before) addOutput(out.seen, metric, dropName);
  }
  for (const s of v) addOutput(out.seen, s.metric, s.dropName);
}

/** Outputs a call remembers by identity before it keys them. */
const ONE_NAME_MAX = 100_000;

function addOutput(seen: Map<string, string>, metric: Labels, dropName: boolean): void {
  const full = keyOf(metric);
  const k = dropName ? keyOf(dropMetricName(metric)) : full;
  const prev = seen.get(k);
  if (prev === undefined) seen.set(k, full);
  else if (prev !== full) throw new QueryError(SAME_LABELSET);
}
