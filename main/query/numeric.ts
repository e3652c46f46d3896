// Arithmetic the operators share, after Go and Prometheus: Kahan summation, quantiles, float
// parsing and formatting as Go does them, binary search.

/** Result of kahanAdd; a shared scratch object so hot loops allocate nothing. */
export const kahan = { sum: 0, c: 0 };

/** Kahan-Babuska increment, as Prometheus's kahansum.Inc; the result is left in `kahan`. */
export function kahanAdd(inc: number, sum: number, c: number): void {
  const t = sum + inc;
  kahan.sum = t;
  if (!Number.isFinite(t) && !Number.isNaN(t)) kahan.c = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) kahan.c = c + (sum - t + inc);
  else kahan.c = c + (inc - t + sum);
}

/** Prometheus's quantile over a list of floats (linear interpolation between closest ranks). */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...values].sort(compareFloats);
  const n = sorted.length;
  const rank = q * (n - 1);
  const lo = Math.max(0, Math.floor(rank));
  const hi = Math.min(n - 1, lo + 1);
  const w = rank - Math.floor(rank);
  return sorted[lo]! * (1 - w) + sorted[hi]! * w;
}

/** Ascending with NaN first (Go's sort of vectorByValueHeap: NaN is "less"). */
function compareFloats(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
  if (Number.isNaN(b)) return 1;
  return a - b;
}

interface Bucket {
  upper: number;
  count: number;
}

/** Prometheus's BucketQuantile for classic histograms; returns [value, forcedMonotonic]. */
export function bucketQuantile(q: number, buckets: Bucket[]): [number, boolean] {
  if (Number.isNaN(q)) return [NaN, false];
  if (q < 0) return [-Infinity, false];
  if (q > 1) return [Infinity, false];
  buckets.sort((a, b) => a.upper - b.upper);
  if (buckets[buckets.length - 1]!.upper !== Infinity) return [NaN, false];
  const bs: Bucket[] = [];
  for (const b of buckets) {
    const last = bs[bs.length - 1];
    if (last && last.upper === b.upper) last.count += b.count;
    else bs.push({ ...b });
  }
  let forced = false;
  let prev = bs[0]!.count;
  for (let i = 1; i < bs.length; i++) {
    const cur = bs[i]!.count;
    if (cur === prev) continue;
    if (almostEqual(prev, cur, 1e-12)) {
      bs[i]!.count = prev;
      continue;
    }
    if (cur < prev) {
      bs[i]!.count = prev;
      forced = true;
      continue;
    }
    prev = cur;
  }
  if (bs.length < 2) return [NaN, forced];
  const obs = bs[bs.length - 1]!.count;
  if (obs === 0) return [NaN, forced];
  let rank = q * obs;
  let b = 0;
  while (b < bs.length - 1 && !(bs[b]!.count >= rank)) b++;
  if (b === bs.length - 1) return [bs[bs.length - 2]!.upper, forced];
  if (b === 0 && bs[0]!.upper <= 0) return [bs[0]!.upper, forced];
  let start = 0;
  const end = bs[b]!.upper;
  let count = bs[b]!.count;
  if (b > 0) {
    start = bs[b - 1]!.upper;
    count -= bs[b - 1]!.count;
    rank -= bs[b - 1]!.count;
  }
  return [start + (end - start) * (rank / count), forced];
}

/** Prometheus's util/almost.Equal. */
export function almostEqual(a: number, b: number, eps: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const minNormal = 2.2250738585072014e-308;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < minNormal) return diff < eps * minNormal;
  return diff / Math.min(absSum, Number.MAX_VALUE) < eps;
}

/** Go strconv.ParseFloat for label values ('' and junk are errors). */
export function parseGoFloat(s: string): number | null {
  const t = s.trim();
  if (t !== s || t === '') return null;
  const l = t.toLowerCase().replace(/^[+-]/, '');
  if (l === 'inf' || l === 'infinity') return t.startsWith('-') ? -Infinity : Infinity;
  if (l === 'nan') return NaN;
  if (/^0x[0-9a-f]+(\.[0-9a-f]*)?(p[+-]?\d+)?$/i.test(l)) return (t.startsWith('-') ? -1 : 1) * parseInt(l.slice(2), 16);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return null;
  return Number(t);
}

/** Go's %g for the values our messages print. */
export function formatG(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  return s.replace(/e\+?(-?)(\d)$/, 'e$1' + '0$2').replace(/e(-?\d+)$/, (m, d: string) => 'e' + (d.startsWith('-') ? d : '+' + d));
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

/** Index of the first element > x in ascending `a`. */
export function upperBound(a: ArrayLike<number>, x: number, lo = 0, hi = a.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
