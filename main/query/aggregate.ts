// Aggregation operators with by/without.
import type { Labels } from '../../shared/labels';
import { METRIC_NAME, labelsKey } from '../../shared/labels';
import type { AggregateExpr } from './ast';
import type { Evaluator } from './engine';
import { formatG, kahan, kahanAdd, quantile } from './functions';
import { isValidLabelName, quoteGo } from './strings';
import { type Sample, QueryError } from './values';

interface Group {
  metric: Labels;
  value: number;
  kahanC: number;
  mean: number;
  count: number;
  incremental: boolean;
  dropName: boolean;
  samples: Sample[];
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

function computeGroupingKey(l: Labels, e: AggregateExpr): string {
  let k = '';
  for (const x of l) {
    const listed = e.grouping.includes(x.name);
    if (e.without ? !listed && x.name !== METRIC_NAME : listed) k += x.name + '\xfe' + x.value + '\xff';
  }
  return k;
}

function groupingMetric(l: Labels, e: AggregateExpr): Labels {
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
  const input = inV.type === 'vector' ? inV.v : [];
  switch (e.op) {
    case 'topk':
    case 'bottomk':
    case 'limitk':
      if (Number.isNaN(param)) throw new QueryError('Parameter value is NaN');
      return kAggregate(e, input, param);
    case 'limit_ratio':
      if (Number.isNaN(param)) throw new QueryError('Ratio value is NaN');
      if (param < -1 || param > 1) {
        const capped = Math.max(-1, Math.min(1, param));
        ev.warn(`ratio value should be between -1 and 1, got ${formatG(param)}, capping to ${formatG(capped)}`, e.param!);
        param = capped;
      }
      return input.filter((s) => (param >= 0 ? ratioOffset(s.metric) < param : ratioOffset(s.metric) >= 1 + param));
    case 'count_values':
      if (!isValidLabelName(label)) throw new QueryError(`invalid label name ${quoteGo(label)}`);
      return countValues(e, input, label, t);
    case 'quantile':
      if (Number.isNaN(param) || param < 0 || param > 1) ev.warn(`quantile value should be between 0 and 1, got ${formatG(param)}`, e.param!);
      break;
    default:
      break;
  }
  const groups = new Map<string, Group>();
  for (const s of input) {
    const k = groupingKey(s.metric, e);
    const f = s.f;
    const g = groups.get(k);
    if (!g) {
      groups.set(k, {
        metric: groupingMetric(s.metric, e), value: e.op === 'stddev' || e.op === 'stdvar' ? (Number.isFinite(f) ? 0 : NaN) : f, kahanC: 0, mean: f,
        count: 1, incremental: false, dropName: s.dropName, samples: e.op === 'quantile' ? [s] : [],
      });
      continue;
    }
    if (s.dropName) g.dropName = true;
    switch (e.op) {
      case 'sum':
        kahanAdd(f, g.value, g.kahanC);
        g.value = kahan.sum;
        g.kahanC = kahan.c;
        break;
      case 'avg': {
        g.count++;
        if (!g.incremental) {
          kahanAdd(f, g.value, g.kahanC);
          const nv = kahan.sum, nc = kahan.c;
          if (Number.isFinite(nv) || Number.isNaN(nv)) {
            g.value = nv;
            g.kahanC = nc;
            break;
          }
          g.incremental = true;
          g.mean = g.value / (g.count - 1);
          g.kahanC /= g.count - 1;
        }
        const q = (g.count - 1) / g.count;
        kahanAdd(f / g.count, q * g.mean, q * g.kahanC);
        g.mean = kahan.sum;
        g.kahanC = kahan.c;
        break;
      }
      case 'max':
        if (g.value < f || Number.isNaN(g.value)) g.value = f;
        break;
      case 'min':
        if (g.value > f || Number.isNaN(g.value)) g.value = f;
        break;
      case 'count':
        g.count++;
        break;
      case 'group':
        break;
      case 'stddev':
      case 'stdvar': {
        g.count++;
        const delta = f - g.mean;
        g.mean += delta / g.count;
        g.value += delta * (f - g.mean);
        break;
      }
      case 'quantile':
        g.samples.push(s);
        break;
      default:
        break;
    }
  }
  const out: Sample[] = [];
  for (const g of groups.values()) {
    let v = g.value;
    switch (e.op) {
      case 'sum': v = Number.isFinite(g.value) ? g.value + g.kahanC : g.value; break;
      case 'avg': v = g.incremental ? g.mean + g.kahanC : g.value / g.count + g.kahanC / g.count; break;
      case 'count': v = g.count; break;
      case 'group': v = 1; break;
      case 'stdvar': v = g.value / g.count; break;
      case 'stddev': v = Math.sqrt(g.value / g.count); break;
      case 'quantile': v = quantile(param, g.samples.map((s) => s.f)); break;
      default: break;
    }
    out.push({ metric: g.metric, f: v, t, dropName: g.dropName });
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

/** A stable pseudo-random position in [0, 1) per label set (FNV-1a), for limit_ratio. */
function ratioOffset(l: Labels): number {
  let h = 0x811c9dc5;
  const k = labelsKey(l);
  for (let i = 0; i < k.length; i++) {
    h ^= k.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 0x100000000;
}

function countValues(e: AggregateExpr, input: Sample[], label: string, t: number): Sample[] {
  const groups = new Map<string, Sample>();
  for (const s of input) {
    const value = formatFloatF(s.f);
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
