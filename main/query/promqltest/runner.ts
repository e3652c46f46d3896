// Runs promqltest scripts against the real encrypted store, with the Go harness's extra runs
// (step-invariance @-variants and the range-mode check), native histograms included: series
// notation `{{…}}` in load and eval blocks, load_with_nhcb, and the counter reset hints
// Prometheus's TSDB hands back.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Labels } from '../../../shared/labels';
import { METRIC_NAME, compareLabels, formatLabels, getLabel, labelsKey } from '../../../shared/labels';
import { createCipher } from '../../crypto/cipher';
import { openTsdb, type Tsdb } from '../../tsdb';
import type { FloatHistogram, Span } from '../../tsdb/histogram';
import type { Querier } from '../../tsdb/types';
import type { Expr } from '../ast';
import { type EngineOptions, type QueryResult, instantQuery, rangeQuery } from '../engine';
import { almostEqual } from '../numeric';
import { ParseError, parseExpr } from '../parser';
import { printExpr } from '../printer';
import { compact, customBoundsMatch, detectReset } from '../histogram/ops';
import { type Command, type EvalCmd, type SeriesLine, parseScript } from './script';

export interface EvalOutcome {
  line: number;
  expr: string;
  status: 'pass' | 'fail' | 'skip';
  /** Why it failed or was skipped. */
  reason?: string;
}

export interface ScriptResult {
  passed: number;
  failed: number;
  skipped: number;
  outcomes: EvalOutcome[];
}

/** The settings the scripts assume (FORMAT.md "Engine settings"). */
export const TEST_ENGINE_OPTIONS: EngineOptions = {
  lookbackDelta: 300_000, maxSamples: 10_000, defaultSubqueryStep: 60_000, timeoutMs: 60_000, delayedNameRemoval: true,
};

const STALE_NAN = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0]!;
const AT_UNSAFE = new Set(['days_in_month', 'day_of_month', 'day_of_week', 'day_of_year', 'end', 'hour', 'minute', 'month', 'year', 'predict_linear', 'range', 'start', 'step', 'time', 'timestamp']);

class EvalFailure extends Error {}

/**
 * The counter reset hints a histogram reads back with from Prometheus's TSDB, which the scripts'
 * expectations assume: the first histogram of a chunk reads "unknown", the others of a counter
 * chunk "not_reset", all of a gauge chunk "gauge"; a new chunk starts at a counter reset, a
 * layout change, after a float or stale sample, and where gauge and counter alternate.
 */
class StoredHints {
  private prev: FloatHistogram | null = null;

  float(): void {
    this.prev = null;
  }

  next(h: FloatHistogram): FloatHistogram {
    const prev = this.prev;
    this.prev = h;
    if (h.counterResetHint === 'gauge') return prev && prev.counterResetHint === 'gauge' ? h : { ...h, counterResetHint: 'gauge' };
    const continues = prev !== null && prev.counterResetHint !== 'gauge' && h.counterResetHint !== 'reset' &&
      h.schema === prev.schema && h.zeroThreshold === prev.zeroThreshold && customBoundsMatch(h.customValues, prev.customValues) &&
      !detectReset({ ...h, counterResetHint: 'unknown' }, { ...prev, counterResetHint: 'unknown' });
    return { ...h, counterResetHint: continues ? 'not_reset' : 'unknown' };
  }
}

/** One store per `clear`: a real encrypted SQLite store in a temp dir, with a random data key. */
class TestStorage {
  // RAM-backed when available: the store fsyncs every commit, and scripts load data often.
  private readonly dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'ampule-promqltest-'));
  private n = 0;
  db!: Tsdb;

  querier(): Querier {
    return this.db.querier();
  }

  constructor(readonly options: EngineOptions) {
    this.reset();
  }

  reset(): void {
    this.db?.close();
    const cipher = createCipher(randomBytes(32));
    this.db = openTsdb({
      path: join(this.dir, `store-${this.n++}.db`), workspaceId: 'promqltest',
      keys: { current: 1, get: () => cipher }, outOfOrderWindowMs: Number.MAX_SAFE_INTEGER,
    });
  }

  load(interval: number, series: SeriesLine[], nhcb: boolean): void {
    const app = this.db.appender();
    for (const s of series) {
      let ref = 0;
      const hints = new StoredHints();
      s.values.forEach((v, i) => {
        if (v.kind === 'gap') return;
        if (v.kind === 'histogram') ref = app.appendHistogram(ref, s.labels, i * interval, hints.next(v.h));
        else {
          hints.float();
          ref = app.append(ref, s.labels, i * interval, v.kind === 'stale' ? STALE_NAN : v.v);
        }
      });
    }
    if (nhcb) {
      const byKey = new Map<string, StoredHints>();
      for (const [labels, t, h] of classicToNhcb(series, interval)) {
        const k = labelsKey(labels);
        let hints = byKey.get(k);
        if (!hints) byKey.set(k, (hints = new StoredHints()));
        app.appendHistogram(0, labels, t, hints.next(h));
      }
    }
    app.commit();
  }

  close(): void {
    this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs a script; `options` default to the Go harness's (TEST_ENGINE_OPTIONS). */
export function runScript(text: string, options: EngineOptions = TEST_ENGINE_OPTIONS): ScriptResult {
  const cmds = parseScript(text);
  const res: ScriptResult = { passed: 0, failed: 0, skipped: 0, outcomes: [] };
  const storage = new TestStorage(options);
  try {
    for (const c of cmds) runCommand(c, storage, res);
  } finally {
    storage.close();
  }
  return res;
}

function runCommand(c: Command, storage: TestStorage, res: ScriptResult): void {
  if (c.kind === 'clear') return storage.reset();
  if (c.kind === 'load') {
    try {
      storage.load(c.interval, c.series, c.nhcb);
    } catch (e) {
      res.failed++;
      res.outcomes.push({ line: c.line, expr: 'load', status: 'fail', reason: `loading failed: ${(e as Error).message}` });
    }
    return;
  }
  const skip = skipReason(c);
  let outcome: EvalOutcome;
  if (skip) outcome = { line: c.line, expr: c.expr, status: 'skip', reason: skip };
  else {
    try {
      runEval(c, storage);
      outcome = { line: c.line, expr: c.expr, status: 'pass' };
    } catch (e) {
      outcome = { line: c.line, expr: c.expr, status: 'fail', reason: e instanceof EvalFailure ? e.message : `unexpected ${(e as Error).stack}` };
    }
  }
  res.outcomes.push(outcome);
  if (outcome.status === 'pass') res.passed++;
  else if (outcome.status === 'fail') res.failed++;
  else res.skipped++;
}

/** Why an eval cannot run here (none today: every eval of the 13 scripts runs). */
function skipReason(_c: EvalCmd): string | null {
  return null;
}

function expectsFail(c: EvalCmd): boolean {
  return c.expects.some((e) => e.kind === 'fail');
}

function errorText(e: unknown): string {
  return e instanceof ParseError ? e.message : (e as Error).message;
}

function checkFailure(c: EvalCmd, err: unknown): void {
  const msg = errorText(err);
  if (c.failMessage !== undefined && c.failMessage !== msg) throw new EvalFailure(`expected error ${JSON.stringify(c.failMessage)}, got ${JSON.stringify(msg)}`);
  if (c.failRegexp && !c.failRegexp.test(msg)) throw new EvalFailure(`expected error matching ${c.failRegexp}, got ${JSON.stringify(msg)}`);
  const f = c.expects.find((e) => e.kind === 'fail');
  if (f?.msg !== undefined && f.msg !== msg) throw new EvalFailure(`expected error ${JSON.stringify(f.msg)}, got ${JSON.stringify(msg)}`);
  if (f?.regex && !f.regex.test(msg)) throw new EvalFailure(`expected error matching ${f.regex}, got ${JSON.stringify(msg)}`);
}

function isUnexpected(err: unknown): boolean {
  return !(err instanceof Error) || (err.name !== 'ParseError' && err.name !== 'QueryError');
}

function runEval(c: EvalCmd, storage: TestStorage): void {
  const q = storage.querier();
  if (!c.instant) {
    let r: QueryResult;
    try {
      r = rangeQuery(q, c.expr, c.start, c.end, c.step, storage.options);
    } catch (e) {
      if (isUnexpected(e) || !expectsFail(c)) throw new EvalFailure(`error evaluating range query: ${errorText(e)}`);
      return checkFailure(c, e);
    }
    if (expectsFail(c)) throw new EvalFailure('expected error evaluating range query but got none');
    checkAnnotations(c, r, c.expr);
    compareMatrix(c, r, c.start, c.step, c.end);
    return;
  }
  const at = c.rangeVector ? c.rangeVector.end : c.start;
  const variants: { expr: string; t: number }[] = [{ expr: c.expr, t: at }];
  let parsed: Expr | null = null;
  try {
    parsed = parseExpr(c.expr);
  } catch {
    /* reported by the first run */
  }
  if (parsed) {
    const rewritten = withAt(parsed, at);
    if (rewritten) {
      const text = printExpr(rewritten);
      const times = at === 0 ? [-1000, 0, 1000] : [-10 * at, 0, Math.trunc(at / 5), at, 10 * at];
      for (const t of times) variants.push({ expr: text, t });
    }
  }
  for (const v of variants) runInstantVariant(c, v.expr, v.t, storage);
}

function runInstantVariant(c: EvalCmd, expr: string, t: number, storage: TestStorage): void {
  const q = storage.querier();
  let r: QueryResult;
  try {
    r = instantQuery(q, expr, t, storage.options);
  } catch (e) {
    if (isUnexpected(e) || !expectsFail(c)) throw new EvalFailure(`error evaluating ${JSON.stringify(expr)} at ${t}: ${errorText(e)}`);
    return checkFailure(c, e);
  }
  if (expectsFail(c)) throw new EvalFailure(`expected error evaluating ${JSON.stringify(expr)} but got none`);
  checkAnnotations(c, r, expr);
  const where = expr === c.expr ? '' : ` (variant ${JSON.stringify(expr)} at ${t})`;
  try {
    compareInstant(c, r);
  } catch (e) {
    throw new EvalFailure(`${(e as Error).message}${where}`);
  }
  const ordered = c.expects.some((e) => e.kind === 'ordered');
  if (c.rangeVector || c.expectString !== null || /(start|end|range|step)\(\)/.test(expr)) return;
  let rr: QueryResult;
  try {
    rr = rangeQuery(q, expr, t - 60_000, t + 60_000, 60_000, storage.options);
  } catch (e) {
    throw new EvalFailure(`error evaluating ${JSON.stringify(expr)} in range mode: ${errorText(e)}`);
  }
  if (ordered) return;
  if (rr.value.type !== 'matrix') throw new EvalFailure('range query did not return a matrix');
  const series = rr.value.series;
  for (let i = 1; i < series.length; i++) {
    if (compareLabels(series[i - 1]!.metric, series[i]!.metric) > 0) throw new EvalFailure('range query result is not sorted by labels');
  }
  const samples = series.flatMap((s) => {
    const i = s.ts.indexOf(t);
    if (i >= 0) return [{ metric: s.metric, t, f: s.fs[i]! }];
    const j = s.hts ? s.hts.indexOf(t) : -1;
    return j < 0 ? [] : [{ metric: s.metric, t, f: 0, h: s.hs![j]! }];
  });
  const asValue: QueryResult['value'] =
    r.value.type === 'scalar' ? { type: 'scalar', t, v: samples[0]?.f ?? NaN } : { type: 'vector', t, samples };
  try {
    compareInstant({ ...c, expects: c.expects.filter((e) => e.kind !== 'ordered') }, { value: asValue, annotations: rr.annotations });
  } catch (e) {
    throw new EvalFailure(`${(e as Error).message} in range mode${where}`);
  }
}

/** The step-invariance rewrite: `@ t` on every outermost selector/subquery; null when unsafe. */
function withAt(e: Expr, t: number): Expr | null {
  let unsafe = false;
  const visit = (x: Expr): Expr => {
    switch (x.kind) {
      case 'vector': return x.at === null && x.atPreprocessor === null ? { ...x, at: t } : x;
      case 'matrix': return x.vector.at === null && x.vector.atPreprocessor === null ? { ...x, vector: { ...x.vector, at: t } } : x;
      case 'subquery':
        // Go's rewrite does not look inside a subquery that carries (or now gets) an @.
        return x.at !== null || x.atPreprocessor !== null ? x : { ...x, at: t };
      case 'call':
        if (AT_UNSAFE.has(x.func)) unsafe = true;
        return { ...x, args: x.args.map(visit) };
      case 'aggregate': return { ...x, expr: visit(x.expr), param: x.param ? visit(x.param) : null };
      case 'binary': return { ...x, lhs: visit(x.lhs), rhs: visit(x.rhs) };
      case 'unary': case 'paren': return { ...x, expr: visit(x.expr) };
      default: return x;
    }
  };
  const out = visit(e);
  return unsafe ? null : out;
}

function annotationMatches(line: { msg?: string; regex?: RegExp }, text: string): boolean {
  if (line.msg !== undefined) return line.msg === text;
  if (line.regex) return line.regex.test(text);
  return true;
}

function checkAnnotations(c: EvalCmd, r: QueryResult, expr: string): void {
  const check = (kind: 'warn' | 'info', actual: string[]): void => {
    const lines = c.expects.filter((e) => e.kind === kind);
    if (lines.length && actual.length === 0) throw new EvalFailure(`expected ${kind} annotations evaluating ${JSON.stringify(expr)} but got none`);
    if (!lines.length) return;
    for (const a of actual) {
      if (!lines.some((l) => annotationMatches(l, a))) throw new EvalFailure(`unexpected ${kind} annotation ${JSON.stringify(a)}`);
    }
    for (const l of lines) {
      if (!actual.some((a) => annotationMatches(l, a))) throw new EvalFailure(`expected ${kind} annotation ${l.msg ?? l.regex ?? ''} not found in ${JSON.stringify(actual)}`);
    }
  };
  check('warn', r.annotations.warnings);
  check('info', r.annotations.infos);
  if (c.expects.some((e) => e.kind === 'no_warn') && r.annotations.warnings.length) {
    throw new EvalFailure(`unexpected warnings: ${JSON.stringify(r.annotations.warnings)}`);
  }
  if (c.expects.some((e) => e.kind === 'no_info') && r.annotations.infos.length) {
    throw new EvalFailure(`unexpected infos: ${JSON.stringify(r.annotations.infos)}`);
  }
}

function sameFloat(exp: number, act: number): boolean {
  return almostEqual(exp, act, 1e-6);
}

/** Prometheus's compareNativeHistogram on both sides compacted: float fields within 1e-6, layout exact. */
function sameHistogram(expIn: FloatHistogram, curIn: FloatHistogram, hintSet: boolean): boolean {
  const exp = compact(expIn), cur = compact(curIn);
  if (exp.schema !== cur.schema || !sameFloat(exp.count, cur.count) || !sameFloat(exp.sum, cur.sum)) return false;
  if (exp.schema === -53 && !customBoundsMatch(exp.customValues, cur.customValues)) return false;
  if (exp.zeroThreshold !== cur.zeroThreshold || !sameFloat(exp.zeroCount, cur.zeroCount)) return false;
  const spansEq = (a: readonly Span[], b: readonly Span[]): boolean => a.length === b.length && a.every((x, i) => x.offset === b[i]!.offset && x.length === b[i]!.length);
  const bucketsEq = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => sameFloat(x, b[i]!));
  if (!spansEq(exp.negativeSpans, cur.negativeSpans) || !bucketsEq(exp.negativeBuckets, cur.negativeBuckets)) return false;
  if (!spansEq(exp.positiveSpans, cur.positiveSpans) || !bucketsEq(exp.positiveBuckets, cur.positiveBuckets)) return false;
  return !hintSet || exp.counterResetHint === cur.counterResetHint;
}

/** The test notation of a histogram, for failure messages. */
function histogramText(h: FloatHistogram): string {
  const parts = [`schema:${h.schema}`, `count:${h.count}`, `sum:${h.sum}`];
  if (h.zeroThreshold) parts.push(`z_bucket_w:${h.zeroThreshold}`);
  if (h.zeroCount) parts.push(`z_bucket:${h.zeroCount}`);
  if (h.positiveBuckets.length) parts.push(`buckets:[${h.positiveBuckets.join(' ')}] spans:${JSON.stringify(h.positiveSpans)}`);
  if (h.negativeBuckets.length) parts.push(`n_buckets:[${h.negativeBuckets.join(' ')}] n_spans:${JSON.stringify(h.negativeSpans)}`);
  if (h.customValues) parts.push(`custom_values:[${h.customValues.join(' ')}]`);
  parts.push(`counter_reset_hint:${h.counterResetHint}`);
  return `{{${parts.join(' ')}}}`;
}

function expectedByKey(c: EvalCmd): Map<string, { line: SeriesLine; pos: number }> {
  const m = new Map<string, { line: SeriesLine; pos: number }>();
  c.series.forEach((s, i) => m.set(labelsKey(s.labels), { line: s, pos: i }));
  return m;
}

function compareInstant(c: EvalCmd, r: QueryResult): void {
  const v = r.value;
  switch (v.type) {
    case 'scalar': {
      if (c.expectScalar === null) throw new Error(`expected vector or matrix result, but got scalar ${v.v}`);
      if (!sameFloat(c.expectScalar, v.v)) throw new Error(`expected scalar ${c.expectScalar} but got ${v.v}`);
      return;
    }
    case 'string':
      if (c.expectString !== v.v) throw new Error(`expected string ${JSON.stringify(c.expectString)} but got ${JSON.stringify(v.v)}`);
      return;
    case 'matrix':
      if (c.expects.some((e) => e.kind === 'ordered')) throw new Error('expected ordered result, but query returned a matrix');
      if (c.expectScalar !== null) throw new Error('expected scalar result, but got matrix');
      {
        const rv = c.rangeVector ?? { start: c.start, end: c.start, step: 0 };
        compareMatrix(c, r, rv.start, rv.step, rv.end);
      }
      return;
    case 'vector': {
      if (c.expectScalar !== null) throw new Error('expected scalar result, but got vector');
      if (c.expectString !== null) throw new Error('expected string result, but got vector');
      const exp = expectedByKey(c);
      const ordered = c.expects.some((e) => e.kind === 'ordered');
      const seen = new Set<string>();
      v.samples.forEach((s, i) => {
        const k = labelsKey(s.metric);
        const e = exp.get(k);
        if (!e) throw new Error(`unexpected metric ${formatLabels(s.metric)} in result, has value ${s.h ? histogramText(s.h) : s.f}`);
        if (ordered && e.pos !== i) throw new Error(`expected metric ${formatLabels(s.metric)} at position ${e.pos + 1} but was at ${i + 1}`);
        const ev = e.line.values[0];
        if (ev?.kind === 'histogram' && e.line.values.length === 1) {
          if (!s.h) throw new Error(`expected histogram ${histogramText(ev.h)} for ${formatLabels(s.metric)} but got float value ${s.f}`);
          if (!sameHistogram(ev.h, s.h, ev.hintSet)) throw new Error(`expected ${histogramText(ev.h)} for ${formatLabels(s.metric)} but got ${histogramText(s.h)}`);
          seen.add(k);
          return;
        }
        if (s.h) throw new Error(`expected float value ${ev?.kind === 'float' ? ev.v : '?'} for ${formatLabels(s.metric)} but got histogram ${histogramText(s.h)}`);
        if (e.line.values.length !== 1 || ev?.kind !== 'float') {
          if (ev?.kind === 'stale' && e.line.values.length === 1) throw new Error(`expected stale marker for ${formatLabels(s.metric)}`);
          throw new Error(`expected exactly one float value for ${formatLabels(s.metric)}`);
        }
        if (!sameFloat(ev.v, s.f)) throw new Error(`expected ${ev.v} for ${formatLabels(s.metric)} but got ${s.f}`);
        seen.add(k);
      });
      for (const [k, e] of exp) if (!seen.has(k)) throw new Error(`expected metric ${formatLabels(e.line.labels)} not found`);
      return;
    }
  }
}

function compareMatrix(c: EvalCmd, r: QueryResult, start: number, step: number, end: number): void {
  const v = r.value;
  if (v.type !== 'matrix') throw new EvalFailure(`expected a matrix, got ${v.type}`);
  const exp = expectedByKey(c);
  for (let i = 1; i < v.series.length; i++) {
    if (compareLabels(v.series[i - 1]!.metric, v.series[i]!.metric) > 0) throw new EvalFailure('matrix results should always be sorted by labels');
  }
  const seen = new Set<string>();
  for (const s of v.series) {
    const k = labelsKey(s.metric);
    const e = exp.get(k);
    if (!e) throw new EvalFailure(`unexpected metric ${formatLabels(s.metric)} in result, has ${s.fs.length} float points`);
    seen.add(k);
    const want: { t: number; f: number }[] = [];
    const wantH: { t: number; h: FloatHistogram; hintSet: boolean }[] = [];
    e.line.values.forEach((x, i) => {
      const t = start + i * step;
      if (t > end) throw new EvalFailure(`expected ${e.line.values.length} points for ${formatLabels(s.metric)}, but query time range cannot return this many points`);
      if (x.kind === 'float') want.push({ t, f: x.v });
      else if (x.kind === 'stale') want.push({ t, f: NaN });
      else if (x.kind === 'histogram') wantH.push({ t, h: x.h, hintSet: x.hintSet });
    });
    const hts = s.hts ?? [], hs = s.hs ?? [];
    if (want.length !== s.ts.length || wantH.length !== hts.length) {
      throw new EvalFailure(
        `expected ${want.length} float points and ${wantH.length} histogram points for ${formatLabels(s.metric)}, got ${s.ts.length} float and ${hts.length} histogram points: ` +
          `${s.ts.map((t, i) => `${s.fs[i]} @[${t}]`).join(', ')} ${hts.map((t, i) => `${histogramText(hs[i]!)} @[${t}]`).join(', ')}`,
      );
    }
    wantH.forEach((w, i) => {
      if (w.t !== hts[i]) throw new EvalFailure(`expected histogram point ${i} of ${formatLabels(s.metric)} at ${w.t}, got ${hts[i]}`);
      if (!sameHistogram(w.h, hs[i]!, w.hintSet)) {
        throw new EvalFailure(`expected ${histogramText(w.h)} at t=${w.t} for ${formatLabels(s.metric)} but got ${histogramText(hs[i]!)}`);
      }
    });
    want.forEach((w, i) => {
      if (w.t !== s.ts[i]) throw new EvalFailure(`expected point ${i} of ${formatLabels(s.metric)} at ${w.t}, got ${s.ts[i]}`);
      if (!sameFloat(w.f, s.fs[i]!)) throw new EvalFailure(`expected ${w.f} at t=${w.t} for ${formatLabels(s.metric)} but got ${s.fs[i]}`);
    });
  }
  for (const [k, e] of exp) if (!seen.has(k)) throw new EvalFailure(`expected metric ${formatLabels(e.line.labels)} not found`);
}

/**
 * load_with_nhcb: the classic histograms of a load block (`x_bucket{le}`, `x_count`, `x_sum`) as
 * native histograms with custom buckets named `x`, one per timestamp, as Prometheus's harness
 * converts them (cumulative bucket counts become per-bucket counts; +Inf is implied by the count).
 */
function classicToNhcb(series: SeriesLine[], interval: number): [Labels, number, FloatHistogram][] {
  type Temp = { buckets: { le: number; count: number }[]; count: number; hasCount: boolean; sum: number };
  const groups = new Map<string, { labels: Labels; byT: Map<number, Temp> }>();
  for (const s of series) {
    const m = /^(.*)_(bucket|count|sum)$/.exec(getLabel(s.labels, METRIC_NAME));
    if (!m) continue;
    let le = NaN;
    if (m[2] === 'bucket') {
      const raw = getLabel(s.labels, 'le');
      le = /^[+-]?inf$/i.test(raw) ? (raw.startsWith('-') ? -Infinity : Infinity) : raw.trim() === '' ? NaN : Number(raw);
      if (Number.isNaN(le)) continue;
    }
    const base = s.labels.filter((l) => l.name !== 'le').map((l) => (l.name === METRIC_NAME ? { name: l.name, value: m[1]! } : l));
    const k = labelsKey(base);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { labels: base, byT: new Map() }));
    s.values.forEach((v, i) => {
      if (v.kind !== 'float' && v.kind !== 'stale') return;
      const f = v.kind === 'float' ? v.v : STALE_NAN;
      const t = i * interval;
      let h = g.byT.get(t);
      if (!h) g.byT.set(t, (h = { buckets: [], count: 0, hasCount: false, sum: 0 }));
      if (m[2] === 'sum') h.sum = f;
      else if (m[2] === 'count') {
        if (f < 0) throw new Error(`count must be non-negative: count=${f}`);
        h.count = f;
        h.hasCount = true;
      } else {
        if (f < 0) throw new Error(`bucket count must be non-negative: le=${le}, count=${f}`);
        const at = h.buckets.findIndex((b) => b.le >= le);
        if (at >= 0 && h.buckets[at]!.le === le) return;
        const before = at < 0 ? h.buckets[h.buckets.length - 1] : h.buckets[at - 1];
        if (before && f < before.count) throw new Error(`count is not cumulative: ${f} < ${before.count}`);
        if (at >= 0 && f > h.buckets[at]!.count) throw new Error(`count is not cumulative: ${f} > ${h.buckets[at]!.count}`);
        h.buckets.splice(at < 0 ? h.buckets.length : at, 0, { le, count: f });
      }
    });
  }
  const out: [Labels, number, FloatHistogram][] = [];
  for (const g of groups.values()) {
    for (const [t, h] of [...g.byT.entries()].sort((a, b) => a[0] - b[0])) {
      const buckets = [...h.buckets];
      const count = h.hasCount || buckets.length === 0 ? h.count : buckets[buckets.length - 1]!.count;
      if (buckets.length === 0 || buckets[buckets.length - 1]!.le !== Infinity) buckets.push({ le: Infinity, count });
      if (count !== buckets[buckets.length - 1]!.count) throw new Error(`count mismatch: count=${count} != le=+Inf count=${buckets[buckets.length - 1]!.count}`);
      let prev = 0;
      const counts = buckets.map((b) => {
        const c = b.count - prev;
        prev = b.count;
        return c;
      });
      out.push([g.labels, t, {
        counterResetHint: 'unknown', schema: -53, zeroThreshold: 0, zeroCount: 0, count, sum: h.sum,
        positiveSpans: [{ offset: 0, length: counts.length }], positiveBuckets: counts, negativeSpans: [], negativeBuckets: [],
        customValues: buckets.slice(0, -1).map((b) => b.le),
      }]);
    }
  }
  return out;
}
