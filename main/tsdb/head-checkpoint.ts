// The head checkpoint: every head sample, coded as one chunk row (chunkenc's delta-of-delta and
// XOR coding, about 1-2 bytes a sample) inside the sealed head state. The head state and the
// deletion of every log record it covers are one SQLite transaction, so a crash at any point
// leaves either the old head state with its log or the new one: a restart decodes the checkpoint
// and replays only the log written since, however much the store holds.
import { ChunkRow, encodeChunkRow, type ChunkInput } from './chunk-row';
import type { Head, MemSeries } from './head';
import type { TsdbState } from './state';

/** Log samples since the last checkpoint that trigger a new one, at least (else half the head). */
const MIN_LOG_SAMPLES = 100_000;

export interface HeadSamples {
  readonly base: number;
  readonly row: Buffer;
}

/** Whether the log written since the last checkpoint costs enough replay to write a new one. */
export function checkpointDue(st: TsdbState): boolean {
  if (st.logSamplesSinceCheckpoint < MIN_LOG_SAMPLES) return false;
  let head = 0;
  for (const s of st.head.all()) head += s.count;
  return st.logSamplesSinceCheckpoint >= head / 2;
}

/** The head's samples, less the first `skip.get(s)` of each series (cut into chunk rows in the same transaction). */
export function encodeHeadSamples(head: Head, skip?: ReadonlyMap<MemSeries, number>): HeadSamples {
  const inputs: ChunkInput[] = [];
  let base = Infinity;
  for (const s of head.all()) {
    const from = skip?.get(s) ?? 0;
    if (s.count <= from) continue;
    s.sortHead();
    inputs.push({ id: s.id, timestamps: s.timestamps, values: s.values, from, to: s.count });
    if (s.timestamps[from]! < base) base = s.timestamps[from]!;
  }
  if (inputs.length === 0) base = 0;
  return { base, row: encodeChunkRow(inputs, base) };
}

/** Puts a checkpoint's samples back into the head (series unknown to the index are skipped). */
export function restoreHeadSamples(head: Head, samples: HeadSamples): void {
  const row = new ChunkRow(samples.row, samples.base);
  for (const id of row.ids()) {
    const s = head.get(id);
    if (!s) continue;
    const { timestamps, values } = row.decode(id)!;
    for (let i = 0; i < timestamps.length; i++) {
      const t = timestamps[i]!;
      if (s.count > 0 && t <= s.timestamps[s.count - 1]!) continue;
      s.push(t, values[i]!);
    }
  }
}
