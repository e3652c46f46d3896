// Aggregation groups and their running state, shared by the aggregation operators (aggregate.ts,
// histogram/aggregate.ts) and the range-query fast path (range-eval.ts).
import { KEY_NAME_END, KEY_VALUE_END, METRIC_NAME, type Labels } from '../../shared/labels';
import type { AggregateExpr } from './ast';
import { kahan, kahanAdd } from './numeric';

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

export function computeGroupingKey(l: Labels, e: AggregateExpr): string {
  // `by (one)`, the common case: the value itself ('' when absent, as an empty value is), no
  // string built to hash anew; the worker's label sets, kept between queries, keep their strings' hashes.
  if (!e.without && e.grouping.length === 1) {
    const name = e.grouping[0]!;
    for (const x of l) if (x.name === name) return x.value;
    return '';
  }
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
