// Aggregation of instant vectors that hold native histograms, after Prometheus's
// evaluator.aggregation: sum and avg add histograms (a group mixing floats and histograms gives
// nothing and a warning), count and group count them, min/max/stddev/stdvar/quantile ignore them
// with an info annotation.
import type { Labels } from '../../../shared/labels';
import type { AggregateExpr } from '../ast';
import type { Evaluator } from '../evaluator';
import { Accumulators, type FoldOp, computeGroupingKey, groupingMetric } from '../grouping';
import { quantile } from '../numeric';
import type { FloatHistogram } from '../../tsdb/histogram';
import { type Sample, metricName } from '../values';
import { combineHistograms } from './functions';
import { usesCustomBuckets } from './ops';

interface Group {
  metric: Labels;
  dropName: boolean;
  floats: number;
  hists: FloatHistogram[];
  /** Metric names of hists (a schema mix is reported under the first one that does not fit). */
  names: string[];
  histCount: number;
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
        metric: groupingMetric(s.metric, e), dropName: s.dropName, floats: 0, hists: [], names: [], histCount: 0, quantileValues: [],
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
    g.hists.push(s.h);
    g.names.push(metricName(s.metric));
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
    if (g.hists.length > 0) {
      const odd = g.hists.findIndex((h) => usesCustomBuckets(h) !== usesCustomBuckets(g.hists[0]!));
      const h = combineHistograms(ev, g.hists, op === 'avg', at, g.names[Math.max(0, odd)]!);
      if (h) out.push({ metric: g.metric, f: 0, h, t, dropName: g.dropName });
    } else out.push({ metric: g.metric, f: acc.result(op, j), t, dropName: g.dropName });
  });
  return out;
}
