// A series' native-histogram samples in [mint, maxt] from its chunk rows and the head.
import type { ChunkRow } from './chunk-row';
import type { MemSeries } from './head';
import type { FloatHistogram, HistogramSamples } from './histogram';

/** Undefined when the series has no histogram sample in the window. */
export function histogramsOf(s: MemSeries, rows: readonly ChunkRow[], mint: number, maxt: number): HistogramSamples | undefined {
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
    if (r.histogramCount(s.id) === 0) continue;
    const d = r.histograms(s.id)!;
    for (let i = 0; i < d.timestamps.length; i++) add(d.timestamps[i]!, d.values[i]!);
  }
  const hh = s.hist;
  if (hh && hh.count > 0) {
    hh.sortHead();
    for (let i = 0; i < hh.count; i++) add(hh.timestamps[i]!, hh.values[i]!);
  }
  if (ts.length === 0) return undefined;
  if (ordered) return { timestamps: Float64Array.from(ts), values: vs };
  // Later data (the head, later rows) wins on equal timestamps.
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
