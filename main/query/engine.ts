// The PromQL evaluator. A range query is evaluated step by step over series preloaded once per
// selector (one Querier.select per selector for the whole query window; float samples decoded
// when first read, and let go again by the range fast path once it is done with a series); each
// step finds its samples by binary search in the decoded Float64Arrays. Subquery steps are cached by time, so
// overlapping subquery windows of consecutive steps are evaluated once.
import type { Labels } from '../../shared/labels';
import { compareLabels, labelsKey } from '../../shared/labels';
import type { FloatHistogram } from '../tsdb/histogram';
import type { Querier } from '../tsdb/types';
import type { Expr, MatrixSelector, SubqueryExpr, TimeModifiers, VectorSelector } from './ast';
import { exprType } from './ast';
import { aggregate } from './aggregate';
import { binaryOp } from './binary';
import type { Evaluator, RowsHelper } from './evaluator';
import { callFunction } from './functions';
import { detectReset, mul } from './histogram/ops';
import { type LoadedSeries, type SamplePool, LazySeries, loadMixedSeries, loadSeries } from './loaded-series';
import { upperBound } from './numeric';
import { parseExpr, positionString, resolveDurations } from './parser';
import { type Grid, type StepMatrix, evalSteps, hasStepShape } from './range-eval';
import { extendedMargins, extendedMatrix, isExtended, smoothedVector } from './extended-range';
import { infoPlan } from './info';
import { storeMatcher } from './regex';
import {
  type MatrixValue, type Sample, type Series, type Value, QueryError, TOO_MANY_SAMPLES, checkNoDuplicates, dropMetricName, finishVector, keyOf,
} from './values';

export interface EngineOptions {
  /** ms; default 5m. */
  lookbackDelta?: number;
  /**
   * Most samples the query may hold at once (Prometheus's --query.max-samples; default 50,000,000):
   * a step's selected samples, and a subquery's result as it grows plus inner results kept for
   * later steps. Raw samples read from the store are bounded by the query window, not by this.
   */
  maxSamples?: number;
  /** ms; default 2m. */
  timeoutMs?: number;
  /** Subquery step when none is given, in ms; default 1m. */
  defaultSubqueryStep?: number;
  /**
   * Prometheus's promql-delayed-name-removal (its promqltest harness turns it on): __name__ goes at
   * the end, so `sum(rate({__name__=~"a|b"}[1m]))` works. Off (Prometheus's default): fails there.
   */
  delayedNameRemoval?: boolean;
  /** A thread that computes a share of a large range call's series (split-rows.ts); none: all on this thread. */
  helper?: RowsHelper;
}

export interface Annotations {
  warnings: string[];
  infos: string[];
}

export interface ResultSeries {
  metric: Labels;
  /** Float points. */
  ts: number[];
  fs: number[];
  /** Native-histogram points (Prometheus's Series.Histograms), when the series has any. */
  hts?: number[];
  hs?: FloatHistogram[];
}

export type QueryValue =
  | { type: 'scalar'; t: number; v: number }
  | { type: 'string'; t: number; v: string }
  | { type: 'vector'; t: number; samples: { metric: Labels; t: number; f: number; h?: FloatHistogram }[] }
  | { type: 'matrix'; series: ResultSeries[] };

export interface QueryResult {
  value: QueryValue;
  annotations: Annotations;
}

/** Evaluates `query` at `time` (ms). Throws ParseError or QueryError. */
export function instantQuery(querier: Querier, query: string | Expr, time: number, opts: EngineOptions = {}): QueryResult {
  const { expr, text } = prepare(query, 0, 0);
  const ev = new QueryEvaluator(querier, text, time, time, 0, opts);
  ev.preload(expr);
  const v = ev.eval(expr, time);
  const ann = ev.annotations();
  switch (v.type) {
    case 'scalar': return { value: { type: 'scalar', t: time, v: v.v }, annotations: ann };
    case 'string': return { value: { type: 'string', t: time, v: v.v }, annotations: ann };
    case 'vector': {
      const samples = finishVector(v.v).map((s) => (s.h ? { metric: s.metric, t: time, f: s.f, h: s.h } : { metric: s.metric, t: time, f: s.f }));
      return { value: { type: 'vector', t: time, samples }, annotations: ann };
    }
    case 'matrix': {
      const merged = new Map<string, ResultSeries>();
      for (const s of v.series) {
        const metric = s.dropName ? dropMetricName(s.metric) : s.metric;
        const k = labelsKey(metric);
        const prev = merged.get(k);
        if (s.hs) {
          // Histogram points go to their own list; a name collision is an error here.
          if (prev) throw new QueryError('vector cannot contain metrics with the same labelset');
          merged.set(k, splitPoints(metric, s));
          continue;
        }
        if (prev) {
          // Same label set after dropping names: merge when timestamps do not overlap.
          const pts = prev.ts.map((t, i) => [t, prev.fs[i]!] as const);
          for (let i = s.lo; i < s.hi; i++) pts.push([s.ts[i]!, s.fs[i]!]);
          pts.sort((a, b) => a[0] - b[0]);
          for (let i = 1; i < pts.length; i++) {
            if (pts[i]![0] === pts[i - 1]![0]) throw new QueryError('vector cannot contain metrics with the same labelset');
          }
          prev.ts = pts.map((p) => p[0]);
          prev.fs = pts.map((p) => p[1]);
        } else {
          const ts = Array.prototype.slice.call(s.ts, s.lo, s.hi) as number[];
          merged.set(k, { metric, ts, fs: Array.prototype.slice.call(s.fs, s.lo, s.hi) as number[] });
        }
      }
      const series = [...merged.values()].sort((a, b) => compareLabels(a.metric, b.metric));
      return { value: { type: 'matrix', series }, annotations: ann };
    }
  }
}

/** Evaluates `query` at start, start+step, … ≤ end (ms); the result is a matrix sorted by labels. */
export function rangeQuery(
  querier: Querier, query: string | Expr, start: number, end: number, step: number, opts: EngineOptions = {},
): QueryResult {
  const { expr, text } = prepare(query, step, end - start);
  const t = exprType(expr);
  if (t !== 'scalar' && t !== 'vector') {
    throw new QueryError(`invalid expression type "${t === 'matrix' ? 'range vector' : t}" for range query, must be Scalar or instant Vector`, 'bad_data');
  }
  if (step <= 0) throw new QueryError('zero or negative query resolution step widths are not accepted. Try a positive integer', 'bad_data');
  const ev = new QueryEvaluator(querier, text, start, end, step, opts);
  ev.preload(expr);
  const whole = ev.precompute(expr);
  const direct = whole && matrixResult(whole, start, step, ev.maxSamples);
  if (direct) return { value: { type: 'matrix', series: direct }, annotations: ev.annotations() };
  const out = new Map<string, ResultSeries>();
  let total = 0;
  for (let ts = start; ts <= end; ts += step) {
    const v = ev.eval(expr, ts);
    if (v.type === 'scalar') {
      let s = out.get('');
      if (!s) out.set('', (s = { metric: [], ts: [], fs: [] }));
      s.ts.push(ts);
      s.fs.push(v.v);
      total++;
    } else if (v.type === 'vector') {
      for (const smp of finishVector(v.v)) {
        const k = keyOf(smp.metric);
        let s = out.get(k);
        if (!s) out.set(k, (s = { metric: smp.metric, ts: [], fs: [] }));
        if (smp.h) {
          (s.hts ??= []).push(ts);
          (s.hs ??= []).push(smp.h);
        } else {
          s.ts.push(ts);
          s.fs.push(smp.f);
        }
        total++;
      }
    }
    if (total > ev.maxSamples) throw new QueryError(TOO_MANY_SAMPLES);
  }
  const series = [...out.values()].sort((a, b) => compareLabels(a.metric, b.metric));
  return { value: { type: 'matrix', series }, annotations: ev.annotations() };
}

/** A precomputed query result as result series; null when label sets collide after dropping names. */
function matrixResult(m: StepMatrix, start: number, step: number, maxSamples: number): ResultSeries[] | null {
  const steps = m.values.length / Math.max(1, m.metrics.length);
  const out = new Map<string, ResultSeries>();
  let total = 0;
  for (let i = 0; i < m.metrics.length; i++) {
    const ts: number[] = [], fs: number[] = [];
    for (let k = 0, j = i * steps; k < steps; k++, j++) {
      if (!m.present[j]) continue;
      ts.push(start + k * step);
      fs.push(m.values[j]!);
    }
    if (ts.length === 0) continue;
    total += ts.length;
    const metric = m.dropName[i] ? dropMetricName(m.metrics[i]!) : m.metrics[i]!;
    const k = keyOf(metric);
    if (out.has(k)) return null; // the step-by-step path merges or reports the duplicate
    out.set(k, { metric, ts, fs });
  }
  if (total > maxSamples) throw new QueryError(TOO_MANY_SAMPLES);
  return [...out.values()].sort((a, b) => compareLabels(a.metric, b.metric));
}

/** A range-vector series as a result series: float and histogram points apart. */
function splitPoints(metric: Labels, s: Series): ResultSeries {
  const r: ResultSeries = { metric, ts: [], fs: [], hts: [], hs: [] };
  for (let i = s.lo; i < s.hi; i++) {
    const h = s.hs?.[i];
    if (h) {
      r.hts!.push(s.ts[i]!);
      r.hs!.push(h);
    } else {
      r.ts.push(s.ts[i]!);
      r.fs.push(s.fs[i]!);
    }
  }
  return r;
}

/** Parses, then sets durations written with step()/range() for this query's step and range (ms). */
function prepare(query: string | Expr, step: number, range: number): { expr: Expr; text: string } {
  const p = typeof query === 'string' ? { expr: parseExpr(query), text: query } : { expr: query, text: '' };
  resolveDurations(p.expr, step, range);
  return p;
}

export class QueryEvaluator implements Evaluator {
  readonly lookback: number;
  readonly maxSamples: number;
  readonly subqueryStep: number;
  readonly delayedNameRemoval: boolean;
  readonly helper: RowsHelper | null;
  /** Epoch ms after which the query times out. */
  readonly deadline: number;
  private readonly loaded = new Map<VectorSelector, LoadedSeries[]>();
  /** Nodes of a range query computed for every step at once (range-eval.ts). */
  private readonly precomputed = new Map<Expr, { m: StepMatrix; grid: Grid }>();
  private readonly subqueryCache = new Map<SubqueryExpr, Map<number, Sample[]>>();
  /** Samples held by subqueryCache: they count toward maxSamples like results being built. */
  private cachedSamples = 0;
  /** Subqueries being evaluated around the current node (their inner results may be asked again). */
  private subqueryDepth = 0;
  private readonly warnings = new Set<string>();
  private readonly infos = new Set<string>();
  private stepsSinceClock = 0;

  constructor(
    private readonly querier: Querier,
    readonly query: string,
    readonly start: number,
    readonly end: number,
    readonly interval: number,
    opts: EngineOptions,
  ) {
    this.lookback = opts.lookbackDelta ?? 300_000;
    this.maxSamples = opts.maxSamples ?? 50_000_000;
    this.subqueryStep = opts.defaultSubqueryStep ?? 60_000;
    this.delayedNameRemoval = opts.delayedNameRemoval ?? false;
    this.helper = opts.helper ?? null;
    this.deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  }

  annotations(): Annotations {
    return { warnings: [...this.warnings], infos: [...this.infos] };
  }

  warn(msg: string, e: Expr): void {
    this.warnings.add(`PromQL warning: ${msg}${this.posSuffix(e)}`);
  }

  info(msg: string, e: Expr): void {
    this.infos.add(`PromQL info: ${msg}${this.posSuffix(e)}`);
  }

  private posSuffix(e: Expr): string {
    return this.query ? ` (${positionString(this.query, e.pos.start)})` : '';
  }

  /** Whether this is a range query (several steps). */
  get isRange(): boolean {
    return this.interval > 0 && this.end > this.start;
  }

  refTime(m: TimeModifiers, t: number): number {
    const base = m.atPreprocessor === 'start' ? this.start : m.atPreprocessor === 'end' ? this.end : m.at ?? t;
    return base - m.offset;
  }

  /** Selects every selector's samples once, for the whole window the query will touch. */
  preload(e: Expr): void {
    this.walk(e, this.start, this.end);
  }

  /** `stats`: histogram buckets are not needed (see histogramStatsOnly). */
  private walk(e: Expr, lo: number, hi: number, stats: StatsMode = 'none'): void {
    switch (e.kind) {
      case 'vector': {
        const [a, b] = this.window(e, lo, hi);
        this.load(e, a - this.lookback, b + extendedMargins(e, this.lookback).after, stats === 'stats');
        return;
      }
      case 'matrix': {
        const [a, b] = this.window(e.vector, lo, hi);
        const margin = extendedMargins(e.vector, this.lookback);
        this.load(e.vector, a - e.range - margin.before, b + margin.after, stats === 'stats');
        return;
      }
      case 'subquery': {
        const [a, b] = this.window(e, lo, hi);
        this.walk(e.expr, a - e.range, b, 'blocked');
        return;
      }
      case 'call': {
        const inner = stats === 'blocked' || NEEDS_BUCKETS.has(e.func) ? 'blocked' : STATS_FUNCTIONS.has(e.func) ? 'stats' : stats;
        // info()'s second argument only names the info series to read (info.ts).
        if (e.func === 'info') return (this.walk(e.args[0]!, lo, hi, inner), this.walk(infoPlan(e).selector, lo, hi, inner));
        for (const a of e.args) this.walk(a, lo, hi, inner);
        return;
      }
      case 'aggregate': this.walk(e.expr, lo, hi, stats); if (e.param) this.walk(e.param, lo, hi, stats); return;
      case 'binary': {
        const inner = e.op === '</' || e.op === '>/' ? 'blocked' : stats; // trims need the buckets
        this.walk(e.lhs, lo, hi, inner);
        this.walk(e.rhs, lo, hi, inner);
        return;
      }
      case 'unary': case 'paren': this.walk(e.expr, lo, hi, stats); return;
      default: return;
    }
  }

  /**
   * Computes the outermost nodes the fast path handles for all their evaluation times at once:
   * the steps of a range query, or a subquery's own steps. Returns the whole query's result when
   * the root of a range query is one of them.
   */
  precompute(e: Expr): StepMatrix | null {
    const steps = this.isRange ? Math.floor((this.end - this.start) / this.interval) + 1 : 1;
    return this.precomputeNode(e, { start: this.start, interval: this.interval || 1, steps }, this.isRange);
  }

  private precomputeNode(e: Expr, grid: Grid, here: boolean): StepMatrix | null {
    if (here && hasStepShape(e)) {
      const m = evalSteps(this, e, grid);
      if (m) {
        this.precomputed.set(e, { m, grid });
        return m;
      }
    }
    switch (e.kind) {
      case 'call': for (const a of e.args) this.precomputeNode(a, grid, here); break;
      case 'aggregate': this.precomputeNode(e.expr, grid, here); break;
      case 'binary': this.precomputeNode(e.lhs, grid, here); this.precomputeNode(e.rhs, grid, here); break;
      case 'unary': case 'paren': this.precomputeNode(e.expr, grid, here); break;
      case 'subquery': {
        if (e.at !== null || e.atPreprocessor !== null) break;
        // Every time any outer step asks of the inner expression, as one grid (see subquery()).
        const step = e.step || this.subqueryStep;
        const from = grid.start - e.offset - e.range;
        let first = step * Math.trunc(from / step);
        if (first <= from) first += step;
        const last = grid.start + (grid.steps - 1) * grid.interval - e.offset;
        if (last >= first) this.precomputeNode(e.expr, { start: first, interval: step, steps: Math.floor((last - first) / step) + 1 }, true);
        break;
      }
      default: break;
    }
    return null;
  }

  /** A precomputed node's value at time t of its grid, or null. */
  private precomputedAt(e: Expr, t: number): Sample[] | null {
    const p = this.precomputed.get(e);
    if (!p) return null;
    const { m, grid } = p;
    const k = (t - grid.start) / grid.interval;
    if (!Number.isInteger(k) || k < 0 || k >= grid.steps) return null;
    const out: Sample[] = [];
    for (let i = 0, j = k; i < m.metrics.length; i++, j += grid.steps) {
      if (m.present[j]) out.push({ metric: m.metrics[i]!, f: m.values[j]!, t, dropName: m.dropName[i]! });
    }
    return out;
  }

  loadedSeries(vs: VectorSelector): LoadedSeries[] {
    return this.loaded.get(vs) ?? [];
  }

  private window(m: TimeModifiers, lo: number, hi: number): [number, number] {
    if (m.at !== null || m.atPreprocessor !== null) {
      const r = this.refTime(m, lo);
      return [r, r];
    }
    return [lo - m.offset, hi - m.offset];
  }

  private load(vs: VectorSelector, mint: number, maxt: number, statsOnly: boolean): void {
    // The store checks the deadline between rows and series: a huge select times out inside it.
    const data = this.querier.select(vs.matchers.map(storeMatcher), mint, maxt, { check: () => this.checkDeadline('query preparation'), lazy: true });
    const pool: SamplePool = { timestamps: new Float64Array(0), values: new Float64Array(0), holder: null };
    this.loaded.set(vs, data.map((d) => {
      if (d.samples && d.coded && !d.histograms) return new LazySeries(d, pool);
      if (!d.histograms || d.histograms.timestamps.length === 0) return loadSeries(d.labels, d.timestamps, d.values);
      const s = loadMixedSeries(d);
      if (statsOnly) histogramStatsOnly(s);
      return s;
    }));
  }

  checkClock(): void {
    if (++this.stepsSinceClock < 256) return;
    this.stepsSinceClock = 0;
    this.checkDeadline('expression evaluation');
  }

  /** Throws Prometheus's timeout error ("query timed out in <where>") once the deadline passed. */
  checkDeadline(where: string): void {
    if (Date.now() > this.deadline) throw new QueryError(`query timed out in ${where}`, 'timeout');
  }

  eval(e: Expr, t: number): Value {
    this.checkClock();
    if (this.precomputed.size > 0) {
      const v = this.precomputedAt(e, t);
      if (v) return { type: 'vector', v };
    }
    switch (e.kind) {
      case 'number': return { type: 'scalar', v: e.value };
      case 'string': return { type: 'string', v: e.value };
      case 'paren': return this.eval(e.expr, t);
      case 'unary': {
        const v = this.eval(e.expr, t);
        if (e.op === '+') return v;
        if (v.type === 'scalar') return { type: 'scalar', v: -v.v };
        if (v.type === 'vector') {
          const out = v.v.map((s) => (s.h ? { ...s, h: mul(s.h, -1), dropName: true } : { ...s, f: -s.f, dropName: true }));
          return { type: 'vector', v: this.delayedNameRemoval ? out : checkNoDuplicates(out) };
        }
        return v;
      }
      case 'vector': return { type: 'vector', v: e.smoothed ? smoothedVector(this, e, t) : this.selectVector(e, t) };
      case 'matrix': return isExtended(e.vector) ? extendedMatrix(this, e, t) : this.selectMatrix(e, t);
      case 'subquery': return this.subquery(e, t);
      case 'call': return callFunction(this, e, t);
      case 'aggregate': return { type: 'vector', v: aggregate(this, e, t) };
      case 'binary': return binaryOp(this, e, t);
    }
  }

  selectVector(vs: VectorSelector, t: number): Sample[] {
    const ref = this.refTime(vs, t);
    const out: Sample[] = [];
    for (const s of this.loaded.get(vs) ?? []) {
      this.checkClock(); // a lazy series decodes on its first read: the deadline holds during decoding too
      // Same forward-sliding as range windows: cursorHi is the first sample after the last ref.
      const ts = s.ts;
      let hi: number;
      if (ref >= s.cursorRef) {
        hi = s.cursorHi;
        while (hi < ts.length && ts[hi]! <= ref) hi++;
      } else hi = upperBound(ts, ref);
      s.cursorRef = ref;
      s.cursorHi = hi;
      const i = hi - 1;
      if (i < 0) continue;
      const st = s.ts[i]!;
      if (st <= ref - this.lookback) continue;
      if (s.stale && s.stale[i]) continue;
      const h = s.hs?.[i];
      out.push(h ? { metric: s.metric, f: 0, t: st, dropName: false, h } : { metric: s.metric, f: s.fs[i]!, t: st, dropName: false });
    }
    if (out.length > this.maxSamples) throw new QueryError(TOO_MANY_SAMPLES);
    return out;
  }

  selectMatrix(ms: MatrixSelector, t: number): MatrixValue {
    const ref = this.refTime(ms.vector, t);
    const from = ref - ms.range;
    const series: Series[] = [];
    let total = 0;
    for (const s of this.loaded.get(ms.vector) ?? []) {
      this.checkClock(); // as in selectVector: decoding happens here
      // Steps usually move forward: slide the window from the last one instead of searching.
      const rts = s.rts;
      let lo: number, hi: number;
      if (ref >= s.cursorRef) {
        hi = s.cursorHi;
        while (hi < rts.length && rts[hi]! <= ref) hi++;
        lo = Math.min(s.cursorLo, hi);
        while (lo < hi && rts[lo]! <= from) lo++;
      } else {
        hi = upperBound(rts, ref);
        lo = upperBound(rts, from, 0, hi);
      }
      s.cursorRef = ref;
      s.cursorLo = lo;
      s.cursorHi = hi;
      if (hi <= lo) continue;
      total += hi - lo;
      series.push(s.rhs ? { metric: s.metric, ts: rts, fs: s.rfs, lo, hi, dropName: false, hs: s.rhs } : { metric: s.metric, ts: rts, fs: s.rfs, lo, hi, dropName: false });
    }
    if (total > this.maxSamples) throw new QueryError(TOO_MANY_SAMPLES);
    return { type: 'matrix', series, rangeStart: from, rangeEnd: ref };
  }

  /**
   * A plain selector evaluated at first, first+step, … ≤ last (a subquery's inner steps), series by
   * series: the points are counted before anything is allocated, so `x[30d:1s]` fails the samples
   * limit at once, and steps without data cost nothing. Same values and order as step by step.
   */
  private selectorOnGrid(vs: VectorSelector, first: number, last: number, step: number): Series[] {
    const loaded = this.loaded.get(vs) ?? [];
    const steps = last >= first ? Math.floor((last - first) / step) + 1 : 0;
    // Steps k whose ref = first + k*step - offset sees sample j: ts[j] <= ref < min(ts[j+1], ts[j] + lookback).
    const stepOf = (time: number): number => Math.min(steps, Math.max(0, Math.ceil((time + vs.offset - first) / step)));
    const counts = new Int32Array(loaded.length);
    let total = 0;
    for (let i = 0; i < loaded.length; i++) {
      this.checkClock();
      const { ts, stale } = loaded[i]!;
      let n = 0;
      for (let j = 0; j < ts.length; j++) {
        if (stale && stale[j]) continue;
        const end = Math.min(j + 1 < ts.length ? ts[j + 1]! : Infinity, ts[j]! + this.lookback);
        n += Math.max(0, stepOf(end) - stepOf(ts[j]!));
      }
      counts[i] = n;
      total += n;
      if (total + this.cachedSamples > this.maxSamples) throw new QueryError(TOO_MANY_SAMPLES);
    }
    const out: { s: Series; i: number }[] = [];
    for (let i = 0; i < loaded.length; i++) {
      if (counts[i] === 0) continue;
      this.checkClock();
      const { metric, ts, fs, stale, hs } = loaded[i]!;
      const ots = new Float64Array(counts[i]!), ofs = new Float64Array(counts[i]!);
      const ohs: (FloatHistogram | undefined)[] | null = hs ? new Array(counts[i]!) : null;
      let n = 0;
      for (let j = 0; j < ts.length; j++) {
        if (stale && stale[j]) continue;
        const end = Math.min(j + 1 < ts.length ? ts[j + 1]! : Infinity, ts[j]! + this.lookback);
        for (let k = stepOf(ts[j]!), kEnd = stepOf(end); k < kEnd; k++) {
          ots[n] = first + k * step;
          if (ohs) ohs[n] = subqueryHint(hs![j]);
          ofs[n++] = fs[j]!;
        }
      }
      const s: Series = { metric, ts: ots, fs: ofs, lo: 0, hi: n, dropName: false };
      if (ohs) s.hs = ohs;
      out.push({ s, i });
    }
    // Step-by-step order: by first point, then store order.
    out.sort((a, b) => (a.s.ts[0]! - b.s.ts[0]!) || a.i - b.i);
    return out.map((x) => x.s);
  }

  subquery(sq: SubqueryExpr, t: number): MatrixValue {
    const ref = this.refTime(sq, t);
    const step = sq.step || this.subqueryStep;
    const from = ref - sq.range;
    let first = step * Math.trunc(from / step);
    if (first <= from) first += step;
    const inner = unwrapParens(sq.expr);
    if (inner.kind === 'vector' && inner.at === null && inner.atPreprocessor === null && !this.precomputed.has(sq.expr)) {
      return { type: 'matrix', series: this.selectorOnGrid(inner, first, ref, step), rangeStart: from, rangeEnd: ref };
    }
    // Inner results are kept for the next evaluation of this subquery only when there will be
    // one (a range query's next step, an enclosing subquery's next step); they count as held.
    const reuse = this.isRange || this.subqueryDepth > 0;
    let cache = this.subqueryCache.get(sq);
    if (!cache) this.subqueryCache.set(sq, (cache = new Map()));
    // Steps usually move forward: inner results before this window will not be asked for again.
    for (const [ts, vec] of cache) {
      if (ts >= first) break;
      cache.delete(ts);
      this.cachedSamples -= vec.length;
    }
    const bySeries = new Map<string, { metric: Labels; ts: number[]; fs: number[]; dropName: boolean; hs?: (FloatHistogram | undefined)[] }>();
    let total = 0;
    this.subqueryDepth++;
    try {
      for (let ts = first; ts <= ref; ts += step) {
        let vec = cache.get(ts);
        if (!vec) {
          const v = this.eval(sq.expr, ts);
          vec = v.type === 'vector' ? v.v : [];
          if (reuse) {
            cache.set(ts, vec);
            this.cachedSamples += vec.length;
          }
        }
        for (const s of vec) {
          const k = keyOf(s.metric);
          let out = bySeries.get(k);
          if (!out) bySeries.set(k, (out = { metric: s.metric, ts: [], fs: [], dropName: s.dropName }));
          else if (out.ts[out.ts.length - 1] === ts) throw new QueryError('vector cannot contain metrics with the same labelset');
          if (s.h) {
            out.hs ??= new Array(out.ts.length);
            out.hs[out.ts.length] = subqueryHint(s.h);
          }
          out.ts.push(ts);
          out.fs.push(s.f);
        }
        total += vec.length;
        // Checked as the result grows, so memory stays bounded by the limit, not by the range.
        if (total + this.cachedSamples > this.maxSamples) throw new QueryError(TOO_MANY_SAMPLES);
      }
    } finally {
      this.subqueryDepth--;
    }
    const series: Series[] = [];
    for (const s of bySeries.values()) {
      if (s.hs) s.hs.length = s.ts.length;
      series.push({ ...s, lo: 0, hi: s.ts.length });
    }
    return { type: 'matrix', series, rangeStart: from, rangeEnd: ref };
  }
}

/**
 * A histogram as a subquery returns it: "reset"/"not_reset" become "unknown", as in Prometheus,
 * since the subquery's points skip or repeat the samples those hints relate to.
 */
function subqueryHint<T extends FloatHistogram | undefined>(h: T): T {
  if (!h || (h.counterResetHint !== 'reset' && h.counterResetHint !== 'not_reset')) return h;
  return { ...h, counterResetHint: 'unknown' };
}

type StatsMode = 'none' | 'stats' | 'blocked';
/** Functions that read only a histogram's count and sum. */
const STATS_FUNCTIONS = new Set(['histogram_count', 'histogram_sum', 'histogram_avg']);
/** Functions that need a histogram's buckets, whatever encloses them. */
const NEEDS_BUCKETS = new Set(['histogram_quantile', 'histogram_quantiles', 'histogram_fraction']);

/**
 * Prometheus decodes only count and sum of histograms a selector hands to histogram_count/sum/avg
 * (not through a subquery), and that decoder sets the counter reset hints it leaves unknown by
 * comparing each histogram with the one before: answers, and their annotations, follow from that.
 */
function histogramStatsOnly(s: LoadedSeries): void {
  let last: FloatHistogram | null = null;
  const strip = (hs: (FloatHistogram | undefined)[] | null, track: boolean): (FloatHistogram | undefined)[] | null => {
    if (!hs) return hs;
    return hs.map((h) => {
      if (!h) return h;
      let hint = h.counterResetHint;
      if (track) {
        if (hint === 'unknown' && last) hint = detectReset(h, last) ? 'reset' : 'not_reset';
        last = h;
      }
      return {
        counterResetHint: hint, schema: h.schema, zeroThreshold: 0, zeroCount: 0, count: h.count, sum: h.sum,
        positiveSpans: [], positiveBuckets: [], negativeSpans: [], negativeBuckets: [],
      };
    });
  };
  const hs = strip(s.hs, true);
  last = null;
  const rhs = s.rhs === s.hs ? hs : strip(s.rhs, true);
  s.hs = hs;
  s.rhs = rhs;
}

const unwrapParens = (e: Expr): Expr => (e.kind === 'paren' ? unwrapParens(e.expr) : e);
