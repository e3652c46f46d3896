// Values flowing through the evaluator, and the query errors it raises.
import type { Labels } from '../../shared/labels';
import { METRIC_NAME, labelsKey } from '../../shared/labels';
import type { FloatHistogram } from '../tsdb/histogram';

/** One element of an instant vector. `t` is the sample's own timestamp for raw selector output. */
export interface Sample {
  metric: Labels;
  f: number;
  t: number;
  /** Delayed __name__ removal: the name is dropped when the query finishes. */
  dropName: boolean;
  /** A native histogram sample (then `f` is unused); absent for floats. */
  h?: FloatHistogram;
}

/**
 * One series of a range vector at one evaluation step: the points [lo, hi) of ts/fs, which are
 * shared with the loaded series (no per-step copies or typed-array views).
 */
export interface Series {
  metric: Labels;
  ts: ArrayLike<number>;
  fs: ArrayLike<number>;
  lo: number;
  hi: number;
  dropName: boolean;
  /** Optional prefix counts of value drops (see range-eval.ts), so counter functions skip reset-free windows. */
  resets?: Int32Array;
  /**
   * Native histograms, parallel to ts: hs[i] is point i's histogram, undefined where point i is a
   * float. Absent when the series has no histogram at all (the float fast path).
   */
  hs?: ArrayLike<FloatHistogram | undefined>;
}

export interface MatrixValue {
  type: 'matrix';
  series: Series[];
  /** The selected window (rangeStart, rangeEnd] in ms, for extrapolating functions. */
  rangeStart: number;
  rangeEnd: number;
}

export type Value =
  | { type: 'scalar'; v: number }
  | { type: 'string'; v: string }
  | { type: 'vector'; v: Sample[] }
  | MatrixValue;

export type QueryErrorKind = 'execution' | 'timeout' | 'canceled' | 'bad_data';

export class QueryError extends Error {
  constructor(
    message: string,
    readonly kind: QueryErrorKind = 'execution',
  ) {
    super(message);
    this.name = 'QueryError';
  }
}

export const TOO_MANY_SAMPLES = 'query processing would load too many samples into memory in query execution';

// Label sets are immutable and shared between steps, so per-set derivations are memoized.
const keys = new WeakMap<Labels, string>();
const withoutName = new WeakMap<Labels, Labels>();

/** labelsKey, memoized per label set. */
export function keyOf(l: Labels): string {
  let k = keys.get(l);
  if (k === undefined) {
    k = labelsKey(l);
    keys.set(l, k);
  }
  return k;
}

/** Dropping the metric name drops the other metadata labels too (Prometheus's DropReserved). */
const isMetadataLabel = (name: string): boolean => name === METRIC_NAME || name === '__type__' || name === '__unit__';

export function dropMetricName(l: Labels): Labels {
  let d = withoutName.get(l);
  if (d === undefined) {
    d = l.some((x) => isMetadataLabel(x.name)) ? l.filter((x) => !isMetadataLabel(x.name)) : l;
    withoutName.set(l, d);
  }
  return d;
}

/** Applies pending name drops and rejects duplicate label sets (Prometheus's final cleanup). */
export function finishVector(v: Sample[]): Sample[] {
  const seen = new Set<string>();
  for (const s of v) {
    if (s.dropName) {
      s.metric = dropMetricName(s.metric);
      s.dropName = false;
    }
    const k = keyOf(s.metric);
    if (seen.has(k)) throw new QueryError('vector cannot contain metrics with the same labelset');
    seen.add(k);
  }
  return v;
}

/** The metric name of a label set ('' when none). */
export function metricName(l: Labels): string {
  for (const x of l) if (x.name === METRIC_NAME) return x.value;
  return '';
}

export const SAME_LABELSET = 'vector cannot contain metrics with the same labelset';

/**
 * Whether two of the label sets `at(i)` (i < n, where `include(i)`) are equal once the name and
 * the other metadata labels are dropped. Each set's 53-bit hash (kept per set: a dashboard asks
 * again) goes into a table of typed arrays; only sets whose hashes meet are compared, and a meeting
 * of unequal sets hands the question to the exact check. Key strings without the name in a Set
 * took 130–145 ms a query over 100,000 series.
 */
export function namelessCollide(n: number, at: (i: number) => Labels, include: (i: number) => boolean): boolean {
  let size = 16;
  while (size < 2 * n) size *= 2;
  const mask = size - 1;
  const first = new Int32Array(size).fill(-1);
  const hashes = new Float64Array(size);
  for (let i = 0; i < n; i++) {
    if (!include(i)) continue;
    const h = namelessHash(at(i));
    let slot = (h >>> 0) & mask;
    for (; first[slot]! >= 0; slot = (slot + 1) & mask) {
      if (hashes[slot] !== h) continue;
      if (sameWithoutName(at(i), at(first[slot]!))) return true;
      return collideByKeys(n, at, include); // two different sets, one hash
    }
    first[slot] = i;
    hashes[slot] = h;
  }
  return false;
}

function collideByKeys(n: number, at: (i: number) => Labels, include: (i: number) => boolean): boolean {
  const keys = new Set<string>();
  for (let i = 0; i < n; i++) {
    if (!include(i)) continue;
    const key = keyOf(dropMetricName(at(i)));
    if (keys.has(key)) return true;
    keys.add(key);
  }
  return false;
}

const namelessHashes = new WeakMap<Labels, number>();

/** Two FNV-1a-like 32-bit lanes over the non-metadata labels' strings (each string's length mixed in after it), as 53 bits. */
function namelessHash(l: Labels): number {
  let h = namelessHashes.get(l);
  if (h !== undefined) return h;
  let a = 0x811c9dc5 | 0;
  let b = 0x01000193 | 0;
  for (const x of l) {
    if (isMetadataLabel(x.name)) continue;
    for (let s = 0; s < 2; s++) {
      const str = s === 0 ? x.name : x.value;
      for (let i = 0; i < str.length; i++) {
        const c = str.charCodeAt(i);
        a = Math.imul(a ^ c, 0x01000193);
        b = Math.imul(b ^ c, 0x5bd1e995);
      }
      a = Math.imul(a ^ (str.length + 0x10000), 0x01000193);
      b = Math.imul(b ^ (str.length + 0x10000), 0x5bd1e995);
    }
  }
  h = (b >>> 11) * 0x100000000 + (a >>> 0);
  namelessHashes.set(l, h);
  return h;
}

function sameWithoutName(x: Labels, y: Labels): boolean {
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < x.length && isMetadataLabel(x[i]!.name)) i++;
    while (j < y.length && isMetadataLabel(y[j]!.name)) j++;
    if (i === x.length || j === y.length) return i === x.length && j === y.length;
    if (x[i]!.name !== y[j]!.name || x[i]!.value !== y[j]!.value) return false;
    i++;
    j++;
  }
}

/** Fails when two samples share their labels (without the name where it is dropped); returns v. */
export function checkNoDuplicates(v: Sample[]): Sample[] {
  const seen = new Set<string>();
  for (const s of v) {
    const k = keyOf(s.dropName ? dropMetricName(s.metric) : s.metric);
    if (seen.has(k)) throw new QueryError(SAME_LABELSET);
    seen.add(k);
  }
  return v;
}
