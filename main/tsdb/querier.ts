// Reading: matchers pick series from the head's postings; samples come from the chunk rows of
// the buckets overlapping [mint, maxt] (each row decrypted once, only the wanted chunks decoded)
// and from the head.
import { compareLabels, type Labels } from '../../shared/labels';
import { ChunkRow } from './chunk-row';
import { mergeSamples } from './compaction';
import type { MemSeries } from './head';
import { selectSeries } from './matchers';
import { bucketOf, type TsdbState } from './state';
import { items } from './storage';
import type { Matcher, Querier, SeriesData } from './types';

/** Keeps bucket arithmetic finite for open-ended ranges. */
const TIME_LIMIT = 8.64e15;

interface Piece {
  timestamps: Float64Array;
  values: Float64Array;
}

export class HeadQuerier implements Querier {
  constructor(private readonly st: TsdbState) {}

  select(matchers: readonly Matcher[], mint: number, maxt: number): SeriesData[] {
    const series = selectSeries(this.st.head, matchers);
    if (series.length === 0 || mint > maxt) return [];
    const pieces = new Map<MemSeries, Piece[]>();
    for (const s of series) pieces.set(s, []);
    this.readChunks(series, pieces, mint, maxt);
    const out: SeriesData[] = [];
    for (const s of series) {
      const list = pieces.get(s)!;
      if (s.count > 0) {
        s.sortHead();
        list.push({ timestamps: s.timestamps.subarray(0, s.count), values: s.values.subarray(0, s.count) });
      }
      const data = assemble(list, mint, maxt);
      if (data.timestamps.length > 0) out.push({ labels: s.labels, timestamps: data.timestamps, values: data.values });
    }
    return out.sort((a, b) => compareLabels(a.labels, b.labels));
  }

  private readChunks(series: MemSeries[], pieces: Map<MemSeries, Piece[]>, mint: number, maxt: number): void {
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
    for (const [part, members] of byPart) {
      for (const row of storage.chunksOfPart(part, minBucket, maxBucket)) {
        const chunkRow = new ChunkRow(storage.open(items.chunk(row.bucket, part, layout), row), row.bucket * layout.bucketMs);
        for (const s of members) {
          const d = chunkRow.decode(s.id);
          if (d) pieces.get(s)!.push(d);
        }
      }
    }
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

/** Concatenates pieces (chunk rows in bucket order, then the head) and trims to [mint, maxt]. */
function assemble(pieces: Piece[], mint: number, maxt: number): Piece {
  if (pieces.length === 0) return { timestamps: new Float64Array(0), values: new Float64Array(0) };
  let merged: Piece = pieces[0]!;
  if (pieces.length > 1) {
    let inOrder = true;
    let total = 0;
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      total += p.timestamps.length;
      const prev = pieces[i - 1];
      if (prev && prev.timestamps.length && p.timestamps.length && p.timestamps[0]! <= prev.timestamps[prev.timestamps.length - 1]!) inOrder = false;
    }
    if (inOrder) {
      const ts = new Float64Array(total);
      const vs = new Float64Array(total);
      let n = 0;
      for (const p of pieces) {
        ts.set(p.timestamps, n);
        vs.set(p.values, n);
        n += p.timestamps.length;
      }
      merged = { timestamps: ts, values: vs };
    } else {
      // Out-of-order samples overlap an already cut bucket: merge, the later piece winning.
      for (let i = 1; i < pieces.length; i++) merged = mergeSamples(merged.timestamps, merged.values, pieces[i]!.timestamps, pieces[i]!.values);
    }
  }
  const ts = merged.timestamps;
  const lo = lowerBound(ts, mint);
  const hi = lowerBound(ts, maxt, true);
  if (lo === 0 && hi === ts.length && pieces.length > 1) return merged;
  return { timestamps: ts.slice(lo, hi), values: merged.values.slice(lo, hi) };
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
