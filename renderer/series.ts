// Turns Prometheus matrix results into uPlot's aligned columns: one shared, sorted x axis and one
// value array per series with null where a series has no point (drawn as a gap).
import type { PromMatrixItem } from '../shared/api';
import { formatLabels, labelsFromRecord } from '../shared/labels';

export interface AlignedSeries {
  /** Unix seconds, ascending. */
  readonly timestamps: number[];
  readonly series: { readonly name: string; readonly values: (number | null)[] }[];
}

export function seriesName(metric: Record<string, string>): string {
  return formatLabels(labelsFromRecord(metric));
}

/** Prometheus encodes values as strings, including 'NaN', '+Inf', '-Inf'; uPlot cannot draw those. */
export function parseSampleValue(v: string): number | null {
  const n = Number(v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : v);
  return Number.isFinite(n) ? n : null;
}

export function alignMatrix(result: readonly PromMatrixItem[]): AlignedSeries {
  const times = new Set<number>();
  for (const s of result) for (const [t] of s.values) times.add(t);
  const timestamps = [...times].sort((a, b) => a - b);
  const index = new Map(timestamps.map((t, i) => [t, i]));
  const series = result.map((s) => {
    const values: (number | null)[] = new Array(timestamps.length).fill(null);
    for (const [t, v] of s.values) values[index.get(t)!] = parseSampleValue(v);
    return { name: seriesName(s.metric), values };
  });
  return { timestamps, series };
}
