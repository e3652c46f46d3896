// A series' native-histogram samples in [mint, maxt] from its chunk rows and the head: one merge
// for the ingest thread's reads (the live head) and a query worker's (a head snapshot).
import type { ChunkRow } from './chunk-row';
import type { MemSeries } from './head';
import type { FloatHistogram, HistogramSamples } from './histogram';

/** Head histogram samples, sorted by time (any window: the merge trims). */
export interface HeadHistogramSamples {
  readonly timestamps: ArrayLike<number>;
  readonly values: readonly FloatHistogram[];
}

/** Undefined when the series has no histogram sample in the window. */
export function histogramsOf(s: MemSeries, rows: readonly ChunkRow[], mint: number, maxt: number): HistogramSamples | undefined {
  const hh = s.hist;
  hh?.sortHead();
  return mergeHistograms(rows, s.id, hh ?? undefined, mint, maxt);
}

/** A float series' histogram window (shared: callers only read it). */
const NO_HISTOGRAMS: HeadHistogramSamples = { timestamps: [], values: [] };

/** The head's histogram samples in [mint, maxt] (sorted), copied: what a head snapshot carries. */
export function headHistogramWindow(s: MemSeries, mint: number, maxt: number): HeadHistogramSamples {
  const hh = s.hist;
  if (!hh || hh.count === 0) return NO_HISTOGRAMS;
  hh.sortHead();
  const timestamps: number[] = [];
  const values: FloatHistogram[] = [];
  for (let i = 0; i < hh.count; i++) {
    const t = hh.timestamps[i]!;
    if (t >= mint && t <= maxt) (timestamps.push(t), values.push(hh.values[i]!));
  }
  return { timestamps, values };
}

/**
 * Series `id`'s histogram samples from its rows (bucket order) and then its head, trimmed to
 * [mint, maxt]. A sample both in a row and in the head (cut between a snapshot and the row read)
 * is kept once: on equal timestamps later data (the head, later rows) wins. Undefined when none.
 */
export function mergeHistograms(rows: readonly ChunkRow[], id: number, head: HeadHistogramSamples | undefined, mint: number, maxt: number): HistogramSamples | undefined {
  const ts: number[] = [];
  const vs: FloatHistogram[] = [];
  let ordered = true;
  const add = (t: number, h: FloatHistogram): void => {
    if (t < mint || t > maxt) return;
    if (ts.length > 0 && t <= ts[ts.length - 1]!) ordered = false;
    ts.push(t);
    vs.push(h);
  };
  for (const r of rows) {
    if (r.histogramCount(id) === 0) continue;
    const d = r.histograms(id)!;
    for (let i = 0; i < d.timestamps.length; i++) add(d.timestamps[i]!, d.values[i]!);
  }
  if (head) for (let i = 0; i < head.timestamps.length; i++) add(head.timestamps[i]!, head.values[i]!);
  if (ts.length === 0) return undefined;
  if (ordered) return { timestamps: Float64Array.from(ts), values: vs };
  const idx = ts.map((_, i) => i).sort((a, b) => ts[a]! - ts[b]! || b - a);
  const outT: number[] = [];
  const outV: FloatHistogram[] = [];
  for (const i of idx) {
    if (outT.length > 0 && outT[outT.length - 1] === ts[i]) continue;
    outT.push(ts[i]!);
    outV.push(vs[i]!);
  }
  return { timestamps: Float64Array.from(outT), values: outV };
}
