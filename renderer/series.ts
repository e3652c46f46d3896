// Turns Prometheus matrix results into uPlot's aligned columns: one shared, sorted x axis and one
// value array per series with null where a series has no point (drawn as a gap).
import type { PromData, PromSample } from '../shared/api';
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

/** A result series as float points to draw; a native histogram is drawn by its count of observations. */
export interface PlotSeries {
  readonly metric: Record<string, string>;
  readonly values: readonly PromSample[];
  /** The points are native histograms' counts. */
  readonly histogram: boolean;
}

export function plotSeries(d: PromData): PlotSeries[] {
  switch (d.resultType) {
    case 'scalar': case 'string': return [{ metric: {}, values: [d.result], histogram: false }];
    case 'vector':
      return d.result.map((s) => ({
        metric: s.metric,
        values: s.value ? [s.value] : s.histogram ? [[s.histogram[0], s.histogram[1].count]] : [],
        histogram: !s.value && s.histogram !== undefined,
      }));
    case 'matrix':
      return d.result.map((s) => {
        const hs = (s.histograms ?? []).map(([t, h]): PromSample => [t, h.count]);
        const values = hs.length ? [...(s.values ?? []), ...hs].sort((a, b) => a[0] - b[0]) : (s.values ?? []);
        return { metric: s.metric, values, histogram: hs.length > 0 };
      });
  }
}

export function alignMatrix(result: readonly { readonly metric: Record<string, string>; readonly values: readonly PromSample[] }[]): AlignedSeries {
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
