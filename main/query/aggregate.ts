// Aggregation operators with by/without.
import type { Labels } from '../../shared/labels';
import { labelsKey } from '../../shared/labels';
import type { AggregateExpr } from './ast';
import type { Evaluator } from './evaluator';
import { Accumulators, type FoldOp, computeGroupingKey, groupingMetric } from './grouping';
import { aggregateWithHistograms, needsHistogramAggregation } from './histogram/aggregate';
import { histogramString } from './histogram/ops';
import { formatFloatF, formatG, quantile } from './numeric';
import { isValidLabelName, quoteGo } from './strings';
import { type Sample, QueryError, dropMetricName } from './values';
import { xxhash64 } from './xxhash64';

const groupingKeys = new WeakMap<AggregateExpr, WeakMap<Labels, string>>();

function groupingKey(l: Labels, e: AggregateExpr): string {
  let byLabels = groupingKeys.get(e);
  if (!byLabels) groupingKeys.set(e, (byLabels = new WeakMap()));
  let k = byLabels.get(l);
  if (k === undefined) {
    k = computeGroupingKey(l, e);
    byLabels.set(l, k);
  }
  return k;
}

export function aggregate(ev: Evaluator, e: AggregateExpr, t: number): Sample[] {
  let param = NaN;
  let label = '';
  if (e.param) {
    const p = ev.eval(e.param, t);
    if (p.type === 'scalar') param = p.v;
    else if (p.type === 'string') label = p.v;
  }
  const inV = ev.eval(e.expr, t);
  let input = inV.type === 'vector' ? inV.v : [];
  switch (e.op) {
    case 'topk':
    case 'bottomk':
    case 'limitk':
      if (Number.isNaN(param)) throw new QueryError('Parameter value is NaN');
      if (e.op !== 'limitk' && needsHistogramAggregation(input)) {
        // topk/bottomk rank floats only (Prometheus's info names the whole aggregation).
        ev.info(`ignored histogram in ${e.op} aggregation`, e);
        input = input.filter((s) => !s.h);
      }
      return kAggregate(e, input, param);
    case 'limit_ratio':
      if (Number.isNaN(param)) throw new QueryError('Ratio value is NaN');
      if (param < -1 || param > 1) {
        const capped = Math.max(-1, Math.min(1, param));
        ev.warn(`ratio value should be between -1 and 1, got ${formatG(param)}, capping to ${formatG(capped)}`, e.param!);
        param = capped;
      }
      // Prometheus hashes the labels the sample has there: without the name once a function dropped
      // it, unless names are removed only at the end.
      return input.filter((s) => {
        const o = ratioOffset(s.dropName && !ev.delayedNameRemoval ? dropMetricName(s.metric) : s.metric);
        return param >= 0 ? o < param : o >= 1 + param;
      });
    case 'count_values':
      if (!isValidLabelName(label)) throw new QueryError(`invalid label name ${quoteGo(label)}`);
      return countValues(e, input, label, t);
    case 'quantile':
      if (Number.isNaN(param) || param < 0 || param > 1) ev.warn(`quantile value should be between 0 and 1, got ${formatG(param)}`, e.param!);
      break;
    default:
      break;
  }
  if (needsHistogramAggregation(input)) return aggregateWithHistograms(ev, e, input, t, param);
  const slots = new Map<string, number>();
  const metrics: Labels[] = [];
  const dropNames: boolean[] = [];
  const quantileSamples: number[][] = [];
  const op = e.op as FoldOp | 'quantile';
  const acc = op === 'quantile' ? null : new Accumulators(input.length);
  for (const s of input) {
    const k = groupingKey(s.metric, e);
    let j = slots.get(k);
    if (j === undefined) {
      j = metrics.length;
      slots.set(k, j);
      metrics.push(groupingMetric(s.metric, e));
      dropNames.push(s.dropName);
      quantileSamples.push([]);
    } else if (s.dropName) dropNames[j] = true;
    if (acc) acc.add(op as FoldOp, j, s.f);
    else quantileSamples[j]!.push(s.f);
  }
  const out: Sample[] = [];
  for (let j = 0; j < metrics.length; j++) {
    const v = acc ? acc.result(op as FoldOp, j) : quantile(param, quantileSamples[j]!);
    out.push({ metric: metrics[j]!, f: v, t, dropName: dropNames[j]! });
  }
  return out;
}

function kAggregate(e: AggregateExpr, input: Sample[], param: number): Sample[] {
  const k = Math.min(Math.trunc(param), Number.MAX_SAFE_INTEGER);
  if (k < 1) return [];
  const groups = new Map<string, Sample[]>();
  for (const s of input) {
    const key = groupingKey(s.metric, e);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    if (e.op === 'limitk') {
      if (g.length < k) g.push(s);
      continue;
    }
    g.push(s);
  }
  const out: Sample[] = [];
  for (const g of groups.values()) {
    if (e.op === 'limitk') {
      out.push(...g);
      continue;
    }
    const desc = e.op === 'topk';
    // Stable sort: best first, NaN always last.
    const sorted = [...g].sort((a, b) => {
      if (Number.isNaN(a.f)) return Number.isNaN(b.f) ? 0 : 1;
      if (Number.isNaN(b.f)) return -1;
      return desc ? b.f - a.f : a.f - b.f;
    });
    out.push(...sorted.slice(0, k));
  }
  return out;
}

const offsets = new WeakMap<Labels, number>();
const utf8 = new TextEncoder();

/**
 * limit_ratio's position of a label set in [0, 1], as Prometheus's HashRatioSampler: labels.Hash
 * (xxhash64 of name, 0xff, value, 0xff for each label in name order) over 2^64 as a float64.
 */
export function ratioOffset(l: Labels): number {
  let o = offsets.get(l);
  if (o === undefined) {
    const parts = l.flatMap((x) => [utf8.encode(x.name), SEP, utf8.encode(x.value), SEP]);
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    o = Number(xxhash64(bytes)) / 2 ** 64;
    offsets.set(l, o);
  }
  return o;
}
const SEP = Uint8Array.of(0xff);

function countValues(e: AggregateExpr, input: Sample[], label: string, t: number): Sample[] {
  const groups = new Map<string, Sample>();
  for (const s of input) {
    const value = s.h ? histogramString(s.h) : formatFloatF(s.f);
    const base = groupingMetric(s.metric, e).filter((x) => x.name !== label);
    const metric = [...base, { name: label, value }].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const k = labelsKey(metric);
    const g = groups.get(k);
    if (g) g.f++;
    else groups.set(k, { metric, f: 1, t, dropName: false });
  }
  return [...groups.values()];
}
