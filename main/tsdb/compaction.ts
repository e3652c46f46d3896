// Compaction: cut head samples of complete buckets into sealed chunk rows (one row per bucket
// and series group), persist new series into sealed series pages, record the head state with the
// head's remaining samples (the checkpoint, ./head-checkpoint.ts) and drop the log records that
// are fully cut, all in one SQLite transaction.
import { ChunkRow, encodeChunkRow, inputSamples, type ChunkInput } from './chunk-row';
import type { FloatHistogram, HistogramSamples } from './histogram';
import type { MemSeries, SampleScratch } from './head';
import { checkpointDue, dropCutSamples, HeadCheckpoint, type CutList, type HeadCut } from './head-checkpoint';
import { bucketOf, type TsdbState } from './state';
import { items } from './storage';

/** A cut bucket beyond any real one: everything in the head was cut. */
export const CUT_ALL = 2 ** 40;

export interface CompactOptions {
  /** Also cut the newest, still-open buckets (default: only buckets the head has moved past). */
  readonly all?: boolean;
  /** Write the head checkpoint even when the log since the last one is short (a clean shutdown). */
  readonly checkpoint?: boolean;
}

/** Returns the bucket below which the head is now empty. */
export function compact(st: TsdbState, opts: CompactOptions = {}): number {
  const { head, storage } = st;
  const { bucketMs, seriesPerPart } = storage.layout;
  let headMaxT = -Infinity;
  for (const s of head.all()) {
    if (s.hist?.count) {
      s.hist.sortHead();
      headMaxT = Math.max(headMaxT, s.hist.timestamps[s.hist.count - 1]!);
    }
    if (s.count === 0) continue;
    s.sortHead();
    headMaxT = Math.max(headMaxT, s.lastHeadT);
  }
  // A bucket is complete once the head is half a bucket (plus the out-of-order window) past its end.
  const limitBucket = opts.all ? CUT_ALL : Math.max(-CUT_ALL, bucketOf(headMaxT - bucketMs / 2 - st.outOfOrderWindowMs, bucketMs));

  // Most series have nothing to cut: leave their compressed samples alone.
  const floatsDue = (s: MemSeries): boolean => s.count > 0 && bucketOf(s.firstHeadT, bucketMs) < limitBucket;
  const due = (s: MemSeries): boolean => floatsDue(s) || (!!s.hist?.count && bucketOf(s.hist.timestamps[0]!, bucketMs) < limitBucket);
  let anyDue = false;
  for (const s of head.all()) if ((anyDue = due(s))) break;
  // Nothing to cut, no series to persist and little log to replay (or a checkpoint under way for
  // it): leave the file alone (maintenance runs often).
  if (!anyDue && !opts.checkpoint && (st.checkpoint || !checkpointDue(st)) && allPersisted(head)) {
    storage.shrinkIfOwed();
    return limitBucket;
  }
  const cuts = new Map<MemSeries, HeadCut>();
  let cutLists: ReadonlyMap<number, CutList> | undefined;
  storage.transaction(() => {
    // One series group's rows at a time (the head runs in id order, so group by group): only that
    // group's cut samples are copied out at once, not every cut series' (16 bytes a sample).
    let part = -1;
    let rows = new Map<number, ChunkInput[]>();
    const scratch: SampleScratch = { timestamps: EMPTY, values: EMPTY };
    const cutSamples = new GroupSamples();
    const writeRows = (): void => {
      for (const [bucket, inputs] of rows) writeChunkRow(st, bucket, part, inputs);
      rows = new Map();
      cutSamples.reset();
    };
    for (const s of head.all()) {
      if (!due(s)) continue;
      const p = Math.floor(s.id / seriesPerPart);
      if (p !== part) (writeRows(), (part = p));
      const byBucket = new Map<number, ChunkInput>();
      const d = floatsDue(s) ? s.decodeInto(scratch) : null;
      let i = 0;
      while (d && i < s.count) {
        const bucket = bucketOf(d.timestamps[i]!, bucketMs);
        if (bucket >= limitBucket) break;
        const end = (bucket + 1) * bucketMs;
        let j = i + 1;
        while (j < s.count && d.timestamps[j]! < end) j++;
        byBucket.set(bucket, { id: s.id, ...cutSamples.copy(d.timestamps, d.values, i, j) });
        i = j;
      }
      const h = cutHistograms(s, limitBucket, bucketMs, byBucket);
      for (const [bucket, input] of byBucket) {
        const inputs = rows.get(bucket);
        if (inputs) inputs.push(input);
        else rows.set(bucket, [input]);
      }
      if (i > 0 || h > 0) cuts.set(s, { floats: i, histograms: h });
    }
    writeRows();
    cutLists = writeHeadState(st, limitBucket, cuts);
  });
  dropCutSamples(cutLists!, cuts);
  for (const s of head.all()) s.release();
  storage.shrink();
  return limitBucket;
}

/** Adds the series' head histograms of buckets below `limitBucket` to its inputs; returns how many. */
function cutHistograms(s: MemSeries, limitBucket: number, bucketMs: number, byBucket: Map<number, ChunkInput>): number {
  const hh = s.hist;
  if (!hh || hh.count === 0) return 0;
  const ts = hh.timestamps;
  let i = 0;
  while (i < ts.length) {
    const bucket = bucketOf(ts[i]!, bucketMs);
    if (bucket >= limitBucket) break;
    const end = (bucket + 1) * bucketMs;
    let j = i + 1;
    while (j < ts.length && ts[j]! < end) j++;
    const histograms = { timestamps: Float64Array.from(ts.slice(i, j)), values: hh.values.slice(i, j) };
    const floats = byBucket.get(bucket);
    byBucket.set(bucket, floats ? { ...floats, histograms } : { id: s.id, timestamps: EMPTY, values: EMPTY, from: 0, to: 0, histograms });
    i = j;
  }
  return i;
}

const EMPTY = new Float64Array(0);

/**
 * The cut samples of one series group, back to back in a few arrays reused group after group (the
 * rows are written before the next group starts) instead of two arrays a series and bucket.
 */
class GroupSamples {
  private ts = new Float64Array(4096);
  private vs = new Float64Array(4096);
  private used = 0;

  /** Samples [i, j) of ts/vs, as a chunk input's arrays and range. */
  copy(ts: Float64Array, vs: Float64Array, i: number, j: number): { timestamps: Float64Array; values: Float64Array; from: number; to: number } {
    const n = j - i;
    if (this.used + n > this.ts.length) {
      // New arrays; inputs made before keep the old ones.
      this.ts = new Float64Array(Math.max(2 * this.ts.length, n));
      this.vs = new Float64Array(this.ts.length);
      this.used = 0;
    }
    const from = this.used;
    this.ts.set(ts.subarray(i, j), from);
    this.vs.set(vs.subarray(i, j), from);
    this.used += n;
    return { timestamps: this.ts, values: this.vs, from, to: from + n };
  }

  /** The group's rows are written: the arrays serve the next group. */
  reset(): void {
    this.used = 0;
  }
}

/** Writes (or merges into) the chunk row of one bucket and series group. */
export function writeChunkRow(st: TsdbState, bucket: number, part: number, inputs: ChunkInput[]): void {
  const { storage } = st;
  const layout = storage.layout;
  const item = items.chunk(bucket, part, layout);
  const bucketStart = bucket * layout.bucketMs;
  const existing = storage.chunk(bucket, part);
  let all = inputs;
  if (existing) {
    const old = new ChunkRow(storage.open(item, existing), bucketStart);
    const byId = new Map(inputs.map((c) => [c.id, c]));
    all = [];
    for (const id of old.ids()) {
      const d = old.input(id)!;
      const fresh = byId.get(id);
      byId.delete(id);
      if (!fresh) {
        all.push(d);
        continue;
      }
      const m = mergeSamples(d.timestamps, d.values, fresh.timestamps.subarray(fresh.from, fresh.to), fresh.values.subarray(fresh.from, fresh.to));
      const histograms = mergeHistograms(d.histograms, fresh.histograms);
      all.push({ id, timestamps: m.timestamps, values: m.values, from: 0, to: m.timestamps.length, ...(histograms ? { histograms } : {}) });
    }
    all.push(...byId.values());
    all.sort((a, b) => a.id - b.id);
  }
  putChunkRow(st, bucket, part, all);
}

/** Replaces the chunk row of one bucket and series group with `inputs` (deleting it when empty). */
export function putChunkRow(st: TsdbState, bucket: number, part: number, inputs: readonly ChunkInput[]): void {
  const { storage } = st;
  const layout = storage.layout;
  const kept = inputs.filter((c) => inputSamples(c) > 0);
  if (kept.length === 0) return storage.deleteChunk(bucket, part);
  const samples = kept.reduce((n, c) => n + inputSamples(c), 0);
  const plain = encodeChunkRow(kept, bucket * layout.bucketMs);
  storage.putChunk(bucket, part, samples, storage.seal(items.chunk(bucket, part, layout), plain));
}

/** Merges two ascending histogram runs; on equal timestamps `b` (the newer data) wins. */
function mergeHistograms(a: HistogramSamples | undefined, b: HistogramSamples | undefined): HistogramSamples | undefined {
  if (!a || a.timestamps.length === 0) return b;
  if (!b || b.timestamps.length === 0) return a;
  const ts: number[] = [];
  const vs: FloatHistogram[] = [];
  let i = 0, j = 0;
  const at = a.timestamps, bt = b.timestamps;
  while (i < at.length || j < bt.length) {
    if (j >= bt.length || (i < at.length && at[i]! < bt[j]!)) {
      ts.push(at[i]!);
      vs.push(a.values[i++]!);
    } else {
      if (i < at.length && at[i] === bt[j]) i++;
      ts.push(bt[j]!);
      vs.push(b.values[j++]!);
    }
  }
  return { timestamps: Float64Array.from(ts), values: vs };
}

/** Merges two ascending sample runs; on equal timestamps `b` (the newer data) wins. */
function mergeSamples(at: Float64Array, av: Float64Array, bt: Float64Array, bv: Float64Array): { timestamps: Float64Array; values: Float64Array } {
  const ts = new Float64Array(at.length + bt.length);
  const vs = new Float64Array(ts.length);
  let i = 0, j = 0, n = 0;
  while (i < at.length || j < bt.length) {
    if (j >= bt.length || (i < at.length && at[i]! < bt[j]!)) {
      ts[n] = at[i]!;
      vs[n++] = av[i++]!;
    } else {
      if (i < at.length && at[i] === bt[j]) i++;
      ts[n] = bt[j]!;
      vs[n++] = bv[j++]!;
    }
  }
  return { timestamps: ts.subarray(0, n), values: vs.subarray(0, n) };
}

/**
 * Records the head state after a cut at `cutBucket` with every head sample (less the first
 * `cut.get(s)` of a series, written to chunk rows in this transaction) and deletes the log records
 * whose samples are all cut. Series known only from the log are first written to the series index. Call
 * inside a transaction. Returns the cut series' kept samples as coded (head-checkpoint's dropCutSamples).
 */
export function writeHeadState(st: TsdbState, cutBucket: number, cut?: ReadonlyMap<MemSeries, HeadCut>): ReadonlyMap<number, CutList> {
  return new HeadCheckpoint(st, { bucket: Math.max(-CUT_ALL, Math.min(CUT_ALL, cutBucket)), ...(cut ? { series: cut } : {}) }).commit();
}

function allPersisted(head: TsdbState['head']): boolean {
  for (const s of head.all()) if (!s.persisted) return false;
  return true;
}
