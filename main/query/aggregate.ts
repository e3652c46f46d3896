// Aggregation operators with by/without.
import type { Labels } from '../../shared/labels';
import { KEY_NAME_END, KEY_VALUE_END, METRIC_NAME, labelsKey } from '../../shared/labels';
import type { AggregateExpr } from './ast';
import type { Evaluator } from './engine';
import { formatG, kahan, kahanAdd, quantile } from './functions';
import { aggregateWithHistograms, needsHistogramAggregation } from './histogram/aggregate';
import { histogramString } from './histogram/ops';
import { isValidLabelName, quoteGo } from './strings';
import { type Sample, QueryError, dropMetricName } from './values';
import { xxhash64 } from './xxhash64';

/** The operators whose state fits in Accumulators (no sample lists). */
export type FoldOp = 'sum' | 'avg' | 'min' | 'max' | 'count' | 'group' | 'stddev' | 'stdvar';

export const FOLD_OPS: ReadonlySet<string> = new Set<FoldOp>(['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar']);

/**
 * Running state of many aggregation groups in typed arrays, one slot per group (or per group and
 * step in the range fast path): no object per group, no allocation per sample.
 */
export class Accumulators {
  readonly value: Float64Array;
  readonly kahanC: Float64Array;
  readonly mean: Float64Array;
  readonly count: Float64Array;
  readonly incremental: Uint8Array;

  constructor(slots: number) {
    this.value = new Float64Array(slots);
    this.kahanC = new Float64Array(slots);
    this.mean = new Float64Array(slots);
    this.count = new Float64Array(slots);
    this.incremental = new Uint8Array(slots);
  }

  /** Whether slot j has seen a sample. */
  has(j: number): boolean {
    return this.count[j]! > 0;
  }

  /** add('sum', …) with kahanAdd's steps inlined: the hottest aggregation. */
  addSum(j: number, f: number): void {
    if (this.count[j] === 0) {
      this.value[j] = f;
      this.mean[j] = f;
      this.count[j] = 1;
      return;
    }
    const sum = this.value[j]!, t = sum + f;
    if (t === Infinity || t === -Infinity) this.kahanC[j] = 0;
    else this.kahanC[j] = this.kahanC[j]! + (Math.abs(sum) >= Math.abs(f) ? sum - t + f : f - t + sum);
    this.value[j] = t;
  }

  add(op: FoldOp, j: number, f: number): void {
    if (op === 'sum') {
      this.addSum(j, f);
      return;
    }
    if (this.count[j] === 0) {
      this.value[j] = op === 'stddev' || op === 'stdvar' ? (Number.isFinite(f) ? 0 : NaN) : f;
      this.mean[j] = f;
      this.count[j] = 1;
      return;
    }
    switch (op) {
      case 'avg': {
        const n = ++this.count[j]!;
        if (!this.incremental[j]) {
          kahanAdd(f, this.value[j]!, this.kahanC[j]!);
          const nv = kahan.sum, nc = kahan.c;
          if (Number.isFinite(nv) || Number.isNaN(nv)) {
            this.value[j] = nv;
            this.kahanC[j] = nc;
            break;
          }
          this.incremental[j] = 1;
          this.mean[j] = this.value[j]! / (n - 1);
          this.kahanC[j] = this.kahanC[j]! / (n - 1);
        }
        const q = (n - 1) / n;
        kahanAdd(f / n, q * this.mean[j]!, q * this.kahanC[j]!);
        this.mean[j] = kahan.sum;
        this.kahanC[j] = kahan.c;
        break;
      }
      case 'max':
        if (this.value[j]! < f || Number.isNaN(this.value[j]!)) this.value[j] = f;
        break;
      case 'min':
        if (this.value[j]! > f || Number.isNaN(this.value[j]!)) this.value[j] = f;
        break;
      case 'count':
        this.count[j]!++;
        break;
      case 'group':
        break;
      case 'stddev':
      case 'stdvar': {
        const n = ++this.count[j]!;
        const delta = f - this.mean[j]!;
        this.mean[j] = this.mean[j]! + delta / n;
        this.value[j] = this.value[j]! + delta * (f - this.mean[j]!);
        break;
      }
    }
  }

  result(op: FoldOp, j: number): number {
    const v = this.value[j]!, n = this.count[j]!, c = this.kahanC[j]!;
    switch (op) {
      case 'sum': return Number.isFinite(v) ? v + c : v;
      case 'avg': return this.incremental[j] ? this.mean[j]! + c : v / n + c / n;
      case 'count': return n;
      case 'group': return 1;
      case 'stdvar': return v / n;
      case 'stddev': return Math.sqrt(v / n);
      default: return v;
    }
  }
}

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

export function computeGroupingKey(l: Labels, e: AggregateExpr): string {
  let k = '';
  for (const x of l) {
    const listed = e.grouping.includes(x.name);
    if (e.without ? !listed && x.name !== METRIC_NAME : listed) k += x.name + KEY_NAME_END + x.value + KEY_VALUE_END;
  }
  return k;
}

export function groupingMetric(l: Labels, e: AggregateExpr): Labels {
  return e.without
    ? l.filter((x) => !e.grouping.includes(x.name) && x.name !== METRIC_NAME)
    : l.filter((x) => e.grouping.includes(x.name));
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

/** Go strconv.FormatFloat(f, 'f', -1, 64). */
export function formatFloatF(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  const s = String(f);
  if (!s.includes('e')) return s;
  const [mant, expS] = s.split('e') as [string, string];
  const exp = Number(expS);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const intLen = mant.replace('-', '').split('.')[0]!.length + exp;
  let out: string;
  if (intLen <= 0) out = '0.' + '0'.repeat(-intLen) + digits;
  else if (intLen >= digits.length) out = digits + '0'.repeat(intLen - digits.length);
  else out = digits.slice(0, intLen) + '.' + digits.slice(intLen);
  return (neg ? '-' : '') + out;
}
