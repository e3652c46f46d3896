// Native-histogram arithmetic for the query engine, after the semantics of Prometheus's
// model/histogram (FloatHistogram Add/Sub/Mul/Div/DetectReset/Compact): schemas are reduced to the
// lower of the two, zero buckets widened to the larger threshold, custom-bucket (NHCB) layouts
// reconciled to the bounds both share. Histograms are immutable here: every operation returns a
// new FloatHistogram, compacted (no empty buckets), which is the form Prometheus answers with.
import type { CounterResetHint, FloatHistogram, Span } from '../../tsdb/histogram';
import { CUSTOM_BUCKETS_SCHEMA } from '../../tsdb/histogram';

/** Buckets of one sign as ascending indexes with their counts. */
export interface BucketList {
  idx: number[];
  cnt: number[];
}

/** A histogram being computed on: bucket lists instead of spans. */
export interface WorkHistogram {
  hint: CounterResetHint;
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  pos: BucketList;
  neg: BucketList;
  customValues?: readonly number[];
}

/** One bucket with its bounds, as Prometheus's Bucket (bounds inclusive where flagged). */
export interface Bucket {
  lower: number;
  upper: number;
  lowerInclusive: boolean;
  upperInclusive: boolean;
  count: number;
  index: number;
}

/** Adding histograms with exponential and custom buckets is undefined: Prometheus's ErrHistogramsIncompatibleSchema. */
export class IncompatibleSchemaError extends Error {
  constructor() {
    super('cannot apply this operation on histograms with a mix of exponential and custom bucket schemas');
  }
}

export const usesCustomBuckets = (h: { schema: number }): boolean => h.schema === CUSTOM_BUCKETS_SCHEMA;

export function expand(spans: readonly Span[], buckets: readonly number[]): BucketList {
  const idx: number[] = [], cnt: number[] = [];
  let at = 0, b = 0;
  for (const s of spans) {
    // The first span's offset is the first bucket's index; later ones count the gap after the previous span.
    at += s.offset;
    for (let k = 0; k < s.length; k++) {
      idx.push(at + k);
      cnt.push(buckets[b++] ?? 0);
    }
    at += s.length;
  }
  return { idx, cnt };
}

export function toWork(h: FloatHistogram): WorkHistogram {
  return {
    hint: h.counterResetHint, schema: h.schema, zeroThreshold: h.zeroThreshold, zeroCount: h.zeroCount, count: h.count, sum: h.sum,
    pos: expand(h.positiveSpans, h.positiveBuckets), neg: expand(h.negativeSpans, h.negativeBuckets),
    ...(h.customValues ? { customValues: h.customValues } : {}),
  };
}

/** Spans and counts of a bucket list; empty buckets are dropped when `compact` (Prometheus's Compact(0)). */
export function toSpans(b: BucketList, compact = true): { spans: Span[]; buckets: number[] } {
  const spans: Span[] = [], buckets: number[] = [];
  let next = 0;
  for (let i = 0; i < b.idx.length; i++) {
    const c = b.cnt[i]!;
    if (compact && c === 0) continue;
    const x = b.idx[i]!;
    const last = spans[spans.length - 1];
    if (last && x === next) spans[spans.length - 1] = { offset: last.offset, length: last.length + 1 };
    else spans.push({ offset: spans.length === 0 ? x : x - next, length: 1 });
    buckets.push(c);
    next = x + 1;
  }
  return { spans, buckets };
}

export function fromWork(w: WorkHistogram, compact = true): FloatHistogram {
  const p = toSpans(w.pos, compact), n = toSpans(w.neg, compact);
  return {
    counterResetHint: w.hint, schema: w.schema, zeroThreshold: w.zeroThreshold, zeroCount: w.zeroCount, count: w.count, sum: w.sum,
    positiveSpans: p.spans, positiveBuckets: p.buckets, negativeSpans: n.spans, negativeBuckets: n.buckets,
    ...(w.customValues ? { customValues: w.customValues } : {}),
  };
}

/** Drops empty buckets and merges adjacent spans. */
export function compact(h: FloatHistogram): FloatHistogram {
  return fromWork(toWork(h));
}

const copyList = (b: BucketList): BucketList => ({ idx: [...b.idx], cnt: [...b.cnt] });

// ---- bucket bounds ----

/** Upper bound of bucket idx (Prometheus's getBound); idx −1 of custom buckets is −Inf. */
export function bound(idx: number, schema: number, customValues?: readonly number[]): number {
  if (schema === CUSTOM_BUCKETS_SCHEMA) {
    const n = customValues?.length ?? 0;
    if (idx === n) return Infinity;
    if (idx === -1) return -Infinity;
    return customValues![idx]!;
  }
  if (schema < 0) {
    const exp = idx * 2 ** -schema;
    if (exp === 1024) return Number.MAX_VALUE;
    return 2 ** exp;
  }
  const per = 2 ** schema;
  const whole = Math.floor(idx / per), frac = idx - whole * per;
  if (frac === 0 && whole === 1024) return Number.MAX_VALUE;
  return 2 ** whole * rootsOfTwo(schema)[frac]!;
}

const rootTables = new Map<number, Float64Array>();

/**
 * 2^(j/2^schema) for j < 2^schema, correctly rounded, the same on every platform (Math.pow is
 * neither): computed in 256-bit fixed point from repeated square roots of 2. Prometheus uses a
 * table of its own whose entries are sometimes one ulp apart from these; no query answer within
 * the scripts' tolerance depends on that last bit.
 */
function rootsOfTwo(schema: number): Float64Array {
  let t = rootTables.get(schema);
  if (t) return t;
  const BITS = 256n, ONE = 1n << BITS;
  const isqrt = (n: bigint): bigint => {
    let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2) + 1); // above the root: Newton descends
    for (;;) {
      const y = (x + n / x) >> 1n;
      if (y >= x) return x;
      x = y;
    }
  };
  let root = 2n * ONE;
  for (let k = 0; k < schema; k++) root = isqrt(root << BITS);
  const n = 2 ** schema;
  t = new Float64Array(n);
  let v = ONE;
  for (let j = 0; j < n; j++) {
    // v in [1, 2): keep 52 fraction bits, rounding to nearest.
    const shift = BITS - 52n;
    const m = (v + (1n << (shift - 1n))) >> shift;
    t[j] = Number(m) / 2 ** 52;
    v = (v * root) >> BITS;
  }
  rootTables.set(schema, t);
  return t;
}

/** Bucket idx of `schema` lands in bucket targetIdx of the coarser `target`. */
export function targetIdx(idx: number, schema: number, target: number): number {
  return Math.floor((idx - 1) / 2 ** (schema - target)) + 1;
}

function reduceList(b: BucketList, schema: number, target: number): BucketList {
  if (schema === target) return copyList(b);
  const out: BucketList = { idx: [], cnt: [] };
  for (let i = 0; i < b.idx.length; i++) {
    const t = targetIdx(b.idx[i]!, schema, target);
    const n = out.idx.length;
    if (n > 0 && out.idx[n - 1] === t) out.cnt[n - 1] = out.cnt[n - 1]! + b.cnt[i]!;
    else {
      out.idx.push(t);
      out.cnt.push(b.cnt[i]!);
    }
  }
  return out;
}

/** The histogram in a coarser schema (Prometheus's CopyToSchema). */
export function toSchema(h: FloatHistogram, target: number): FloatHistogram {
  if (target === h.schema || usesCustomBuckets(h)) return h;
  const w = toWork(h);
  w.pos = reduceList(w.pos, h.schema, target);
  w.neg = reduceList(w.neg, h.schema, target);
  w.schema = target;
  return fromWork(w, false);
}

function posBucket(w: WorkHistogram, i: number): Bucket {
  const x = w.pos.idx[i]!;
  const custom = usesCustomBuckets(w);
  const upper = bound(x, w.schema, w.customValues), lower = bound(x - 1, w.schema, w.customValues);
  return {
    lower, upper, count: w.pos.cnt[i]!, index: x,
    lowerInclusive: custom ? x === 0 : lower < 0, upperInclusive: custom ? true : upper > 0,
  };
}

function negBucket(w: WorkHistogram, i: number): Bucket {
  const x = w.neg.idx[i]!;
  const lower = -bound(x, w.schema), upper = -bound(x - 1, w.schema);
  return { lower, upper, count: w.neg.cnt[i]!, index: x, lowerInclusive: lower < 0, upperInclusive: upper > 0 };
}

/** Every bucket in ascending order of value: negative, zero (when populated), positive (AllBucketIterator). */
export function allBuckets(h: FloatHistogram | WorkHistogram): Bucket[] {
  const w = 'pos' in h ? h : toWork(h);
  const out: Bucket[] = [];
  const zt = w.zeroThreshold;
  const clip = (b: Bucket): Bucket => {
    if (b.upper < 0 && b.upper > -zt) b.upper = -zt;
    else if (b.lower > 0 && b.lower < zt) b.lower = zt;
    return b;
  };
  for (let i = w.neg.idx.length - 1; i >= 0; i--) out.push(clip(negBucket(w, i)));
  if (w.zeroCount > 0) {
    out.push({ lower: -zt, upper: zt, lowerInclusive: true, upperInclusive: true, count: w.zeroCount, index: 0 });
  }
  for (let i = 0; i < w.pos.idx.length; i++) out.push(clip(posBucket(w, i)));
  return out;
}

// ---- zero buckets ----

/** Zero count after widening the zero bucket to `larger` (adjusted up to a populated bucket's bound). */
function zeroCountForLargerThreshold(w: WorkHistogram, largerIn: number): { zc: number; threshold: number } {
  let larger = largerIn;
  if (larger === w.zeroThreshold) return { zc: w.zeroCount, threshold: larger };
  outer: for (;;) {
    let zc = w.zeroCount;
    for (let i = 0; i < w.pos.idx.length; i++) {
      const b = posBucket(w, i);
      if (b.lower >= larger) break;
      zc += b.count;
      if (b.upper > larger) {
        if (b.count !== 0) larger = b.upper;
        break;
      }
    }
    for (let i = 0; i < w.neg.idx.length; i++) {
      const b = negBucket(w, i);
      if (b.upper <= -larger) break;
      zc += b.count;
      if (b.lower < -larger) {
        if (b.count !== 0) {
          larger = -b.lower;
          continue outer;
        }
        break;
      }
    }
    return { zc, threshold: larger };
  }
}

/** Removes the buckets now inside the zero bucket (their counts are in the zero count already). */
function trimBucketsInZeroBucket(w: WorkHistogram): void {
  const keepPos: BucketList = { idx: [], cnt: [] }, keepNeg: BucketList = { idx: [], cnt: [] };
  for (let i = 0; i < w.pos.idx.length; i++) {
    if (posBucket(w, i).lower >= w.zeroThreshold) {
      keepPos.idx.push(w.pos.idx[i]!);
      keepPos.cnt.push(w.pos.cnt[i]!);
    }
  }
  for (let i = 0; i < w.neg.idx.length; i++) {
    if (negBucket(w, i).upper <= -w.zeroThreshold) {
      keepNeg.idx.push(w.neg.idx[i]!);
      keepNeg.cnt.push(w.neg.cnt[i]!);
    }
  }
  w.pos = keepPos;
  w.neg = keepNeg;
}

/** Widens w's and other's zero buckets to one threshold; returns other's zero count at it. */
function reconcileZeroBuckets(w: WorkHistogram, other: WorkHistogram): number {
  let otherZc = other.zeroCount, otherZt = other.zeroThreshold;
  while (otherZt !== w.zeroThreshold) {
    if (w.zeroThreshold > otherZt) {
      const r = zeroCountForLargerThreshold(other, w.zeroThreshold);
      otherZc = r.zc;
      otherZt = r.threshold;
    }
    if (otherZt > w.zeroThreshold) {
      const r = zeroCountForLargerThreshold(w, otherZt);
      w.zeroCount = r.zc;
      w.zeroThreshold = r.threshold;
      trimBucketsInZeroBucket(w);
    }
  }
  return otherZc;
}

// ---- addition and subtraction ----

/** a ± b bucket-wise; b's buckets whose absolute upper bound is ≤ threshold are left out (they are in the zero bucket). */
function addLists(a: BucketList, b: BucketList, sign: 1 | -1, skip?: (idx: number) => boolean): BucketList {
  const out: BucketList = { idx: [], cnt: [] };
  let i = 0, j = 0;
  while (i < a.idx.length || j < b.idx.length) {
    if (j < b.idx.length && skip?.(b.idx[j]!)) {
      j++;
      continue;
    }
    const ai = i < a.idx.length ? a.idx[i]! : Infinity, bj = j < b.idx.length ? b.idx[j]! : Infinity;
    if (ai < bj) {
      out.idx.push(ai);
      out.cnt.push(a.cnt[i++]!);
    } else if (bj < ai) {
      out.idx.push(bj);
      out.cnt.push(sign * b.cnt[j++]!);
    } else {
      out.idx.push(ai);
      out.cnt.push(a.cnt[i++]! + sign * b.cnt[j++]!);
    }
  }
  return out;
}

export function customBoundsMatch(a?: readonly number[], b?: readonly number[]): boolean {
  const x = a ?? [], y = b ?? [];
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function intersectBounds(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push(a[i]!);
      i++;
      j++;
    } else if (a[i]! < b[j]!) i++;
    else j++;
  }
  return out;
}

/** A custom-bucket list mapped onto coarser bounds (a subset of its own): counts of merged buckets add up. */
function mapCustom(b: BucketList, from: readonly number[], to: readonly number[]): BucketList {
  const counts = new Map<number, number>();
  for (let i = 0; i < b.idx.length; i++) {
    const x = b.idx[i]!;
    const upper = x < from.length ? from[x]! : Infinity;
    let t = 0;
    while (t < to.length && to[t]! < upper) t++;
    counts.set(t, (counts.get(t) ?? 0) + b.cnt[i]!);
  }
  const idx = [...counts.keys()].sort((p, q) => p - q);
  return { idx, cnt: idx.map((x) => counts.get(x)!) };
}

/** Outcome of Add/Sub: the result and what Prometheus reports about it. */
export interface Combined {
  h: FloatHistogram;
  /** One side said counter reset, the other not (a warning). */
  counterResetCollision: boolean;
  /** NHCB bounds differed and were reduced to the shared ones (an info). */
  boundsReconciled: boolean;
}

function adjustHint(a: CounterResetHint, b: CounterResetHint): { hint: CounterResetHint; collision: boolean } {
  if (a === b || a === 'gauge') return { hint: a, collision: false };
  if (b === 'gauge') return { hint: 'gauge', collision: false };
  if (a === 'unknown' || b === 'unknown') return { hint: 'unknown', collision: false };
  return { hint: 'unknown', collision: true };
}

function combine(a: FloatHistogram, b: FloatHistogram, sign: 1 | -1, compactResult: boolean): Combined {
  if (usesCustomBuckets(a) !== usesCustomBuckets(b)) throw new IncompatibleSchemaError();
  const w = toWork(a), o = toWork(b);
  const { hint, collision } = adjustHint(a.counterResetHint, b.counterResetHint);
  w.hint = hint;
  let reconciled = false;
  if (usesCustomBuckets(w)) {
    w.count += sign * o.count;
    w.sum += sign * o.sum;
    if (customBoundsMatch(w.customValues, o.customValues)) w.pos = addLists(w.pos, o.pos, sign);
    else {
      reconciled = true;
      const bounds = intersectBounds(w.customValues ?? [], o.customValues ?? []);
      w.pos = addLists(mapCustom(w.pos, w.customValues ?? [], bounds), mapCustom(o.pos, o.customValues ?? [], bounds), sign);
      w.customValues = bounds;
    }
    return { h: fromWork(w, compactResult), counterResetCollision: collision, boundsReconciled: reconciled };
  }
  const otherZc = reconcileZeroBuckets(w, o);
  w.zeroCount += sign * otherZc;
  w.count += sign * o.count;
  w.sum += sign * o.sum;
  let op = o.pos, on = o.neg;
  if (o.schema < w.schema) {
    w.pos = reduceList(w.pos, w.schema, o.schema);
    w.neg = reduceList(w.neg, w.schema, o.schema);
    w.schema = o.schema;
  } else if (o.schema > w.schema) {
    op = reduceList(op, o.schema, w.schema);
    on = reduceList(on, o.schema, w.schema);
  }
  const zt = w.zeroThreshold, schema = w.schema;
  const inZero = (x: number): boolean => zt > 0 && bound(x, schema) <= zt;
  w.pos = addLists(w.pos, op, sign, inZero);
  w.neg = addLists(w.neg, on, sign, inZero);
  return { h: fromWork(w, compactResult), counterResetCollision: collision, boundsReconciled: reconciled };
}

/** a + b (Prometheus's FloatHistogram.Add), compacted. Throws IncompatibleSchemaError. */
export function add(a: FloatHistogram, b: FloatHistogram, compactResult = true): Combined {
  return combine(a, b, 1, compactResult);
}

/** a − b (Prometheus's FloatHistogram.Sub), compacted. Throws IncompatibleSchemaError. */
export function sub(a: FloatHistogram, b: FloatHistogram, compactResult = true): Combined {
  return combine(a, b, -1, compactResult);
}

// ---- scaling ----

export function mul(h: FloatHistogram, f: number): FloatHistogram {
  return {
    ...h,
    zeroCount: h.zeroCount * f, count: h.count * f, sum: h.sum * f,
    positiveBuckets: h.positiveBuckets.map((c) => c * f), negativeBuckets: h.negativeBuckets.map((c) => c * f),
    counterResetHint: f < 0 ? 'gauge' : h.counterResetHint,
  };
}

export function div(h: FloatHistogram, d: number): FloatHistogram {
  if (d === 0) {
    return {
      ...h, zeroCount: h.zeroCount / d, count: h.count / d, sum: h.sum / d,
      positiveSpans: [], positiveBuckets: [], negativeSpans: [], negativeBuckets: [],
    };
  }
  return {
    ...h,
    zeroCount: h.zeroCount / d, count: h.count / d, sum: h.sum / d,
    positiveBuckets: h.positiveBuckets.map((c) => c / d), negativeBuckets: h.negativeBuckets.map((c) => c / d),
    counterResetHint: d < 0 ? 'gauge' : h.counterResetHint,
  };
}

export function withHint(h: FloatHistogram, hint: CounterResetHint): FloatHistogram {
  return h.counterResetHint === hint ? h : { ...h, counterResetHint: hint };
}

export function hasOverflow(h: FloatHistogram): boolean {
  const inf = (x: number): boolean => x === Infinity || x === -Infinity;
  return inf(h.zeroCount) || inf(h.count) || inf(h.sum) || h.positiveBuckets.some(inf) || h.negativeBuckets.some(inf);
}

// ---- comparison and resets ----

const sameBits = (a: number, b: number): boolean => Object.is(a, b);

/** Exact equality of layout and values (Prometheus's Equals: spans may differ only by empty spans). */
export function equals(a: FloatHistogram, b: FloatHistogram): boolean {
  if (a.schema !== b.schema || !sameBits(a.count, b.count) || !sameBits(a.sum, b.sum)) return false;
  if (usesCustomBuckets(a)) {
    if (!customBoundsMatch(a.customValues, b.customValues)) return false;
  } else if (a.zeroThreshold !== b.zeroThreshold || !sameBits(a.zeroCount, b.zeroCount)) return false;
  const listEq = (x: BucketList, y: BucketList): boolean =>
    x.idx.length === y.idx.length && x.idx.every((v, i) => v === y.idx[i] && sameBits(x.cnt[i]!, y.cnt[i]!));
  const wa = toWork(a), wb = toWork(b);
  return listEq(wa.pos, wb.pos) && listEq(wa.neg, wb.neg);
}

/** Buckets of `b` that are not within the zero bucket of width zt, as index → count. */
function bucketsAbove(b: BucketList, schema: number, zt: number, custom: boolean): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < b.idx.length; i++) {
    const x = b.idx[i]!;
    if (!custom && bound(x, schema) <= zt) continue;
    m.set(x, b.cnt[i]!);
  }
  return m;
}

function listReset(cur: Map<number, number>, prev: Map<number, number>): boolean {
  for (const [x, c] of prev) {
    const now = cur.get(x);
    if (now === undefined ? c !== 0 : now < c) return true;
  }
  return false;
}

/** Whether `cur` follows `prev` only after a counter reset (Prometheus's DetectReset). */
export function detectReset(cur: FloatHistogram, prev: FloatHistogram): boolean {
  if (cur.counterResetHint === 'reset') return true;
  if (cur.counterResetHint === 'not_reset') return false;
  if (cur.count < prev.count) return true;
  const custom = usesCustomBuckets(cur);
  if (custom) {
    if (!usesCustomBuckets(prev)) return true;
    if (!customBoundsMatch(cur.customValues, prev.customValues)) {
      const bounds = intersectBounds(cur.customValues ?? [], prev.customValues ?? []);
      const c = mapCustom(toWork(cur).pos, cur.customValues ?? [], bounds), p = mapCustom(toWork(prev).pos, prev.customValues ?? [], bounds);
      return listReset(bucketsAbove(c, cur.schema, 0, true), bucketsAbove(p, cur.schema, 0, true));
    }
  }
  if (cur.schema > prev.schema) return true;
  if (cur.zeroThreshold < prev.zeroThreshold) return true;
  const pw = toWork(prev);
  const { zc, threshold } = zeroCountForLargerThreshold(pw, cur.zeroThreshold);
  if (threshold !== cur.zeroThreshold) return true;
  if (cur.zeroCount < zc) return true;
  const cw = toWork(cur);
  const zt = cur.zeroThreshold;
  for (const sign of ['pos', 'neg'] as const) {
    const c = bucketsAbove(cw[sign], cur.schema, zt, custom);
    const p = bucketsAbove(reduceList(pw[sign], prev.schema, custom ? prev.schema : cur.schema), cur.schema, zt, custom);
    if (listReset(c, p)) return true;
  }
  return false;
}

/** The string Prometheus's FloatHistogram.String() gives (count_values labels). */
export function histogramString(h: FloatHistogram): string {
  const w = toWork(h);
  const parts: string[] = [`{count:${goG(h.count)}, sum:${goG(h.sum)}`];
  const text = (b: Bucket): string => `${b.lowerInclusive ? '[' : '('}${goG(b.lower)},${goG(b.upper)}${b.upperInclusive ? ']' : ')'}:${goG(b.count)}`;
  // Raw bucket bounds (not clipped to the zero bucket), negative buckets first, as Prometheus prints them.
  for (let i = w.neg.idx.length - 1; i >= 0; i--) if (w.neg.cnt[i] !== 0) parts.push(text(negBucket(w, i)));
  if (w.zeroCount !== 0) parts.push(text({ lower: -w.zeroThreshold, upper: w.zeroThreshold, lowerInclusive: true, upperInclusive: true, count: w.zeroCount, index: 0 }));
  for (let i = 0; i < w.pos.idx.length; i++) if (w.pos.cnt[i] !== 0) parts.push(text(posBucket(w, i)));
  return `${parts.join(', ')}}`;
}

function goG(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  return s.replace(/e\+?(-?)(\d)$/, 'e$1' + '0$2').replace(/e(-?\d+)$/, (_m, d: string) => 'e' + (d.startsWith('-') ? d : '+' + d));
}

// ---- sums and means of many histograms ----

/** Kahan-Babuska increment of one slot (Prometheus's kahansum.Inc). */
function kahanInc(inc: number, sum: number, c: number): [number, number] {
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) return [t, 0];
  return [t, Math.abs(sum) >= Math.abs(inc) ? c + (sum - t + inc) : c + (inc - t + sum)];
}

interface Layout {
  template: WorkHistogram;
  pos: number[];
  neg: number[];
}

/**
 * The histograms on one bucket layout (the lowest schema, the widest zero bucket, the custom
 * bounds all share), each as a vector [count, sum, zeroCount, positive…, negative…], so sums and
 * means can run slot by slot with compensated summation. Throws IncompatibleSchemaError.
 */
function align(hs: readonly FloatHistogram[]): { layout: Layout; vectors: Float64Array[]; reconciled: boolean; hint: CounterResetHint } {
  let acc = hs[0]!;
  let reconciled = false;
  let hint = acc.counterResetHint;
  for (let i = 1; i < hs.length; i++) {
    const r = add(acc, hs[i]!, false);
    acc = r.h;
    reconciled ||= r.boundsReconciled;
    hint = adjustHint(hint, hs[i]!.counterResetHint).hint;
  }
  const template = toWork(acc);
  const pos = template.pos.idx, neg = template.neg.idx;
  const posAt = new Map(pos.map((x, i) => [x, i] as const)), negAt = new Map(neg.map((x, i) => [x, i] as const));
  const vectors = hs.map((h) => {
    let w = toWork(h);
    if (usesCustomBuckets(w)) {
      if (!customBoundsMatch(w.customValues, template.customValues)) w.pos = mapCustom(w.pos, w.customValues ?? [], template.customValues ?? []);
    } else {
      if (w.schema !== template.schema) {
        w = { ...w, pos: reduceList(w.pos, w.schema, template.schema), neg: reduceList(w.neg, w.schema, template.schema), schema: template.schema };
      }
      if (w.zeroThreshold !== template.zeroThreshold) {
        const r = zeroCountForLargerThreshold(w, template.zeroThreshold);
        w.zeroCount = r.zc;
        w.zeroThreshold = r.threshold;
        trimBucketsInZeroBucket(w);
      }
    }
    const v = new Float64Array(3 + pos.length + neg.length);
    v[0] = w.count;
    v[1] = w.sum;
    v[2] = w.zeroCount;
    w.pos.idx.forEach((x, i) => {
      const at = posAt.get(x);
      if (at !== undefined) v[3 + at] = v[3 + at]! + w.pos.cnt[i]!;
    });
    w.neg.idx.forEach((x, i) => {
      const at = negAt.get(x);
      if (at !== undefined) v[3 + pos.length + at] = v[3 + pos.length + at]! + w.neg.cnt[i]!;
    });
    return v;
  });
  return { layout: { template, pos, neg }, vectors, reconciled, hint };
}

function fromVector(l: Layout, v: Float64Array, hint: CounterResetHint): FloatHistogram {
  const w: WorkHistogram = {
    ...l.template, hint, count: v[0]!, sum: v[1]!, zeroCount: v[2]!,
    pos: { idx: l.pos, cnt: Array.from(v.subarray(3, 3 + l.pos.length)) },
    neg: { idx: l.neg, cnt: Array.from(v.subarray(3 + l.pos.length)) },
  };
  return fromWork(w);
}

/** Outcome of sumOf/meanOf. */
export interface Aggregated {
  h: FloatHistogram;
  boundsReconciled: boolean;
}

/** The compensated sum of histograms (Prometheus's KahanAdd fold), compacted. Throws IncompatibleSchemaError. */
export function sumOf(hs: readonly FloatHistogram[]): Aggregated {
  const { layout, vectors, reconciled, hint } = align(hs);
  const n = vectors[0]!.length;
  const sum = new Float64Array(n), c = new Float64Array(n);
  sum.set(vectors[0]!);
  for (let k = 1; k < vectors.length; k++) {
    const v = vectors[k]!;
    for (let j = 0; j < n; j++) [sum[j], c[j]] = kahanInc(v[j]!, sum[j]!, c[j]!);
  }
  for (let j = 0; j < n; j++) if (Number.isFinite(sum[j]!)) sum[j] = sum[j]! + c[j]!;
  return { h: fromVector(layout, sum, hint), boundsReconciled: reconciled };
}

/**
 * The mean of histograms as Prometheus computes avg and avg_over_time: a compensated sum divided
 * by the count, switching to an incremental mean once the sum overflows.
 */
export function meanOf(hs: readonly FloatHistogram[]): Aggregated {
  const { layout, vectors, reconciled, hint } = align(hs);
  const n = vectors[0]!.length;
  let sum = Float64Array.from(vectors[0]!), c = new Float64Array(n);
  let mean: Float64Array | null = null;
  for (let k = 1; k < vectors.length; k++) {
    const v = vectors[k]!, count = k + 1;
    if (!mean) {
      const ns = new Float64Array(n), nc = new Float64Array(n);
      let overflow = false;
      for (let j = 0; j < n; j++) {
        [ns[j], nc[j]] = kahanInc(v[j]!, sum[j]!, c[j]!);
        if (ns[j] === Infinity || ns[j] === -Infinity) overflow = true; // Prometheus's HasOverflow
      }
      if (!overflow) {
        sum = ns;
        c = nc;
        continue;
      }
      mean = sum.map((x) => x / (count - 1));
      c = c.map((x) => x / (count - 1));
    }
    const q = (count - 1) / count;
    for (let j = 0; j < n; j++) [mean[j], c[j]] = kahanInc(v[j]! / count, q * mean[j]!, q * c[j]!);
  }
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) out[j] = mean ? mean[j]! + c[j]! : sum[j]! / vectors.length + c[j]! / vectors.length;
  return { h: fromVector(layout, out, hint), boundsReconciled: reconciled };
}

// ---- trimming (the </ and >/ operators) ----

function midpoint(lower: number, upper: number, positive: boolean, linear: boolean): number {
  const infL = lower === Infinity || lower === -Infinity, infU = upper === Infinity || upper === -Infinity;
  if (infL) {
    if (infU) return 0;
    return upper > 0 ? upper / 2 : upper;
  }
  if (infU) return lower;
  if (linear) return (lower + upper) / 2;
  const g = Math.sqrt(Math.abs(lower * upper));
  return positive ? g : -g;
}

function fractionBelowBucket(b: Bucket, v: number, linear: boolean): number {
  if (linear) return (v - b.lower) / (b.upper - b.lower);
  const logLower = Math.log2(Math.abs(b.lower)), logUpper = Math.log2(Math.abs(b.upper)), logV = Math.log2(Math.abs(v));
  if (v > 0) return (logV - logLower) / (logUpper - logLower);
  return 1 - (logV - logUpper) / (logLower - logUpper);
}

/** A bucket with an infinite bound cut at rhs: [kept count, midpoint of what is kept]. */
function trimInfiniteBucket(upperTrim: boolean, b: Bucket, rhs: number): [number, number] {
  const zeroIfInf = (x: number): number => (x === Infinity || x === -Infinity ? 0 : x);
  if (b.lower === -Infinity) {
    if (upperTrim) {
      if (rhs >= b.upper) return [b.count, 0];
      if (rhs > 0 && b.upper > 0 && b.upper !== Infinity) return [(b.count * rhs) / b.upper, rhs / 2];
      if (b.upper <= 0) return [b.count, rhs];
      return [0, zeroIfInf(b.upper)];
    }
    if (rhs <= b.lower) return [b.count, 0];
    if (rhs >= 0 && b.upper > rhs && b.upper !== Infinity) return [b.count * (1 - rhs / b.upper), (rhs + b.upper) / 2];
    return [0, zeroIfInf(b.upper)];
  }
  if (upperTrim) return [0, zeroIfInf(b.lower)];
  if (rhs >= b.lower) return [b.count, rhs];
  return [0, zeroIfInf(b.lower)];
}

function trimBucket(b: Bucket, rhs: number, upperTrim: boolean, positive: boolean, custom: boolean): [number, number] {
  if (b.lower === -Infinity || b.upper === Infinity) return trimInfiniteBucket(upperTrim, b, rhs);
  const under = rhs <= b.lower ? 0 : rhs >= b.upper ? b.count : b.count * fractionBelowBucket(b, rhs, custom);
  if (upperTrim) return [under, midpoint(b.lower, rhs, positive, custom)];
  return [b.count - under, midpoint(rhs, b.upper, positive, custom)];
}

function trimZeroBucket(h: WorkHistogram, rhs: number, hasNeg: boolean, hasPos: boolean, upperTrim: boolean): [number, number] {
  let lower = -h.zeroThreshold, upper = h.zeroThreshold;
  if (hasNeg && !hasPos) upper = 0;
  if (hasPos && !hasNeg) lower = 0;
  let fraction: number, mid: number;
  if (upperTrim) {
    if (rhs <= lower) return [0, 0];
    if (rhs >= upper) return [h.zeroCount, (lower + upper) / 2];
    fraction = (rhs - lower) / (upper - lower);
    mid = (lower + rhs) / 2;
  } else {
    if (rhs <= lower) return [h.zeroCount, (lower + upper) / 2];
    if (rhs >= upper) return [0, 0];
    fraction = (upper - rhs) / (upper - lower);
    mid = (rhs + upper) / 2;
  }
  return [h.zeroCount * fraction, mid];
}

/**
 * The observations below rhs (`</`, upperTrim) or above it (`>/`): buckets outside are emptied,
 * the one rhs falls in is cut by interpolation, and count and sum are re-estimated from bucket
 * midpoints (Prometheus's TrimBuckets).
 */
export function trimBuckets(h: FloatHistogram, rhs: number, upperTrim: boolean): FloatHistogram {
  const w = toWork(h);
  const custom = usesCustomBuckets(w);
  let count = 0, sum = 0, trimmed = false, hasPos = false, hasNeg = false;
  const side = (list: BucketList, positive: boolean): void => {
    for (let i = 0; i < list.idx.length; i++) {
      const b = positive ? posBucket(w, i) : negBucket(w, i);
      if (b.count === 0) continue;
      if (positive) hasPos = true;
      else hasNeg = true;
      const whole = upperTrim ? b.upper <= rhs : b.lower >= rhs;
      const partial = upperTrim ? b.lower < rhs : b.upper > rhs;
      if (whole) {
        count += b.count;
        sum += midpoint(b.lower, b.upper, positive, custom) * b.count;
      } else if (partial) {
        const [keep, mid] = trimBucket(b, rhs, upperTrim, positive, custom);
        count += keep;
        sum += mid * keep;
        if (list.cnt[i] !== keep) {
          list.cnt[i] = keep;
          trimmed = true;
        }
      } else {
        list.cnt[i] = 0;
        trimmed = true;
      }
    }
  };
  side(w.pos, true);
  side(w.neg, false);
  if (w.zeroCount > 0) {
    const [keep, mid] = trimZeroBucket(w, rhs, hasNeg, hasPos, upperTrim);
    if (w.zeroCount !== keep) {
      w.zeroCount = keep;
      trimmed = true;
    }
    sum += mid * keep;
    count += keep;
  }
  if (!trimmed) return h;
  w.count = count;
  w.sum = sum;
  return fromWork(w);
}
