// Reading: matchers pick series from the head's postings; samples come from the chunk rows of
// the buckets overlapping [mint, maxt] (each row decrypted once, only the wanted chunks decoded)
// and from the head.
import { compareLabels, type Labels } from '../../shared/labels';
import { ChunkRow } from './chunk-row';
import type { MemSeries } from './head';
import { selectSeries } from './matchers';
import { bucketOf, type TsdbState } from './state';
import { items } from './storage';
import type { Matcher, Querier, SelectHints, SeriesData } from './types';
import { histogramsOf } from './histogram-read';

/** Keeps bucket arithmetic finite for open-ended ranges. */
const TIME_LIMIT = 8.64e15;

export class HeadQuerier implements Querier {
  constructor(private readonly st: TsdbState) {}

  select(matchers: readonly Matcher[], mint: number, maxt: number, hints?: SelectHints): SeriesData[] {
    const series = selectSeries(this.st.head, matchers);
    if (series.length === 0 || mint > maxt) return [];
    const check = hints?.check;
    const rows = this.readRows(series, mint, maxt, check);
    const out: SeriesData[] = [];
    for (const s of series) {
      check?.();
      const seriesRows = rows.get(s) ?? [];
      const data = this.samplesOf(s, seriesRows, mint, maxt);
      const histograms = histogramsOf(s, seriesRows, mint, maxt);
      if (histograms) out.push({ labels: s.labels, timestamps: data.timestamps, values: data.values, histograms });
      else if (data.timestamps.length > 0) out.push({ labels: s.labels, timestamps: data.timestamps, values: data.values });
    }
    return out.sort((a, b) => compareLabels(a.labels, b.labels));
  }

  /** The decrypted chunk rows (in bucket order) that hold each series' samples in [mint, maxt]. */
  private readRows(series: MemSeries[], mint: number, maxt: number, check?: () => void): Map<MemSeries, ChunkRow[]> {
    const { storage } = this.st;
    const layout = storage.layout;
    const minBucket = bucketOf(Math.max(mint, -TIME_LIMIT), layout.bucketMs);
    const maxBucket = bucketOf(Math.min(maxt, TIME_LIMIT), layout.bucketMs);
    const byPart = new Map<number, MemSeries[]>();
    for (const s of series) {
      if (s.minT > maxt || s.lastT < mint) continue;
      const part = Math.floor(s.id / layout.seriesPerPart);
      const list = byPart.get(part);
      if (list) list.push(s);
      else byPart.set(part, [s]);
    }
    const out = new Map<MemSeries, ChunkRow[]>();
    for (const [part, members] of byPart) {
      for (const row of storage.chunksOfPart(part, minBucket, maxBucket)) {
        check?.();
        const chunkRow = new ChunkRow(storage.open(items.chunk(row.bucket, part, layout), row), row.bucket * layout.bucketMs);
        for (const s of members) {
          if (!chunkRow.has(s.id)) continue; // floats or histograms
          const list = out.get(s);
          if (list) list.push(chunkRow);
          else out.set(s, [chunkRow]);
        }
      }
    }
    return out;
  }

  /** Decodes a series' chunks and head samples into one pair of arrays, trimmed to [mint, maxt]. */
  private samplesOf(s: MemSeries, rows: ChunkRow[], mint: number, maxt: number): { timestamps: Float64Array; values: Float64Array } {
    // Only the head's samples inside the window are copied: a short window over a long head
    // (an instant query at 'now') must not pay for the whole head.
    let headLo = 0;
    let headHi = 0;
    if (s.count > 0) {
      s.sortHead();
      const head = s.timestamps.subarray(0, s.count);
      headLo = lowerBound(head, mint);
      headHi = lowerBound(head, maxt, true);
    }
    let total = headHi - headLo;
    for (const r of rows) total += r.count(s.id);
    let ts: Float64Array = new Float64Array(total);
    let vs: Float64Array = new Float64Array(total);
    let n = 0;
    let ordered = true;
    const append = (count: number): void => {
      if (n > 0 && count > 0 && ts[n]! <= ts[n - 1]!) ordered = false;
      n += count;
    };
    for (const r of rows) append(r.decodeInto(s.id, ts, vs, n));
    if (headHi > headLo) {
      ts.set(s.timestamps.subarray(headLo, headHi), n);
      vs.set(s.values.subarray(headLo, headHi), n);
      append(headHi - headLo);
    }
    if (!ordered) ({ timestamps: ts, values: vs } = sortByTime(ts, vs));
    const lo = lowerBound(ts, mint);
    const hi = lowerBound(ts, maxt, true);
    return lo === 0 && hi === ts.length ? { timestamps: ts, values: vs } : { timestamps: ts.subarray(lo, hi), values: vs.subarray(lo, hi) };
  }

  labelNames(matchers?: readonly Matcher[]): string[] {
    if (!matchers || matchers.length === 0) return [...this.st.head.postings.keys()].sort();
    const names = new Set<string>();
    for (const s of selectSeries(this.st.head, matchers)) for (const l of s.labels) names.add(l.name);
    return [...names].sort();
  }

  labelValues(name: string, matchers?: readonly Matcher[]): string[] {
    if (!matchers || matchers.length === 0) return [...(this.st.head.postings.get(name)?.keys() ?? [])].sort();
    const values = new Set<string>();
    for (const s of selectSeries(this.st.head, matchers)) {
      for (const l of s.labels) if (l.name === name) values.add(l.value);
    }
    return [...values].sort();
  }

  series(matchers: readonly Matcher[], mint: number, maxt: number): Labels[] {
    return selectSeries(this.st.head, matchers)
      .filter((s) => s.minT <= maxt && s.lastT >= mint)
      .map((s) => s.labels)
      .sort(compareLabels);
  }
}

/** Sorts samples by time (stable); of equal timestamps the later one (newer data) wins. */
function sortByTime(ts: Float64Array, vs: Float64Array): { timestamps: Float64Array; values: Float64Array } {
  const idx = Array.from({ length: ts.length }, (_, i) => i).sort((a, b) => ts[a]! - ts[b]! || b - a);
  const nt = new Float64Array(ts.length);
  const nv = new Float64Array(ts.length);
  let n = 0;
  for (const i of idx) {
    if (n > 0 && nt[n - 1] === ts[i]) continue;
    nt[n] = ts[i]!;
    nv[n++] = vs[i]!;
  }
  return { timestamps: nt.subarray(0, n), values: nv.subarray(0, n) };
}

/** First index with ts[i] >= x (or > x when `after`). */
function lowerBound(ts: Float64Array, x: number, after = false): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < x || (after && ts[mid] === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
