// info(v [, label-selector]) (Prometheus 3, experimental): adds to each series of v the data
// labels of the info series (target_info by default) that share its identifying labels
// (instance, job). Semantics from Prometheus's promql/info.go: the newest info sample wins per
// info metric, two at the same time are an error; labels already on the series stay; with a data
// label matcher that rejects "" a series no info series matched is dropped; series that are info
// series themselves pass unchanged. The info series are read at the time of v's first selector
// (its @ and offset, and those of subqueries around it).
import type { Label, Labels } from '../../shared/labels';
import { METRIC_NAME, getLabel, labelsKey } from '../../shared/labels';
import { compileMatcher } from '../tsdb/matchers';
import type { Matcher } from '../tsdb/types';
import type { Call, Expr, TimeModifiers, VectorSelector } from './ast';
import type { Evaluator } from './evaluator';
import { anchor, storeMatcher } from './regex';
import { type Sample, type Value, QueryError, keyOf } from './values';

const TARGET_INFO = 'target_info';
/** The labels that tie a series to its info series (hard-coded in Prometheus too). */
const IDENTIFYING = ['instance', 'job'];

interface InfoPlan {
  /** Selects the candidate info series, at the time v's first selector is read. */
  selector: VectorSelector;
  /** __name__ matchers that make a series an info series (all must match). */
  nameMatchers: ((v: string) => boolean)[];
  /** Data label name → its matchers (from the label selector, without __name__). */
  dataMatchers: Map<string, ((v: string) => boolean)[]>;
  /** Whether every data matcher accepts "" (else a series with no info match is dropped). */
  dataAcceptsEmpty: boolean;
}

const plans = new WeakMap<Call, InfoPlan>();

const isPositive = (m: Matcher): boolean => m.type === '=' || m.type === '=~';
const test = (m: Matcher): ((v: string) => boolean) => compileMatcher(storeMatcher(m)).matches;

/** Prometheus's effectiveInfoNameMatchers. */
function effectiveNameMatchers(ms: Matcher[]): Matcher[] {
  if (ms.some(isPositive)) return ms;
  if (ms.length > 0) return [{ type: '=~', name: METRIC_NAME, value: anchor('.+_info') }, ...ms];
  return [{ type: '=', name: METRIC_NAME, value: TARGET_INFO }];
}

/** The @ and offset that govern when info series are read (Prometheus's infoSelectTimestampAndOffset). */
function infoTime(e: Expr): TimeModifiers {
  const path: Expr[] = [];
  const find = (x: Expr): VectorSelector | null => {
    if (x.kind === 'vector') return x;
    path.push(x);
    for (const v of Object.values(x) as unknown[]) {
      for (const c of Array.isArray(v) ? v : [v]) {
        if (c !== null && typeof c === 'object' && 'kind' in c) {
          const found = find(c as Expr);
          if (found) return found;
        }
      }
    }
    path.pop();
    return null;
  };
  const vs = find(e);
  if (!vs) return { at: null, atPreprocessor: null, offset: 0 };
  let { at, atPreprocessor, offset } = vs;
  for (let i = path.length - 1; at === null && atPreprocessor === null && i >= 0; i--) {
    const sq = path[i]!;
    if (sq.kind !== 'subquery') continue;
    offset += sq.offset;
    ({ at, atPreprocessor } = sq);
  }
  return { at, atPreprocessor, offset };
}

/** The plan of one info() call: built once per call node (the engine loads its selector up front). */
export function infoPlan(e: Call): InfoPlan {
  let plan = plans.get(e);
  if (plan) return plan;
  const given = e.args[1]?.kind === 'vector' ? e.args[1].matchers : null;
  const nameMs = given ? given.filter((m) => m.name === METRIC_NAME) : [];
  const data = given ? given.filter((m) => m.name !== METRIC_NAME) : [];
  const effective = given ? effectiveNameMatchers(nameMs) : effectiveNameMatchers([]);
  const dataMatchers = new Map<string, ((v: string) => boolean)[]>();
  for (const m of data) dataMatchers.set(m.name, [...(dataMatchers.get(m.name) ?? []), test(m)]);
  plan = {
    selector: { kind: 'vector', name: '', matchers: [...data, ...effective], ...infoTime(e.args[0]!), pos: e.pos },
    nameMatchers: effective.map(test),
    dataMatchers,
    dataAcceptsEmpty: [...dataMatchers.values()].every((ms) => ms.every((m) => m('')))
  };
  plans.set(e, plan);
  return plan;
}

/** info(v [, selector]) at time t. */
export function infoFunction(ev: Evaluator, e: Call, t: number): Value {
  const arg = ev.eval(e.args[0]!, t);
  const base = arg.type === 'vector' ? arg.v : [];
  const plan = infoPlan(e);
  const isInfo = (metric: Labels) => plan.nameMatchers.every((m) => m(getLabel(metric, METRIC_NAME)));
  // Identifying label values of the series to enrich: only info series with those are considered.
  const ids = new Map<string, Set<string>>();
  for (const s of base) {
    if (isInfo(s.metric)) continue;
    for (const name of IDENTIFYING) {
      const v = getLabel(s.metric, name);
      if (v !== '') ids.set(name, (ids.get(name) ?? new Set()).add(v));
    }
  }
  // Per signature (info metric name + identifying labels): the newest info sample.
  const bySig = new Map<string, Sample>();
  const infoNames = new Set<string>();
  if (ids.size > 0) {
    for (const s of ev.selectVector(plan.selector, t)) {
      if (![...ids].every(([name, values]) => values.has(getLabel(s.metric, name)))) continue;
      if (s.h) throw new QueryError('info sample should be float');
      const name = getLabel(s.metric, METRIC_NAME);
      infoNames.add(name);
      const sig = signature(name, s.metric);
      const seen = bySig.get(sig);
      if (seen && seen.t === s.t) {
        throw new QueryError(`found duplicate series for info metric: existing ${labelsString(seen.metric)} @ ${seen.t}, new ${labelsString(s.metric)} @ ${s.t}`);
      }
      if (!seen || seen.t < s.t) bySig.set(sig, s);
    }
  }
  const out: Sample[] = [];
  const seenKeys = new Set<string>();
  for (const s of base) {
    let metric = s.metric;
    if (!isInfo(s.metric)) {
      const added = new Map<string, string>();
      let matched = 0;
      for (const name of infoNames) {
        const info = bySig.get(signature(name, s.metric));
        if (!info) continue;
        matched++;
        for (const l of info.metric) {
          if (l.name === METRIC_NAME) continue;
          if (plan.dataMatchers.size > 0 && !plan.dataMatchers.has(l.name)) continue;
          const have = added.get(l.name);
          if (have !== undefined && have !== l.value) throw new QueryError(`conflicting label: ${l.name}`);
          if (getLabel(s.metric, l.name) !== '') continue;
          added.set(l.name, l.value);
        }
      }
      if (matched === 0 && !plan.dataAcceptsEmpty) continue;
      if (added.size > 0) metric = [...s.metric, ...[...added].map(([name, value]): Label => ({ name, value }))].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }
    const k = keyOf(metric);
    if (seenKeys.has(k)) throw new QueryError('vector cannot contain metrics with the same labelset');
    seenKeys.add(k);
    out.push({ ...s, metric, t });
  }
  return { type: 'vector', v: out };
}

function signature(name: string, metric: Labels): string {
  return labelsKey([{ name: METRIC_NAME, value: name }, ...metric.filter((l) => IDENTIFYING.includes(l.name))]);
}

/** Prometheus's labels.String(): {a="b", c="d"}. */
function labelsString(l: Labels): string {
  return `{${l.map((x) => `${x.name}=${JSON.stringify(x.value)}`).join(', ')}}`;
}
