// A series' native-histogram samples in the head (not yet cut into chunk rows), beside its float
// samples in MemSeries. Order and duplicates are shared with the floats: one series has one
// timeline (its lastT), as in Prometheus's memSeries.
import type { FloatHistogram } from './histogram';

/** What pushHistogram keeps of a head series (MemSeries): its histograms and its one timeline. */
export interface HistogramSeries {
  hist: HeadHistograms | null;
  lastT: number;
  lastV: number;
  minT: number;
}

/** lastV of a series whose newest sample is a histogram (a float at the same time is a duplicate with another value). */
export const HISTOGRAM_LAST_V = NaN;

export class HeadHistograms {
  timestamps: number[] = [];
  values: FloatHistogram[] = [];
  sorted = true;

  get count(): number {
    return this.timestamps.length;
  }

  /** The newest histogram at exactly `t`, if the head still holds it. */
  at(t: number): FloatHistogram | undefined {
    for (let i = this.timestamps.length - 1; i >= 0; i--) if (this.timestamps[i] === t) return this.values[i];
    return undefined;
  }

  /** Sorts by time; of equal timestamps the later arrival wins. */
  sortHead(): void {
    if (this.sorted) return;
    const idx = this.timestamps.map((_, i) => i).sort((a, b) => this.timestamps[a]! - this.timestamps[b]! || b - a);
    const ts: number[] = [];
    const vs: FloatHistogram[] = [];
    for (const i of idx) {
      if (ts.length > 0 && ts[ts.length - 1] === this.timestamps[i]) continue;
      ts.push(this.timestamps[i]!);
      vs.push(this.values[i]!);
    }
    this.timestamps = ts;
    this.values = vs;
    this.sorted = true;
  }

  dropFirst(n: number): void {
    this.timestamps.splice(0, n);
    this.values.splice(0, n);
  }

  /** Drops samples before `t`; returns how many. */
  dropBefore(t: number): number {
    const before = this.timestamps.length;
    if (this.timestamps.every((at) => at >= t)) return 0;
    const ts: number[] = [];
    const vs: FloatHistogram[] = [];
    this.timestamps.forEach((at, i) => {
      if (at >= t) (ts.push(at), vs.push(this.values[i]!));
    });
    this.timestamps = ts;
    this.values = vs;
    return before - ts.length;
  }
}

/** Adds a histogram sample to a series' head, keeping the series' time bookkeeping. */
export function pushHistogram(s: HistogramSeries, t: number, h: FloatHistogram): void {
  const hh = (s.hist ??= new HeadHistograms());
  const n = hh.timestamps.length;
  if (t > s.lastT) {
    s.lastT = t;
    s.lastV = HISTOGRAM_LAST_V;
  }
  if (n > 0 && t <= hh.timestamps[n - 1]!) hh.sorted = false;
  if (t < s.minT) s.minT = t;
  hh.timestamps.push(t);
  hh.values.push(h);
}

/** Head histogram count of a series (0 when it has none). */
export function headHistogramCount(s: Pick<HistogramSeries, 'hist'>): number {
  return s.hist ? s.hist.count : 0;
}
