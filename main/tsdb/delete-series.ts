// Deleting series data for good: the head is first cut into chunk rows (so the log is empty; Tsdb
// cuts most of it in turns before), then every chunk row holding a matching series is rewritten
// without the deleted samples; series left empty leave the index. secure_delete and a WAL
// checkpoint make sure the old ciphertext is overwritten, so not even the data key can bring it back.
import { ChunkRow, inputSamples, type ChunkInput } from './chunk-row';
import { CUT_ALL, cutAll, putChunkRow, writeHeadState } from './compaction';
import { dropCutSamples, type CutList, type HeadCut } from './head-checkpoint';
import type { MemSeries } from './head';
import { selectSeries } from './matchers';
import { removeFromSeriesPages } from './series-index';
import type { TsdbState } from './state';
import { items } from './storage';
import type { Matcher } from './types';

const ALL_BUCKETS = 2 ** 40;

/**
 * Returns the number of samples deleted. With `shrink` false the caller returns the freed pages to
 * the file system (and so overwrites the old ciphertext) before it reports the deletion done.
 */
export function deleteSeries(st: TsdbState, matchers: readonly Matcher[], mint: number, maxt: number, shrink = true): number {
  const targets = selectSeries(st.head, matchers);
  if (targets.length === 0 || mint > maxt) return 0;
  const { storage, head } = st;
  const layout = storage.layout;
  const byPart = new Map<number, Map<number, MemSeries>>();
  for (const s of targets) {
    const part = Math.floor(s.id / layout.seriesPerPart);
    let m = byPart.get(part);
    if (!m) byPart.set(part, (m = new Map()));
    m.set(s.id, s);
  }
  let deleted = 0;
  const remaining = new Set<number>();
  let cuts: ReadonlyMap<MemSeries, HeadCut> = new Map();
  let cutLists: ReadonlyMap<number, CutList> = new Map();
  storage.transaction(() => {
    // The head into rows first (Tsdb cut most of it in turns before), so no log record keeps a sample.
    cuts = cutAll(st);
    for (const [part, members] of byPart) {
      for (const row of storage.chunksOfPart(part, -ALL_BUCKETS, ALL_BUCKETS)) {
        const bucketStart = row.bucket * layout.bucketMs;
        const chunkRow = new ChunkRow(storage.open(items.chunk(row.bucket, part, layout), row), bucketStart);
        const overlaps = bucketStart <= maxt && bucketStart + layout.bucketMs > mint;
        const inputs: ChunkInput[] = [];
        let changed = false;
        for (const id of chunkRow.ids()) {
          let input = chunkRow.input(id)!;
          if (members.has(id) && overlaps) {
            const kept = withoutRange(input, mint, maxt);
            if (kept.deleted > 0) {
              changed = true;
              deleted += kept.deleted;
              input = kept.input;
            }
          }
          if (members.has(id) && inputSamples(input) > 0) remaining.add(id);
          inputs.push(input);
        }
        if (changed) putChunkRow(st, row.bucket, part, inputs);
      }
    }
    const gone = new Set<number>();
    for (const s of targets) {
      if (!remaining.has(s.id)) gone.add(s.id);
      else {
        // Keep the series' bookkeeping free of deleted samples (the head state stores it).
        if (s.lastT >= mint && s.lastT <= maxt) s.lastV = NaN;
        if (s.minT >= mint && s.minT <= maxt) s.minT = maxt + 1;
      }
    }
    if (gone.size) removeFromSeriesPages(st, gone);
    for (const id of gone) head.remove(head.get(id)!);
    cutLists = writeHeadState(st, CUT_ALL, cuts);
  });
  dropCutSamples(cutLists, new Map([...cuts].filter(([s]) => head.get(s.id) === s)));
  if (shrink) storage.shrink();
  return deleted;
}

/** A series' chunk content without its samples in [mint, maxt] (floats and histograms). */
function withoutRange(c: ChunkInput, mint: number, maxt: number): { input: ChunkInput; deleted: number } {
  const out = (t: number): boolean => t < mint || t > maxt;
  const keep: number[] = [];
  for (let i = c.from; i < c.to; i++) if (out(c.timestamps[i]!)) keep.push(i);
  let deleted = c.to - c.from - keep.length;
  const timestamps = Float64Array.from(keep, (i) => c.timestamps[i]!);
  const values = Float64Array.from(keep, (i) => c.values[i]!);
  let histograms = c.histograms;
  if (histograms) {
    const hk: number[] = [];
    for (let i = 0; i < histograms.timestamps.length; i++) if (out(histograms.timestamps[i]!)) hk.push(i);
    deleted += histograms.timestamps.length - hk.length;
    const h = histograms;
    histograms = { timestamps: Float64Array.from(hk, (i) => h.timestamps[i]!), values: hk.map((i) => h.values[i]!) };
  }
  return { input: { id: c.id, timestamps, values, from: 0, to: timestamps.length, ...(histograms ? { histograms } : {}) }, deleted };
}
