// Rule evaluation, as Prometheus's rules package does it: a group's rules run in order at one
// timestamp, each rule's output is appended (and committed) before the next rule runs, series a
// rule stopped producing get a staleness marker, and alerting rules keep their inactive → pending
// → firing state with `for` and `keep_firing_for`, writing the ALERTS and ALERTS_FOR_STATE series.
// The store is reached only through the Appender and Querier interfaces, so the unit-test runner
// (a temp store) and a workspace's scheduler (its own store) share this code. A rule's query runs
// on this thread (eval, evalRule) or, through evalRuleOffThread, on the query pool's workers under
// the workspace's query limits; its output is appended here either way.
import type { Labels } from '../../shared/labels';
import { METRIC_NAME, labelsFromRecord, labelsKey, labelsToRecord } from '../../shared/labels';
import { instantQuery, type EngineOptions, type QueryValue } from '../query/engine';
import { DEFAULT_TIMEOUT_MS } from '../query/api';
import type { QueryLimiter } from '../query/limits';
import { ParseError, parseExpr } from '../query/parser';
import type { Expr } from '../query/ast';
import { AppendError, STALE_NAN_BITS, type Appender, type Querier } from '../tsdb/types';
import type { FloatHistogram } from '../tsdb/histogram';
import type { RuleDef, RuleGroupDef } from './rule-file';
import { expandAlertTemplate } from './template';

export const STALE_NAN = new Float64Array(new BigUint64Array([STALE_NAN_BITS]).buffer)[0]!;
/** A resolved alert is kept this long so a notifier can still report it as resolved (Prometheus: 15m). */
export const RESOLVED_RETENTION_MS = 15 * 60_000;

export interface RuleStorage {
  querier(): Querier;
  appender(): Appender;
  /** The workspace's query concurrency gate; rule queries off this thread wait their turn in it. */
  queries?(): QueryLimiter;
}

/** Runs an instant query off this thread and returns its raw value (main/http/query-pool's QueryPool). */
export interface RuleQueryRunner {
  instant(expr: string, time: number, querier: Querier, opts: EngineOptions): Promise<QueryValue>;
  /** Set when no thread could start; its rejections then carry `reason: 'unavailable'` and rules run on this thread. */
  readonly unavailable?: string | null;
}

export interface EvaluatorOptions {
  readonly engine?: EngineOptions;
  readonly externalLabels?: Readonly<Record<string, string>>;
  readonly externalURL?: string;
  /** Used when the group sets no query_offset (default 0). */
  readonly defaultQueryOffsetMs?: number;
}

export type AlertState = 'inactive' | 'pending' | 'firing';

export interface ActiveAlert {
  readonly labels: Labels;
  annotations: Record<string, string>;
  state: AlertState;
  /** ms since the epoch. */
  activeAt: number;
  firedAt: number | null;
  resolvedAt: number | null;
  keepFiringSince: number | null;
  value: number;
}

export interface RuleHealth {
  health: 'unknown' | 'ok' | 'err';
  lastError: string | null;
  /** Evaluation timestamp (ms) of the last run. */
  lastEvaluation: number | null;
  lastDurationMs: number;
}

export class RuleEvalError extends Error {}

interface OutSample {
  labels: Labels;
  value: number;
  /** A native histogram result (recording rules store it as one); `value` is then unused. */
  h?: FloatHistogram;
}

/** One rule's state between evaluations. */
export class RuleState {
  readonly expr: Expr;
  readonly health: RuleHealth = { health: 'unknown', lastError: null, lastEvaluation: null, lastDurationMs: 0 };
  /** Alerting rules: alerts by label-set key. */
  readonly active = new Map<string, ActiveAlert>();
  /** Series written at the previous evaluation (for staleness markers). */
  previous = new Map<string, Labels>();
  /**
   * False from a restart until the group's alert state is restored (see ./restore): ALERTS_FOR_STATE
   * is not written meanwhile, so the first evaluation does not hide the state it is restored from.
   */
  restored = true;

  constructor(readonly def: RuleDef) {
    this.expr = parseExpr(def.expr);
  }

  alerts(): ActiveAlert[] {
    return [...this.active.values()].filter((a) => a.state !== 'inactive');
  }
}

export class GroupEvaluator {
  readonly rules: RuleState[];

  constructor(
    readonly group: RuleGroupDef,
    private readonly opts: EvaluatorOptions = {},
  ) {
    this.rules = group.rules.map((r) => new RuleState(r));
  }

  get queryOffsetMs(): number {
    return this.group.queryOffsetMs ?? this.opts.defaultQueryOffsetMs ?? 0;
  }

  /** Evaluates every rule at `ts` (ms; the query offset is applied here). Errors land in each rule's health. */
  eval(storage: RuleStorage, ts: number): void {
    const t = ts - this.queryOffsetMs;
    for (const rule of this.rules) this.evalRule(rule, storage, t);
  }

  /** Evaluates one rule at `t` (ms, the query offset already applied) on this thread; the scheduler yields between rules. */
  evalRule(rule: RuleState, storage: RuleStorage, t: number): void {
    const started = performance.now();
    let res: OutSample[] | Error;
    try {
      res = this.query(storage, rule.expr, t);
    } catch (e) {
      res = e as Error;
    }
    this.apply(rule, storage, t, res, started);
  }

  /**
   * evalRule with the rule's query on `runner`'s threads, once the workspace's query limiter admits
   * it (time spent waiting counts toward the timeout, as for API queries). This thread is free
   * meanwhile; the result is applied (alert state, append, commit) here, as evalRule does.
   */
  async evalRuleOffThread(rule: RuleState, storage: RuleStorage, t: number, runner: RuleQueryRunner): Promise<void> {
    const started = performance.now();
    let res: OutSample[] | Error;
    const timeoutMs = this.opts.engine?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let limiter: QueryLimiter | undefined;
    let admitted = false;
    let templateQueries: TemplateQueries | undefined;
    try {
      // Inside the try: a workspace deleted meanwhile is this rule's error (the scheduler stops).
      limiter = storage.queries?.();
      if (limiter && !(admitted = await limiter.acquire(timeoutMs))) throw new RuleEvalError('query timed out in query queue');
      const left = Math.max(1, timeoutMs - (performance.now() - started));
      res = ruleSamples(await runner.instant(rule.def.expr, t, storage.querier(), { ...this.opts.engine, timeoutMs: left }));
      if (rule.def.kind === 'alerting' && usesTemplateQuery(rule.def)) {
        templateQueries = await this.templateQueriesOffThread(rule, res, t, (q) => runner.instant(q, t, storage.querier(), { ...this.opts.engine, timeoutMs: Math.max(1, timeoutMs - (performance.now() - started)) }));
      }
    } catch (e) {
      res = e as Error;
      if ((e as { reason?: unknown }).reason === 'unavailable') {
        try {
          res = this.query(storage, rule.expr, t);
        } catch (e2) {
          res = e2 as Error;
        }
      }
    } finally {
      if (admitted) limiter!.release();
    }
    this.apply(rule, storage, t, res, started, templateQueries);
  }

  /**
   * The `query` calls of an alert's templates, answered on the runner's threads: the templates are
   * expanded with the answers known so far, noting the queries they ask for, until they ask for no
   * new one (a query's text can depend on an earlier answer). Expansion itself stays cheap and here.
   */
  private async templateQueriesOffThread(rule: RuleState, res: OutSample[], t: number, run: (q: string) => Promise<QueryValue>): Promise<TemplateQueries> {
    const known: TemplateQueries = new Map();
    for (let round = 0; round < MAX_TEMPLATE_QUERY_ROUNDS; round++) {
      const asked = new Set<string>();
      const env = { query: (q: string) => answer(known, q, asked) ?? [], externalURL: this.opts.externalURL ?? '', timeMs: t };
      for (const s of res) {
        const data = { labels: labelsToRecord(s.labels), externalLabels: { ...this.opts.externalLabels }, externalURL: this.opts.externalURL ?? '', value: s.value };
        for (const text of [...Object.values(rule.def.labels), ...Object.values(rule.def.annotations)]) expandAlertTemplate(text, rule.def.name, data, env);
      }
      if (asked.size === 0) break;
      for (const q of asked) {
        try {
          known.set(q, ruleSamples(await run(q)));
        } catch (e) {
          known.set(q, e instanceof Error ? e : new Error(String(e)));
        }
      }
    }
    return known;
  }

  /** The rule's output from its query result (or error): its health, alert state and appended samples. */
  private apply(rule: RuleState, storage: RuleStorage, t: number, res: OutSample[] | Error, started: number, templateQueries?: TemplateQueries): void {
    try {
      if (res instanceof Error) throw res;
      const out = rule.def.kind === 'recording' ? this.record(rule, res) : this.alert(rule, storage, t, res, templateQueries);
      // A store that cannot commit (disk full, closed) is this rule's error too; the next rules still try.
      this.write(rule, storage, out, t);
      rule.health.health = 'ok';
      rule.health.lastError = null;
    } catch (e) {
      rule.health.health = 'err';
      rule.health.lastError = (e as Error).message;
    }
    rule.health.lastEvaluation = t;
    rule.health.lastDurationMs = performance.now() - started;
  }

  /** On this thread: the engine options as given (tests, the unit-test runner, the `query` template function). */
  private query(storage: RuleStorage, expr: Expr | string, t: number): OutSample[] {
    try {
      return ruleSamples(instantQuery(storage.querier(), expr, t, this.opts.engine).value);
    } catch (e) {
      // Prometheus's form, as a template's `query` shows it: `1:5: parse error: …`.
      throw e instanceof ParseError ? new Error(e.describe()) : e;
    }
  }

  private record(rule: RuleState, res: OutSample[]): OutSample[] {
    const seen = new Set<string>();
    const out = res.map((s) => {
      const rec = labelsToRecord(s.labels);
      rec[METRIC_NAME] = rule.def.name;
      for (const [k, v] of Object.entries(rule.def.labels)) {
        if (v === '') delete rec[k];
        else rec[k] = v;
      }
      const labels = labelsFromRecord(rec);
      const k = labelsKey(labels);
      if (seen.has(k)) throw new RuleEvalError('vector contains metrics with the same labelset after applying rule labels');
      seen.add(k);
      return s.h ? { labels, value: s.value, h: s.h } : { labels, value: s.value };
    });
    if (this.group.limit > 0 && out.length > this.group.limit) throw new RuleEvalError(`exceeded limit of ${this.group.limit} with ${out.length} series`);
    return out;
  }

  private alert(rule: RuleState, storage: RuleStorage, t: number, res: OutSample[], templateQueries?: TemplateQueries): OutSample[] {
    const def = rule.def;
    const env = {
      // Answered off this thread beforehand when a runner is used; else (tests, promtool-style unit tests) here.
      query: (q: string) => answer(templateQueries, q) ?? this.query(storage, q, t).map((s) => ({ labels: labelsToRecord(s.labels), value: s.value })),
      externalURL: this.opts.externalURL ?? '',
      timeMs: t,
    };
    const current = new Map<string, ActiveAlert>();
    for (const s of res) {
      const data = { labels: labelsToRecord(s.labels), externalLabels: { ...this.opts.externalLabels }, externalURL: this.opts.externalURL ?? '', value: s.value };
      const expand = (text: string) => expandAlertTemplate(text, def.name, data, env);
      const rec = labelsToRecord(s.labels);
      delete rec[METRIC_NAME];
      for (const [k, v] of Object.entries(def.labels)) {
        const x = expand(v);
        if (x === '') delete rec[k];
        else rec[k] = x;
      }
      rec.alertname = def.name;
      const annotations: Record<string, string> = {};
      for (const [k, v] of Object.entries(def.annotations)) annotations[k] = expand(v);
      const labels = labelsFromRecord(rec);
      const k = labelsKey(labels);
      if (current.has(k)) throw new RuleEvalError('vector contains metrics with the same labelset after applying alert labels');
      current.set(k, { labels, annotations, state: 'pending', activeAt: t, firedAt: null, resolvedAt: null, keepFiringSince: null, value: s.value });
    }
    for (const [k, a] of current) {
      const prev = rule.active.get(k);
      if (prev && prev.state !== 'inactive') {
        prev.value = a.value;
        prev.annotations = a.annotations;
        continue;
      }
      rule.active.set(k, a);
    }
    const out: OutSample[] = [];
    let activeCount = 0;
    for (const [k, a] of [...rule.active]) {
      if (!current.has(k)) {
        let keepFiring = false;
        if (a.state === 'firing' && def.keepFiringForMs > 0) {
          a.keepFiringSince ??= t;
          keepFiring = t - a.keepFiringSince < def.keepFiringForMs;
        }
        if (a.state === 'pending' || (a.resolvedAt !== null && t - a.resolvedAt > RESOLVED_RETENTION_MS)) rule.active.delete(k);
        if (a.state !== 'inactive' && !keepFiring) {
          a.state = 'inactive';
          a.resolvedAt = t;
        }
        if (!keepFiring) continue;
      } else {
        a.keepFiringSince = null;
      }
      activeCount++;
      if (a.state === 'pending' && t - a.activeAt >= def.forMs) {
        a.state = 'firing';
        a.firedAt = t;
      }
      out.push({ labels: withName(a.labels, 'ALERTS', { alertstate: a.state }), value: 1 });
      if (rule.restored) out.push({ labels: withName(a.labels, 'ALERTS_FOR_STATE'), value: Math.floor(a.activeAt / 1000) });
    }
    if (this.group.limit > 0 && activeCount > this.group.limit) {
      rule.active.clear();
      throw new RuleEvalError(`exceeded limit of ${this.group.limit} with ${activeCount} alerts`);
    }
    return out;
  }

  /** Appends a rule's output and staleness markers for the series it no longer produces; one commit. */
  private write(rule: RuleState, storage: RuleStorage, out: OutSample[], t: number): void {
    const app = storage.appender();
    const now = new Map<string, Labels>();
    try {
      for (const s of out) {
        const k = labelsKey(s.labels);
        now.set(k, s.labels);
        tryAppend(app, s.labels, t, s.value, s.h);
      }
      for (const [k, labels] of rule.previous) if (!now.has(k)) tryAppend(app, labels, t, STALE_NAN);
      app.commit();
    } catch (e) {
      app.rollback();
      throw e;
    }
    rule.previous = now;
  }
}

/** Answers of template `query` calls by query text (an Error is thrown where the template asked). */
type TemplateQueries = Map<string, OutSample[] | Error>;
/** Rounds of template expansion that may discover new `query` calls (each round's answers can name new ones). */
const MAX_TEMPLATE_QUERY_ROUNDS = 4;

function usesTemplateQuery(def: RuleDef): boolean {
  return [...Object.values(def.labels), ...Object.values(def.annotations)].some((text) => /\bquery\b/.test(text));
}

/** A known answer in the template's shape; unknown queries are noted in `asked` and answer empty, or undefined without `asked`. */
function answer(known: TemplateQueries | undefined, q: string, asked?: Set<string>): { labels: Record<string, string>; value: number }[] | undefined {
  const a = known?.get(q);
  if (a === undefined) {
    if (!asked) return undefined;
    asked.add(q);
    return [];
  }
  if (a instanceof Error) throw a;
  return a.map((s) => ({ labels: labelsToRecord(s.labels), value: s.value }));
}

/** A rule query's value as samples: a vector's (floats and native histograms), or a scalar as one sample without labels. */
function ruleSamples(v: QueryValue): OutSample[] {
  if (v.type === 'vector') return v.samples.map((s) => (s.h ? { labels: s.metric, value: s.f, h: s.h } : { labels: s.metric, value: s.f }));
  if (v.type === 'scalar') return [{ labels: [], value: v.v }];
  throw new RuleEvalError('rule result is not a vector or scalar');
}

/** Out-of-order and duplicate samples are dropped, as Prometheus drops them (counted, not fatal). */
function tryAppend(app: Appender, labels: Labels, t: number, v: number, h?: FloatHistogram): void {
  try {
    if (h) app.appendHistogram(0, labels, t, h);
    else app.append(0, labels, t, v);
  } catch (e) {
    if (!(e instanceof AppendError)) throw e;
  }
}

function withName(labels: Labels, name: string, extra: Record<string, string> = {}): Labels {
  return labelsFromRecord({ ...labelsToRecord(labels), ...extra, [METRIC_NAME]: name });
}
