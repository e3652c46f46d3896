// Range-query fast path. The shapes dashboards repeat on every refresh — a range function over a
// selector (rate(x[5m]), avg_over_time(y[10m])…), and sum/avg/min/max/count/group/stddev/stdvar/
// topk/bottomk by (…) over those or over a plain selector — are computed for all steps at once,
// series by series, into flat typed arrays: each series' window slides forward once over its
// samples, group membership is hashed once per series instead of once per step, and no Sample
// object is created per series and step; a fold over a range call takes each series' row as it is
// computed, with no matrix of them all, and a large range call shares its series with a helper
// thread (split-rows.ts). Results are the same numbers the step-by-step evaluator gives: same
// kernels (RANGE_FUNCTIONS), same Accumulators, same input order.
import type { Labels } from '../../shared/labels';
import type { AggregateExpr, BinaryExpr, Call, Expr, VectorSelector } from './ast';
import { vectorScalarDropsName, vectorScalarValue } from './binary';
import type { Evaluator, RangeRows, RangeSpec, RowsHelper } from './evaluator';
import { Accumulators, FOLD_OPS, type FoldOp, computeGroupingKey, groupingMetric } from './grouping';
import type { LoadedSeries } from './loaded-series';
import { upperBound } from './numeric';
import { chunkSampleCount } from '../tsdb/chunkenc';
import { packSeries } from '../tsdb/packed-series';
import { RANGE_FUNCTIONS, checkCounterName, kernelValue } from './range-functions';
import { type Series, QueryError, SAME_LABELSET, TOO_MANY_SAMPLES, dropMetricName, keyOf, metricName, namelessCollide } from './values';

/** Evaluation times start + k * interval for k < steps (ms). */
export interface Grid {
  start: number;
  interval: number;
  steps: number;
}

/** Most series × steps one node may hold; bigger nodes go step by step. */
const MAX_SLOTS = 20_000_000;

/** Many series at every step of a grid: slot i * steps + k for series i at step k. */
export interface StepMatrix {
  metrics: Labels[];
  dropName: boolean[];
  values: Float64Array;
  /** 1 where series i has a value at step k. */
  present: Uint8Array;
}

const unwrap = (e: Expr): Expr => (e.kind === 'paren' ? unwrap(e.expr) : e);
/** No @ and no anchored/smoothed (those are evaluated step by step, see extended-range.ts). */
const noAt = (vs: VectorSelector): boolean => vs.at === null && vs.atPreprocessor === null && !vs.anchored && !vs.smoothed;

function isPlainSelector(e: Expr): boolean {
  const x = unwrap(e);
  return x.kind === 'vector' && noAt(x);
}

function isRangeCall(e: Expr): e is Call {
  if (e.kind !== 'call' || e.args.length !== 1 || !RANGE_FUNCTIONS[e.func]) return false;
  const arg = unwrap(e.args[0]!);
  return arg.kind === 'matrix' && noAt(arg.vector);
}

function kParam(e: AggregateExpr): number | null {
  const p = e.param ? unwrap(e.param) : null;
  return p?.kind === 'number' && p.value >= 1 ? Math.min(Math.trunc(p.value), Number.MAX_SAFE_INTEGER) : null;
}

/** Whether `e` (a range query's node, outside any subquery) has a shape the fast path computes. */
export function hasStepShape(e: Expr): boolean {
  const x = unwrap(e);
  if (isRangeCall(x)) return true;
  if (x.kind === 'binary') {
    if (x.op === '</' || x.op === '>/') return false; // histogram trims go step by step
    const l = unwrap(x.lhs), r = unwrap(x.rhs);
    return (l.kind === 'number' && hasStepShape(r)) || (r.kind === 'number' && hasStepShape(l));
  }
  if (x.kind !== 'aggregate') return false;
  const opOk = (FOLD_OPS.has(x.op) && !x.param) || ((x.op === 'topk' || x.op === 'bottomk') && kParam(x) !== null);
  return opOk && (isPlainSelector(x.expr) || hasStepShape(x.expr));
}

/** Computes a node hasStepShape accepted; null when this query needs the step-by-step evaluator after all. */
export function evalSteps(ev: Evaluator, e: Expr, grid: Grid): StepMatrix | null {
  const x = unwrap(e);
  if (x.kind === 'vector') return selectorSteps(ev, x, grid);
  if (x.kind === 'call') return rangeCallSteps(ev, x, grid);
  if (x.kind === 'binary') return scalarOpSteps(ev, x, grid);
  if (x.kind !== 'aggregate') return null;
  const inner = unwrap(x.expr);
  if (inner.kind === 'call' && x.op !== 'topk' && x.op !== 'bottomk') {
    // sum by (…) (rate(…)) and the like: each series' row is folded in as it is computed, no matrix of them all.
    const rc = rangeCall(ev, inner, grid);
    return rc && foldRows(x, rangeCallMetrics(rc), grid.steps, (row) => rangeCallRows(ev, rc, row));
  }
  const child = evalSteps(ev, x.expr, grid);
  if (!child) return null;
  return x.op === 'topk' || x.op === 'bottomk' ? topkSteps(x, child, grid.steps) : foldSteps(x, child, grid.steps);
}

function selectorSteps(ev: Evaluator, vs: VectorSelector, grid: Grid): StepMatrix | null {
  const loaded = ev.loadedSeries(vs);
  if (loaded.length > ev.maxSamples) throw new QueryError(TOO_MANY_SAMPLES);
  if (loaded.some((s) => s.hs)) return null; // native histograms go step by step
  const steps = grid.steps;
  if (loaded.length * steps > MAX_SLOTS) return null;
  const values = new Float64Array(loaded.length * steps), present = new Uint8Array(loaded.length * steps);
  loaded.forEach((s, i) => {
    const { ts, fs, stale } = s;
    let hi = 0;
    for (let k = 0; k < steps; k++) {
      const ref = grid.start + k * grid.interval - vs.offset;
      while (hi < ts.length && ts[hi]! <= ref) hi++;
      const j = hi - 1;
      if (j < 0 || ts[j]! <= ref - ev.lookback || (stale && stale[j])) continue;
      values[i * steps + k] = fs[j]!;
      present[i * steps + k] = 1;
    }
    s.release?.();
  });
  return { metrics: loaded.map((s) => s.metric), dropName: loaded.map(() => false), values, present };
}

/** A range call the fast path computes: its series and what each series' row is computed from. */
interface RangeCall {
  readonly call: Call;
  readonly loaded: readonly LoadedSeries[];
  readonly spec: RangeSpec;
}

/** Null when the call goes step by step (native histograms, or too many series × steps). */
function rangeCall(ev: Evaluator, call: Call, grid: Grid): RangeCall | null {
  const ms = unwrap(call.args[0]!);
  if (ms.kind !== 'matrix') throw new Error('rangeCall: not a range selector');
  const loaded = ev.loadedSeries(ms.vector);
  if (loaded.some((s) => s.hs)) return null; // native histograms go step by step
  if (loaded.length * grid.steps > MAX_SLOTS) return null;
  const spec: RangeSpec = {
    func: call.func, first: grid.start - ms.vector.offset, interval: grid.interval, range: ms.range, steps: grid.steps,
    // Windows several steps wide: slide them sample by sample and count resets once per series.
    overlapping: ms.range >= 4 * grid.interval,
  };
  return { call, loaded, spec };
}

/** Takes series i's row: values/present [at, at + steps) of the arrays given (views valid during the call only). */
type RowSink = (i: number, values: Float64Array, present: Uint8Array, at: number) => void;

/**
 * Computes every series' row and hands them to `row` in series order, so that a fold over them adds
 * in the order one matrix would; then checks what the whole result is checked for (counter names,
 * the samples limit, label sets that collide once the name goes).
 */
function rangeCallRows(ev: Evaluator, { call, loaded, spec }: RangeCall, row: RowSink): void {
  const n = loaded.length, steps = spec.steps;
  const one = newRangeRows(1, steps); // windowTotals add up over all series
  const answered = new Uint8Array(n);
  const tick = () => ev.checkClock();
  const at = (i: number) => loaded[i]!;
  const here = (i: number) => {
    one.values.fill(0);
    one.present.fill(0);
    one.answered[0] = 0;
    rangeRows(at, i, i + 1, spec, one, tick, i);
    answered[i] = one.answered[0]!;
    row(i, one.values, one.present, 0);
  };
  // A large call: a helper thread takes series from the last one down meanwhile (split-rows.ts).
  let shared = ev.helper ? splitAt(ev.helper, loaded) : n;
  const taken = shared < n ? new Uint8Array(new SharedArrayBuffer(n - shared)) : null;
  const share = taken && ev.helper!.start(() => ({ spec, series: packSeries(loaded.slice(shared).map((s) => s.coded!())), taken: taken.buffer as SharedArrayBuffer, deadline: ev.deadline }));
  if (!share) shared = n;
  for (let i = 0; i < shared; i++) here(i);
  let mine = shared;
  while (mine < n && take(taken!, mine - shared)) here(mine++);
  if (share) {
    const got = share.wait();
    if (got === 'timeout') ev.checkDeadline('expression evaluation');
    if (got && got !== 'timeout' && got.from + shared === mine) {
      const theirs = got.rows; // indexed from the first series offered
      for (let i = mine; i < n; i++) {
        answered[i] = theirs.answered[i - shared]!;
        row(i, theirs.values, theirs.present, (i - shared) * steps);
      }
      for (let k = 0; k < steps; k++) one.windowTotals[k] = one.windowTotals[k]! + theirs.windowTotals[k]!;
    } else for (let i = mine; i < n; i++) here(i); // the helper failed: this thread does the rest
  }
  const fn = RANGE_FUNCTIONS[call.func]!;
  if (fn.counter) {
    const checked = new Set<string>();
    for (let i = 0; i < n; i++) if (answered[i]) checkCounterName(ev, loaded[i]!.metric, call.args[0]!, checked);
  }
  for (let k = 0; k < steps; k++) if (one.windowTotals[k]! > ev.maxSamples) throw new QueryError(TOO_MANY_SAMPLES);
  if (!fn.keepName && !ev.delayedNameRemoval) checkNamelessCollisions(loaded, answered);
}

/** What a range call's rows are labelled with. */
function rangeCallMetrics({ call, loaded }: RangeCall): Pick<StepMatrix, 'metrics' | 'dropName'> {
  const drop = !RANGE_FUNCTIONS[call.func]!.keepName;
  return { metrics: loaded.map((s) => s.metric), dropName: loaded.map(() => drop) };
}

function rangeCallSteps(ev: Evaluator, call: Call, grid: Grid): StepMatrix | null {
  const rc = rangeCall(ev, call, grid);
  if (!rc) return null;
  const steps = grid.steps;
  const values = new Float64Array(rc.loaded.length * steps), present = new Uint8Array(rc.loaded.length * steps);
  rangeCallRows(ev, rc, (i, v, p, at) => {
    values.set(v.subarray(at, at + steps), i * steps);
    present.set(p.subarray(at, at + steps), i * steps);
  });
  return { ...rangeCallMetrics(rc), values, present };
}

/**
 * The first series a range call offers its helper (those before it are this thread's; the helper
 * may take any after): a third of the way in once there are helper.minSeries of them, all lazily
 * read, and long enough to be worth their copy (splitWorthIt); otherwise none (the length).
 */
function splitAt(helper: RowsHelper, loaded: readonly LoadedSeries[]): number {
  if (loaded.length < Math.max(3, helper.minSeries)) return loaded.length;
  const at = Math.floor(loaded.length / 3);
  for (let i = at; i < loaded.length; i++) if (!loaded[i]!.coded) return loaded.length;
  return splitWorthIt(loaded, at) ? at : loaded.length;
}

/**
 * Samples a series offered to a helper has at least, on average, for the offer to pay: its copy
 * costs this thread about what the helper then saves it on short series. A chart over 100,000 head
 * series of 40 samples answered as fast or faster without the helper (medians 1.07–1.42 s against
 * 1.13–2.15 s, four pairs taking turns); a whole day at 15 s is 5,760 samples a series.
 */
const SPLIT_MIN_SAMPLES = 256;

/** Whether the series from `from` on are long enough to share, judged by up to 64 of them spread evenly. */
function splitWorthIt(loaded: readonly LoadedSeries[], from: number): boolean {
  const n = loaded.length - from;
  const looked = Math.min(64, n);
  let samples = 0;
  for (let k = 0; k < looked; k++) {
    const c = loaded[from + Math.floor((k * n) / looked)]!.coded!();
    for (const chunk of c.chunks) samples += chunkSampleCount(chunk.buf, chunk.at);
    samples += c.head.timestamps.length;
  }
  return samples >= SPLIT_MIN_SAMPLES * looked;
}

/** Takes series i of a shared call's flags (RowsTask.taken) for the calling thread; false when the other thread has it. */
export function take(taken: Uint8Array, i: number): boolean {
  return Atomics.compareExchange(taken, i, 0, 1) === 0;
}

export function newRangeRows(series: number, steps: number): RangeRows {
  return { values: new Float64Array(series * steps), present: new Uint8Array(series * steps), windowTotals: new Float64Array(steps), answered: new Uint8Array(series) };
}

/** Computes series [from, to) (`series(i)` is series i) into rows i - base of `out`; `tick` is called once per series (deadline checks). */
export function rangeRows(series: (i: number) => LoadedSeries, from: number, to: number, spec: RangeSpec, out: RangeRows, tick: () => void, base = 0): void {
  const fn = RANGE_FUNCTIONS[spec.func]!;
  const { values, present, windowTotals } = out;
  const { steps, first, interval, range, overlapping } = spec;
  const kernel = fn.kernel;
  const scratch: Series = { metric: [], ts: [], fs: [], lo: 0, hi: 0, dropName: false, resets: undefined };
  let resets: Int32Array = resetScratch;
  for (let i = from; i < to; i++) {
    tick();
    const s = series(i);
    const rts = s.rts;
    scratch.metric = s.metric;
    scratch.ts = rts;
    scratch.fs = s.rfs;
    // A rising series has no reset: the counter kernels skip their scan of each window.
    scratch.resets = !fn.counter ? undefined : s.rising ? noResets(rts.length) : overlapping ? (resets = resetCounts(s.rfs, resets)) : undefined;
    let lo = 0, hi = 0, advance = 0, any = false;
    for (let k = 0; k < steps; k++) {
      const ref = first + k * interval;
      const from = ref - range;
      if (overlapping) {
        while (hi < rts.length && rts[hi]! <= ref) hi++;
        while (lo < hi && rts[lo]! <= from) lo++;
      } else {
        // Coarse steps: jump over the samples between windows (a window that starts where the
        // last one ended starts at its end; the last window's size is the first stride). On a
        // regular scrape each window starts as many samples on and holds as many as the last
        // one: those guesses are checked before any search.
        const size = hi - lo;
        const start = upperBoundNear(rts, from, from >= ref - interval ? hi : lo, lo + advance, 1);
        advance = start - lo;
        lo = start;
        hi = upperBoundNear(rts, ref, Math.max(lo, hi), lo + size, size);
      }
      if (hi <= lo) continue;
      windowTotals[k] = windowTotals[k]! + hi - lo;
      scratch.lo = lo;
      scratch.hi = hi;
      if (!kernel(scratch, from, ref)) continue;
      values[(i - base) * steps + k] = kernelValue[0]!;
      present[(i - base) * steps + k] = 1;
      any = true;
    }
    if (any) out.answered[i - base] = 1;
    s.release?.();
  }
}

/** As checkDroppedNames (functions.ts) on a whole result matrix: two series with output, one labelset. */
function checkNamelessCollisions(loaded: readonly LoadedSeries[], answered: Uint8Array): void {
  // Distinct series of one name stay distinct without it (the common case: one metric selected).
  const name = loaded.length > 0 ? metricName(loaded[0]!.metric) : undefined;
  if (loaded.every((s) => metricName(s.metric) === name)) return;
  if (namelessCollide(loaded.length, (i) => loaded[i]!.metric, (i) => answered[i] === 1)) throw new QueryError(SAME_LABELSET);
}

/** upperBound(a, x, from) when `guess` is likely it: checked first, then searched for as gallop does. */
function upperBoundNear(a: Float64Array, x: number, from: number, guess: number, stride: number): number {
  if (guess >= from && guess <= a.length && (guess === from || a[guess - 1]! <= x) && (guess === a.length || a[guess]! > x)) return guess;
  return gallop(a, x, from, stride);
}

/** upperBound(a, x, from) found by probing from `from` in doubling strides (the first `stride`) first: cheap when the answer is near. */
function gallop(a: Float64Array, x: number, from: number, stride: number): number {
  let lo = from;
  let hi = from;
  if (stride < 1) stride = 1;
  while (hi < a.length && a[hi]! <= x) {
    lo = hi + 1;
    hi += stride;
    stride *= 2;
  }
  return upperBound(a, x, lo, Math.min(hi, a.length));
}

/** A fast-path vector against a number literal, either side. */
function scalarOpSteps(ev: Evaluator, e: BinaryExpr, grid: Grid): StepMatrix | null {
  const l = unwrap(e.lhs);
  const swap = l.kind === 'number';
  const scalar = unwrap(swap ? e.lhs : e.rhs);
  if (scalar.kind !== 'number') return null;
  const child = evalSteps(ev, swap ? e.rhs : e.lhs, grid);
  if (!child) return null;
  const values = new Float64Array(child.values.length), present = new Uint8Array(child.present.length);
  for (let j = 0; j < values.length; j++) {
    if (!child.present[j]) continue;
    const v = vectorScalarValue(e, child.values[j]!, scalar.value, swap);
    if (v === undefined) continue;
    values[j] = v;
    present[j] = 1;
  }
  const drop = vectorScalarDropsName(e);
  const dropName = child.dropName.map((d) => d || drop);
  if (!ev.delayedNameRemoval) checkStepCollisions(child.metrics, dropName, present);
  return { metrics: child.metrics, dropName, values, present };
}

/** As checkNoDuplicates (values.ts) at every step: two series answering one step with one labelset. */
function checkStepCollisions(metrics: Labels[], dropName: boolean[], present: Uint8Array): void {
  const steps = present.length / Math.max(1, metrics.length);
  const first = new Map<string, number>();
  for (let i = 0; i < metrics.length; i++) {
    const k = keyOf(dropName[i] ? dropMetricName(metrics[i]!) : metrics[i]!);
    const j = first.get(k);
    if (j === undefined) {
      first.set(k, i);
      continue;
    }
    // Rare: compare with every earlier series of this labelset.
    for (let p = 0; p < i; p++) {
      if (keyOf(dropName[p] ? dropMetricName(metrics[p]!) : metrics[p]!) !== k) continue;
      for (let s = 0; s < steps; s++) if (present[i * steps + s] && present[p * steps + s]) throw new QueryError(SAME_LABELSET);
    }
  }
}

/** Reused by resetCounts while large enough (one series at a time on a thread). */
let resetScratch: Int32Array = new Int32Array(0);

/** Reset counts of a series with none (all zero), `n` long: shared, never written. */
let zeros: Int32Array = new Int32Array(0);
function noResets(n: number): Int32Array {
  if (zeros.length < n) zeros = new Int32Array(Math.max(n, 2 * zeros.length));
  return zeros;
}

/**
 * Prefix counts of counter resets: resets[i] = drops among samples 0..i, in `into` when it is large
 * enough (entries past fs.length are stale): not a view a series, 100,000 of them a broad query.
 */
function resetCounts(fs: Float64Array, into: Int32Array): Int32Array {
  if (into.length < fs.length) resetScratch = into = new Int32Array(Math.max(fs.length, 2 * into.length));
  into[0] = 0;
  for (let i = 1; i < fs.length; i++) into[i] = into[i - 1]! + (fs[i]! < fs[i - 1]! ? 1 : 0);
  return into;
}

/** Group index of each child series, and each group's label set. Null when a group mixes name drops. */
function groups(e: AggregateExpr, child: Pick<StepMatrix, 'metrics' | 'dropName'>): { of: Int32Array; metrics: Labels[]; dropName: boolean[] } | null {
  const index = new Map<string, number>();
  const of = new Int32Array(child.metrics.length);
  const metrics: Labels[] = [], dropName: boolean[] = [];
  for (let i = 0; i < child.metrics.length; i++) {
    const key = computeGroupingKey(child.metrics[i]!, e);
    let g = index.get(key);
    if (g === undefined) {
      g = metrics.length;
      index.set(key, g);
      metrics.push(groupingMetric(child.metrics[i]!, e));
      dropName.push(child.dropName[i]!);
    } else if (dropName[g] !== child.dropName[i]) return null; // would vary per step
    of[i] = g;
  }
  return { of, metrics, dropName };
}

function foldSteps(e: AggregateExpr, child: StepMatrix, steps: number): StepMatrix | null {
  return foldRows(e, child, steps, (row) => {
    for (let i = 0; i < child.metrics.length; i++) row(i, child.values, child.present, i * steps);
  });
}

/** Folds the rows `feed` hands over, in series order, into one row per group; null when a group mixes name drops. */
function foldRows(e: AggregateExpr, child: Pick<StepMatrix, 'metrics' | 'dropName'>, steps: number, feed: (row: RowSink) => void): StepMatrix | null {
  const grouped = groups(e, child);
  if (!grouped) return null;
  const op = e.op as FoldOp;
  const n = grouped.metrics.length;
  const acc = new Accumulators(n * steps);
  feed((i, values, present, at) => {
    const base = grouped.of[i]! * steps;
    if (op === 'sum') {
      for (let k = 0; k < steps; k++) if (present[at + k]) acc.addSum(base + k, values[at + k]!);
    } else {
      for (let k = 0; k < steps; k++) if (present[at + k]) acc.add(op, base + k, values[at + k]!);
    }
  });
  const values = new Float64Array(n * steps), present = new Uint8Array(n * steps);
  for (let j = 0; j < n * steps; j++) {
    if (!acc.has(j)) continue;
    values[j] = acc.result(op, j);
    present[j] = 1;
  }
  return { metrics: grouped.metrics, dropName: grouped.dropName, values, present };
}

/** topk/bottomk: the child's series, present only where chosen (stable: earlier series win ties, NaN last). */
function topkSteps(e: AggregateExpr, child: StepMatrix, steps: number): StepMatrix | null {
  const grouped = groups(e, child);
  if (!grouped) return null;
  const k = kParam(e)!;
  const desc = e.op === 'topk';
  const members: number[][] = grouped.metrics.map(() => []);
  for (let i = 0; i < child.metrics.length; i++) members[grouped.of[i]!]!.push(i);
  const present = new Uint8Array(child.present.length);
  const { values } = child;
  const best = new Int32Array(Math.min(k, child.metrics.length));
  const better = (a: number, b: number): boolean => !Number.isNaN(a) && (Number.isNaN(b) || (desc ? a > b : a < b));
  for (const group of members) {
    const cap = Math.min(k, group.length);
    for (let step = 0; step < steps; step++) {
      let len = 0;
      for (const i of group) {
        const slot = i * steps + step;
        if (!child.present[slot]) continue;
        const f = values[slot]!;
        let p = len;
        while (p > 0 && better(f, values[best[p - 1]! * steps + step]!)) p--;
        if (p >= cap) continue;
        if (len < cap) len++;
        for (let q = len - 1; q > p; q--) best[q] = best[q - 1]!;
        best[p] = i;
      }
      for (let q = 0; q < len; q++) present[best[q]! * steps + step] = 1;
    }
  }
  return { metrics: child.metrics, dropName: child.dropName, values, present };
}
