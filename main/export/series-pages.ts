// Reads the chosen series out of a store a page at a time, so an export never holds a whole
// workspace: a page is consecutive series of one metric name, sized from the samples per series
// seen so far to stay near a sample budget; a series estimated larger than the budget alone is read
// in time slices. Each series is yielded whole-or-sliced in time order, one after the other (an
// OpenMetrics Metric must not be interleaved with another).
import { getLabel, labelsKey, METRIC_NAME, type Labels } from '../../shared/labels';
import type { Matcher, Querier } from '../tsdb/types';

/** Samples a page aims at: ~16 MB of timestamps and values. */
export const DEFAULT_PAGE_SAMPLES = 1_000_000;
/** Series a page holds at most (the select's matchers grow with it). */
const MAX_PAGE_SERIES = 512;

/** A run of one series' samples in time order; `last` is set on a series' final run. */
export interface SeriesRun {
  readonly labels: Labels;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  /** Native-histogram samples in this run (not exported; counted). */
  readonly histogramSamples: number;
  readonly last: boolean;
}

export interface PageOptions {
  readonly mint: number;
  readonly maxt: number;
  readonly pageSamples?: number;
  /** Awaited between pages: lets the writer drain (backpressure) and the caller abort. */
  readonly between?: () => Promise<void>;
}

/**
 * Matchers that pick exactly `page`'s series or a few more (every combination of their label
 * values); the caller keeps the page's own. One select then reads each chunk row once per page.
 */
function pageMatchers(page: readonly Labels[]): Matcher[] {
  const values = new Map<string, Set<string>>();
  for (const labels of page) for (const l of labels) if (!values.has(l.name)) values.set(l.name, new Set());
  for (const labels of page) for (const [name, set] of values) set.add(getLabel(labels, name));
  const out: Matcher[] = [];
  for (const [name, set] of values) {
    if (set.size === 1) out.push({ type: '=', name, value: [...set][0]! });
    else out.push({ type: '=~', name, value: '', matches: (v) => set.has(v) });
  }
  return out;
}

export async function* seriesRuns(querier: Querier, series: readonly Labels[], opts: PageOptions): AsyncGenerator<SeriesRun> {
  const budget = opts.pageSamples ?? DEFAULT_PAGE_SAMPLES;
  let perSeries = 0; // samples per series seen for the current name (0: none read yet)
  let span: [number, number] | null = null; // first and last timestamp of the last series read of this name
  let name = '';
  for (let i = 0; i < series.length; ) {
    await opts.between?.();
    const first = series[i]!;
    const n = getLabel(first, METRIC_NAME);
    if (n !== name) {
      name = n;
      perSeries = 0;
      span = null;
    }
    if (perSeries > budget && span !== null) {
      // One series past the budget: read it in time slices, sized from its neighbour's density.
      yield* sliced(querier, first, opts, Math.max(1, Math.floor(((span[1] - span[0] + 1) * budget) / perSeries)), span[0], opts.between);
      i++;
      continue;
    }
    let size = perSeries === 0 ? 1 : Math.max(1, Math.min(MAX_PAGE_SERIES, Math.floor(budget / perSeries)));
    let end = i;
    while (end < series.length && end - i < size && getLabel(series[end]!, METRIC_NAME) === name) end++;
    size = end - i;
    const page = series.slice(i, end);
    const wanted = new Map(page.map((l, k) => [labelsKey(l), k]));
    const found: (SeriesRun | undefined)[] = new Array(size);
    let samples = 0;
    for (const d of querier.select(pageMatchers(page), opts.mint, opts.maxt)) {
      const k = wanted.get(labelsKey(d.labels));
      if (k === undefined) continue;
      found[k] = { labels: page[k]!, timestamps: d.timestamps, values: d.values, histogramSamples: d.histograms?.timestamps.length ?? 0, last: true };
      samples += d.timestamps.length + (d.histograms?.timestamps.length ?? 0);
      if (d.timestamps.length > 0) span = [d.timestamps[0]!, d.timestamps[d.timestamps.length - 1]!];
    }
    perSeries = Math.max(1, Math.ceil(samples / size));
    for (const run of found) if (run) yield run;
    i = end;
  }
}

/** One series in slices of `width` ms from `anchor` (earlier samples come in the first slice). */
async function* sliced(querier: Querier, labels: Labels, opts: PageOptions, width: number, anchor: number, between?: () => Promise<void>): AsyncGenerator<SeriesRun> {
  const matchers = pageMatchers([labels]);
  const key = labelsKey(labels);
  let lo = opts.mint;
  let hi = Math.min(opts.maxt, Math.max(anchor, opts.mint) + width - 1);
  let pending: SeriesRun | null = null;
  for (;;) {
    const d = querier.select(matchers, lo, hi).find((s) => labelsKey(s.labels) === key);
    if (d && (d.timestamps.length > 0 || (d.histograms?.timestamps.length ?? 0) > 0)) {
      if (pending) yield pending;
      pending = { labels, timestamps: d.timestamps, values: d.values, histogramSamples: d.histograms?.timestamps.length ?? 0, last: false };
    }
    if (hi >= opts.maxt) break;
    await between?.();
    lo = hi + 1;
    hi = Math.min(opts.maxt, hi + width);
    // The series has no sample left in [lo, maxt]: done (no walk through empty slices to maxt).
    if (!querier.series(matchers, lo, opts.maxt).some((l) => labelsKey(l) === key)) break;
  }
  if (pending) yield { ...pending, last: true };
}
