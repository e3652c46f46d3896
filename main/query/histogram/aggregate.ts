// Aggregation of instant vectors that hold native histograms, after Prometheus's
// evaluator.aggregation: sum and avg add histograms (a group mixing floats and histograms gives
// nothing and a warning), count and group count them, min/max/stddev/stdvar/quantile ignore them
// with an info annotation.
import type { Labels } from '../../../shared/labels';
import type { AggregateExpr } from '../ast';
import { Accumulators, type FoldOp, computeGroupingKey, groupingMetric } from '../aggregate';
import type { Evaluator } from '../engine';
import { quantile } from '../functions';
import type { FloatHistogram } from '../../tsdb/histogram';
import { type Sample, metricName } from '../values';
import { IncompatibleSchemaError, add, compact, div } from './ops';
import { infoReconciled, warnCounterResetCollision, warnMixedSchemas } from './functions';

interface Group {
  metric: Labels;
  dropName: boolean;
  floats: number;
  hist: FloatHistogram | null;
  histCount: number;
  incompatible: boolean;
  reset: boolean;
  notReset: boolean;
  quantileValues: number[];
}

const IGNORING = new Set(['min', 'max', 'stddev', 'stdvar', 'quantile']);

/** Whether aggregate() must hand this input to aggregateWithHistograms. */
export const needsHistogramAggregation = (input: readonly Sample[]): boolean => input.some((s) => s.h);

export function aggregateWithHistograms(ev: Evaluator, e: AggregateExpr, input: Sample[], t: number, param: number): Sample[] {
  const op = e.op;
  const at = e.expr;
  const slots = new Map<string, number>();
  const groups: Group[] = [];
  const acc = new Accumulators(input.length);
  const floatOp: FoldOp | null = op === 'quantile' ? null : (op as FoldOp);
  for (const s of input) {
    if (s.h && IGNORING.has(op)) {
      ev.info(`ignored histogram in ${op} aggregation`, at);
      continue;
    }
    const k = computeGroupingKey(s.metric, e);
    let j = slots.get(k);
    if (j === undefined) {
      j = groups.length;
      slots.set(k, j);
      groups.push({
        metric: groupingMetric(s.metric, e), dropName: s.dropName, floats: 0, hist: null, histCount: 0,
        incompatible: false, reset: false, notReset: false, quantileValues: [],
      });
    }
    const g = groups[j]!;
    if (s.dropName) g.dropName = true;
    if (!s.h) {
      g.floats++;
      if (floatOp) acc.add(floatOp, j, s.f);
      else g.quantileValues.push(s.f);
      continue;
    }
    g.histCount++;
    if (op === 'count' || op === 'group') {
      acc.add(op, j, 0);
      continue;
    }
    if (g.incompatible) continue;
    if (s.h.counterResetHint === 'reset') g.reset = true;
    else if (s.h.counterResetHint === 'not_reset') g.notReset = true;
    if (!g.hist) {
      g.hist = s.h;
      continue;
    }
    try {
      const r = add(g.hist, s.h, false);
      g.hist = r.h;
      if (r.boundsReconciled) infoReconciled(ev, 'aggregation', at);
    } catch (err) {
      if (!(err instanceof IncompatibleSchemaError)) throw err;
      warnMixedSchemas(ev, metricName(s.metric), at);
      g.incompatible = true;
    }
  }
  const out: Sample[] = [];
  groups.forEach((g, j) => {
    if (op === 'count' || op === 'group') {
      out.push({ metric: g.metric, f: acc.result(op, j), t, dropName: g.dropName });
      return;
    }
    if (op === 'quantile') {
      if (g.quantileValues.length) out.push({ metric: g.metric, f: quantile(param, g.quantileValues), t, dropName: g.dropName });
      return;
    }
    if (op !== 'sum' && op !== 'avg') {
      if (g.floats > 0) out.push({ metric: g.metric, f: acc.result(op as FoldOp, j), t, dropName: g.dropName });
      return;
    }
    if (g.floats > 0 && g.histCount > 0) {
      ev.warn('encountered a mix of histograms and floats for aggregation', at);
      return;
    }
    if (g.incompatible) return;
    if (g.hist) {
      const h = op === 'avg' ? div(g.hist, g.histCount) : g.hist;
      out.push({ metric: g.metric, f: 0, h: compact(h), t, dropName: g.dropName });
    } else out.push({ metric: g.metric, f: acc.result(op, j), t, dropName: g.dropName });
    if (g.reset && g.notReset) warnCounterResetCollision(ev, 'aggregation', at);
  });
  return out;
}
