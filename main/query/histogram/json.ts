// Native histograms in the Prometheus HTTP API's JSON, as Prometheus's jsonutil.MarshalHistogram
// writes them: count and sum as strings, and each populated bucket as
// [boundaryRule, "lower", "upper", "count"], in ascending order of value, where the rule says which
// bounds are inclusive: 0 upper only, 1 lower only, 2 neither, 3 both.
import type { FloatHistogram } from '../../tsdb/histogram';
import { allBuckets } from './ops';

export interface HistogramJSON {
  count: string;
  sum: string;
  buckets?: [number, string, string, string][];
}

/** Go's strconv.FormatFloat as Prometheus's MarshalFloat uses it: 'e' below 1e-6 and from 1e21, else 'f'. */
export function formatHistogramFloat(v: number, formatF: (v: number) => string): string {
  const abs = Math.abs(v);
  if (Number.isFinite(v) && abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    const [m, e] = v.toExponential().split('e') as [string, string];
    const sign = e.startsWith('-') ? '-' : '+';
    const digits = e.replace(/^[+-]/, '');
    return `${m}e${sign}${digits.length < 2 ? `0${digits}` : digits}`;
  }
  return formatF(v);
}

export function histogramJSON(h: FloatHistogram, formatF: (v: number) => string): HistogramJSON {
  const f = (v: number): string => formatHistogramFloat(v, formatF);
  const out: HistogramJSON = { count: f(h.count), sum: f(h.sum) };
  const buckets: [number, string, string, string][] = [];
  for (const b of allBuckets(h)) {
    if (b.count === 0) continue;
    const rule = b.lowerInclusive ? (b.upperInclusive ? 3 : 1) : b.upperInclusive ? 0 : 2;
    buckets.push([rule, f(b.lower), f(b.upper), f(b.count)]);
  }
  if (buckets.length) out.buckets = buckets;
  return out;
}
