// The head checkpoint: every head sample, floats and native histograms, coded as one chunk row
// (chunkenc's delta-of-delta and XOR coding, about 1-2 bytes a float sample; ./histogram-chunk for
// histograms) inside the sealed head state. The head state and the
// deletion of every log record it covers are one SQLite transaction, so a crash at any point
// leaves either the old head state with its log or the new one: a restart decodes the checkpoint
// and replays only the log written since, however much the store holds.
import { ChunkRow, encodeChunkRow, type ChunkInput } from './chunk-row';
import type { Head, MemSeries } from './head';
import { pushHistogram } from './head-histograms';
import type { TsdbState } from './state';

/** Log samples since the last checkpoint that trigger a new one, at least (else half the head). */
const MIN_LOG_SAMPLES = 100_000;

/** How many of a series' oldest head samples a compaction cut into chunk rows. */
export interface HeadCut {
  readonly floats: number;
  readonly histograms: number;
}

export interface HeadSamples {
  readonly base: number;
  readonly row: Buffer;
}

/** Whether the log written since the last checkpoint costs enough replay to write a new one. */
export function checkpointDue(st: TsdbState): boolean {
  if (st.logSamplesSinceCheckpoint < MIN_LOG_SAMPLES) return false;
  let head = 0;
  for (const s of st.head.all()) head += s.count + (s.hist?.count ?? 0);
  return st.logSamplesSinceCheckpoint >= head / 2;
}

/** The head's samples, less the oldest `skip.get(s)` of each series (cut into chunk rows in the same transaction). */
export function encodeHeadSamples(head: Head, skip?: ReadonlyMap<MemSeries, HeadCut>): HeadSamples {
  const inputs: ChunkInput[] = [];
  let base = Infinity;
  for (const s of head.all()) {
    const cut = skip?.get(s);
    const from = cut?.floats ?? 0;
    const hFrom = cut?.histograms ?? 0;
    const hh = s.hist;
    const hCount = hh ? hh.count - hFrom : 0;
    if (s.count <= from && hCount <= 0) continue;
    let histograms;
    if (hCount > 0) {
      hh!.sortHead();
      histograms = { timestamps: Float64Array.from(hh!.timestamps.slice(hFrom)), values: hh!.values.slice(hFrom) };
      if (histograms.timestamps[0]! < base) base = histograms.timestamps[0]!;
    }
    if (s.count > from) {
      s.sortHead();
      if (s.timestamps[from]! < base) base = s.timestamps[from]!;
      inputs.push({ id: s.id, timestamps: s.timestamps, values: s.values, from, to: s.count, histograms });
    } else inputs.push({ id: s.id, timestamps: EMPTY, values: EMPTY, from: 0, to: 0, histograms });
  }
  // Coded relative to 0 (as MemSeries codes its packed samples), so a restart adopts the chunks as they are.
  base = Math.min(0, base);
  return { base, row: encodeChunkRow(inputs, base) };
}

/**
 * After a checkpoint: each series whose float head the checkpoint holds whole keeps that coding
 * (one chunk) instead of its 16-sample chunks.
 */
export function adoptHeadSamples(head: Head, samples: HeadSamples): void {
  if (samples.base !== 0) return;
  const row = new ChunkRow(samples.row, 0);
  for (const id of row.ids()) {
    const s = head.get(id);
    const chunk = row.floatChunk(id);
    if (s && chunk) s.replaceWithChunk(chunk, row.count(id));
  }
}

/** Puts a checkpoint's samples back into the head (series unknown to the index are skipped). */
export function restoreHeadSamples(head: Head, samples: HeadSamples): void {
  const row = new ChunkRow(samples.row, samples.base);
  for (const id of row.ids()) {
    const s = head.get(id);
    if (!s) continue;
    const { timestamps, values } = row.decode(id)!;
    const chunk = samples.base === 0 && s.count === 0 ? row.floatChunk(id) : undefined;
    if (chunk) s.adoptChunk(chunk, timestamps, values);
    else {
      for (let i = 0; i < timestamps.length; i++) {
        const t = timestamps[i]!;
        if (s.count > 0 && t <= s.lastHeadT) continue;
        s.push(t, values[i]!);
      }
    }
    const h = row.histograms(id);
    if (!h) continue;
    const known = s.hist?.count ? s.hist.timestamps[s.hist.count - 1]! : -Infinity;
    for (let i = 0; i < h.timestamps.length; i++) if (h.timestamps[i]! > known) pushHistogram(s, h.timestamps[i]!, h.values[i]!);
  }
}

const EMPTY = new Float64Array(0);
