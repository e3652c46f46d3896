// Binary operators: scalar/scalar, vector/scalar and vector/vector with on/ignoring,
// group_left/group_right, bool, and the set operators.
import type { Labels } from '../../shared/labels';
import { KEY_NAME_END, KEY_VALUE_END, METRIC_NAME } from '../../shared/labels';
import type { BinaryExpr, BinaryOp, VectorMatching } from './ast';
import { COMPARISON_OPS } from './ast';
import type { Evaluator } from './evaluator';
import { type ElemResult, histogramElemOp, isTrim } from './histogram/binary';
import { type Sample, type Value, QueryError, checkNoDuplicates, dropMetricName, keyOf } from './values';

export function binaryOp(ev: Evaluator, e: BinaryExpr, t: number): Value {
  const l = ev.eval(e.lhs, t);
  const r = ev.eval(e.rhs, t);
  if (l.type === 'scalar' && r.type === 'scalar') {
    const [v, keep] = scalarOp(e.op, l.v, r.v);
    return { type: 'scalar', v: e.returnBool ? (keep ? 1 : 0) : v };
  }
  // Prometheus (no delayed name removal) checks each step's result once names are dropped.
  const note = (x: ElemResult): void => {
    for (const n of x.notes) (n.kind === 'info' ? ev.info(n.msg, e) : ev.warn(n.msg, e));
  };
  if (l.type === 'vector' && r.type === 'vector') return { type: 'vector', v: checked(ev, vectorVector(e, l.v, r.v, note)) };
  if (l.type === 'vector' && r.type === 'scalar') return { type: 'vector', v: checked(ev, vectorScalar(e, l.v, r.v, false, note)) };
  if (l.type === 'scalar' && r.type === 'vector') return { type: 'vector', v: checked(ev, vectorScalar(e, r.v, l.v, true, note)) };
  throw new QueryError('binary expression must contain only scalar and instant vector types');
}

function checked(ev: Evaluator, v: Sample[]): Sample[] {
  return ev.delayedNameRemoval ? v : checkNoDuplicates(v);
}

/** Returns [value, keep]; for comparisons value is the lhs and keep tells whether it passed. */
export function scalarOp(op: BinaryOp, a: number, b: number): [number, boolean] {
  switch (op) {
    case '+': return [a + b, true];
    case '-': return [a - b, true];
    case '*': return [a * b, true];
    case '/': return [a / b, true];
    case '%': return [goMod(a, b), true];
    case '^': return [Math.pow(a, b), true];
    case 'atan2': return [Math.atan2(a, b), true];
    case '==': return [a, a === b];
    case '!=': return [a, a !== b];
    case '>': return [a, a > b];
    case '<': return [a, a < b];
    case '>=': return [a, a >= b];
    case '<=': return [a, a <= b];
    default: throw new QueryError(`operator "${op}" not allowed for scalar operations`);
  }
}

/** Go's math.Mod: result has the sign of a. */
function goMod(a: number, b: number): number {
  return a % b;
}

const changesSchema = (op: BinaryOp): boolean =>
  !COMPARISON_OPS.has(op) && op !== 'and' && op !== 'or' && op !== 'unless' && op !== '</' && op !== '>/';

/** One vector element against a scalar: the resulting value, or undefined when a comparison drops it. */
export function vectorScalarValue(e: BinaryExpr, f: number, s: number, swap: boolean): number | undefined {
  const [v, keep] = swap ? scalarOp(e.op, s, f) : scalarOp(e.op, f, s);
  if (!COMPARISON_OPS.has(e.op)) return v;
  if (e.returnBool) return keep ? 1 : 0;
  return keep ? f : undefined;
}

/** Whether a vector/scalar operation drops the metric name. */
export const vectorScalarDropsName = (e: BinaryExpr): boolean => changesSchema(e.op) || e.returnBool;

function vectorScalar(e: BinaryExpr, vec: Sample[], s: number, swap: boolean, note: (x: ElemResult) => void): Sample[] {
  const out: Sample[] = [];
  const drop = vectorScalarDropsName(e);
  for (const smp of vec) {
    if (smp.h || isTrim(e.op)) {
      const x = swap ? histogramElemOp(e.op, s, 0, undefined, smp.h) : histogramElemOp(e.op, 0, s, smp.h, undefined);
      note(x);
      if (!x.keep) continue;
      out.push(e.returnBool ? { metric: smp.metric, f: 1, t: smp.t, dropName: true } : { metric: smp.metric, f: 0, h: x.h!, t: smp.t, dropName: smp.dropName || drop });
      continue;
    }
    const f = vectorScalarValue(e, smp.f, s, swap);
    if (f === undefined) continue;
    out.push({ metric: smp.metric, f, t: smp.t, dropName: smp.dropName || drop });
  }
  return out;
}

const signatures = new WeakMap<VectorMatching, WeakMap<Labels, string>>();

function signature(l: Labels, m: VectorMatching): string {
  let byLabels = signatures.get(m);
  if (!byLabels) signatures.set(m, (byLabels = new WeakMap()));
  let sig = byLabels.get(l);
  if (sig === undefined) {
    sig = computeSignature(l, m);
    byLabels.set(l, sig);
  }
  return sig;
}

function computeSignature(l: Labels, m: VectorMatching): string {
  let k = '';
  if (m.on) {
    for (const x of l) if (m.labels.includes(x.name)) k += x.name + KEY_NAME_END + x.value + KEY_VALUE_END;
  } else {
    for (const x of l) if (x.name !== METRIC_NAME && !m.labels.includes(x.name)) k += x.name + KEY_NAME_END + x.value + KEY_VALUE_END;
  }
  return k;
}

function matchLabels(l: Labels, m: VectorMatching): Labels {
  return m.on ? l.filter((x) => m.labels.includes(x.name)) : l.filter((x) => x.name !== METRIC_NAME && !m.labels.includes(x.name));
}

function vectorVector(e: BinaryExpr, lhs: Sample[], rhs: Sample[], note: (x: ElemResult) => void): Sample[] {
  const m = e.matching!;
  switch (e.op) {
    case 'and': {
      const rs = new Set(rhs.map((s) => signature(s.metric, m)));
      return lhs.filter((s) => rs.has(signature(s.metric, m)));
    }
    case 'unless': {
      const rs = new Set(rhs.map((s) => signature(s.metric, m)));
      return lhs.filter((s) => !rs.has(signature(s.metric, m)));
    }
    case 'or': {
      const ls = new Set(lhs.map((s) => signature(s.metric, m)));
      return [...lhs, ...rhs.filter((s) => !ls.has(signature(s.metric, m)))];
    }
    default:
      break;
  }
  let one = rhs, many = lhs;
  const swapped = m.card === 'one-to-many';
  if (swapped) {
    one = lhs;
    many = rhs;
  }
  // Fill values (experimental): as in Prometheus, fill_right stands in for a missing "one" sample
  // and fill_left for a missing "many" sample, also after group_right swapped the sides.
  const fillOne = m.fillRight;
  const fillMany = m.fillLeft;
  if (many.length === 0 && (one.length === 0 || fillMany === null)) return [];
  if (one.length === 0 && fillOne === null) return [];
  const oneBySig = new Map<string, Sample>();
  for (const s of one) {
    const sig = signature(s.metric, m);
    const dup = oneBySig.get(sig);
    if (dup) {
      const side = swapped ? 'left' : 'right';
      throw new QueryError(
        `found duplicate series for the match group ${formatLabelSet(matchLabels(s.metric, m))} on the ${side} hand-side of the operation: [${promString(dup.metric, s.metric)[0]}, ${promString(dup.metric, s.metric)[1]}]` +
          ';many-to-many matching not allowed: matching labels must be unique on one side',
      );
    }
    oneBySig.set(sig, s);
  }
  const out: Sample[] = [];
  const matchedOne = new Set<string>();
  const matchedMany = new Map<string, Set<string>>();
  const apply = (ms: Sample, os: Sample, sig: string): void => {
    const [lf, rf] = swapped ? [os.f, ms.f] : [ms.f, os.f];
    let hist: ElemResult | null = null;
    if (ms.h || os.h || isTrim(e.op)) {
      const [lh, rh] = swapped ? [os.h, ms.h] : [ms.h, os.h];
      hist = histogramElemOp(e.op, lf, rf, lh, rh);
      note(hist);
      if (!hist.keep && !hist.h) return; // incompatible: dropped before any matching bookkeeping
    }
    const [v, keep] = hist ? [0, hist.keep] : scalarOp(e.op, lf, rf);
    const metric = memoResultMetric(e, ms.metric, os.metric);
    if (m.card === 'one-to-one') {
      if (matchedOne.has(sig)) throw new QueryError('multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      matchedOne.add(sig);
    } else {
      let set = matchedMany.get(sig);
      if (!set) matchedMany.set(sig, (set = new Set()));
      const mk = keyOf(metric);
      if (set.has(mk)) throw new QueryError('multiple matches for labels: grouping labels must ensure unique matches');
      set.add(mk);
    }
    let f = v;
    if (COMPARISON_OPS.has(e.op)) {
      if (e.returnBool) f = keep ? 1 : 0;
      else if (!keep) return;
    }
    if (hist?.h && !e.returnBool) out.push({ metric, f: 0, h: hist.h, t: ms.t, dropName: false });
    else out.push({ metric, f, t: ms.t, dropName: e.returnBool });
  };
  for (const ms of many) {
    const sig = signature(ms.metric, m);
    const os = oneBySig.get(sig) ?? (fillOne === null ? null : { metric: matchLabels(ms.metric, m), f: fillOne, t: ms.t, dropName: false });
    if (os) apply(ms, os, sig);
  }
  if (fillMany !== null) {
    for (const os of one) {
      const sig = signature(os.metric, m);
      if (matchedOne.has(sig) || (matchedMany.get(sig)?.size ?? 0) > 0) continue;
      apply({ metric: matchLabels(os.metric, m), f: fillMany, t: os.t, dropName: false }, os, sig);
    }
  }
  return out;
}

const resultMetrics = new WeakMap<BinaryExpr, WeakMap<Labels, WeakMap<Labels, Labels>>>();

/** resultMetric, memoized per operator node and (many, one) label-set pair. */
function memoResultMetric(e: BinaryExpr, many: Labels, one: Labels): Labels {
  let byMany = resultMetrics.get(e);
  if (!byMany) resultMetrics.set(e, (byMany = new WeakMap()));
  let byOne = byMany.get(many);
  if (!byOne) byMany.set(many, (byOne = new WeakMap()));
  let l = byOne.get(one);
  if (!l) {
    l = resultMetric(many, one, e.op, e.matching!);
    byOne.set(one, l);
  }
  return l;
}

/** The result's labels: from the "many" side (lhs for one-to-one), narrowed and extended per matching. */
function resultMetric(many: Labels, one: Labels, op: BinaryOp, m: VectorMatching): Labels {
  let l: Labels = changesSchema(op) ? dropMetricName(many) : many;
  if (m.card === 'one-to-one') {
    l = m.on ? l.filter((x) => m.labels.includes(x.name)) : l.filter((x) => !m.labels.includes(x.name));
  }
  if (m.include.length) {
    const rec = new Map(l.map((x) => [x.name, x.value] as const));
    for (const name of m.include) {
      const v = one.find((x) => x.name === name)?.value ?? '';
      if (v !== '') rec.set(name, v);
      else rec.delete(name);
    }
    l = [...rec.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([name, value]) => ({ name, value }));
  }
  return l;
}

/** Prometheus's labels.String(): {a="b", c="d"} including __name__. */
export function formatLabelSet(l: Labels): string {
  return `{${l.map((x) => `${x.name}=${JSON.stringify(x.value)}`).join(', ')}}`;
}

function promString(a: Labels, b: Labels): [string, string] {
  const x = formatLabelSet(a), y = formatLabelSet(b);
  return x > y ? [y, x] : [x, y];
}
