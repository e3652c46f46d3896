// Compaction: cut head samples of complete buckets into sealed chunk rows (one row per bucket
// and series group), persist new series into sealed series pages, record the head state with the
// head's remaining samples (the checkpoint, ./head-checkpoint.ts) and drop the log records that
// are fully cut, all in one SQLite transaction (`compact`); or the same a series group a
// transaction, each in a turn of its own, the checkpoint after it (`BucketCut`, for maintenance).
import { ChunkRow, encodeChunkRow, inputSamples, type ChunkInput } from './chunk-row';
import type { FloatHistogram, HistogramSamples } from './histogram';
import { encodeList, type MemSeries, type SampleScratch } from './head';
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
  /** Return the freed pages to the file system now (default true; false: the caller does, in turns). */
  readonly shrink?: boolean;
}

/** Returns the bucket below which the head is now empty. */
export function compact(st: TsdbState, opts: CompactOptions = {}): number {
  const { head, storage } = st;
  const limitBucket = opts.all ? CUT_ALL : cutLimit(st);
  const cutter = new GroupCutter(st, limitBucket);
  let anyDue = false;
  for (const s of head.all()) if ((anyDue = cutter.due(s))) break;
  // Nothing to cut, no series to persist and little log to replay (or a checkpoint under way for
  // it): leave the file alone (maintenance runs often).
  if (!anyDue && !opts.checkpoint && (st.checkpoint || !checkpointDue(st)) && allPersisted(head)) {
    storage.shrinkIfOwed();
    return limitBucket;
  }
  let cutLists: ReadonlyMap<number, CutList> | undefined;
  st.cut = undefined; // one in turns stops here: this one cuts what it left
  storage.transaction(() => {
    cutter.cut(head.all());
    cutLists = writeHeadState(st, limitBucket, cutter.cuts);
  });
  dropCutSamples(cutLists!, cutter.cuts);
  for (const s of head.all()) s.release();
  if (opts.shrink ?? true) storage.shrink();
  return limitBucket;
}

/**
 * Cuts every head sample into chunk rows, inside the caller's transaction (a deletion's); returns
 * what it cut of each series, for the head state written in that transaction (writeHeadState)
 * and then the head (dropCutSamples).
 */
export function cutAll(st: TsdbState): ReadonlyMap<MemSeries, HeadCut> {
  const cutter = new GroupCutter(st, CUT_ALL);
  cutter.cut(st.head.all());
  st.cut = undefined;
  return cutter.cuts;
}

/** The bucket a cut stops at: buckets are complete once the head is half a bucket (plus the out-of-order window) past their end. */
function cutLimit(st: TsdbState): number {
  let maxT = -Infinity;
  for (const s of st.head.all()) maxT = Math.max(maxT, headMaxT(s));
  return limitFor(st, maxT);
}

function limitFor(st: TsdbState, headMaxT: number): number {
  const { bucketMs } = st.storage.layout;
  return Math.max(-CUT_ALL, bucketOf(headMaxT - bucketMs / 2 - st.outOfOrderWindowMs, bucketMs));
}

/** A series' newest head sample, float or histogram (sorting its head first); -Infinity when none. */
function headMaxT(s: MemSeries): number {
  let t = -Infinity;
  if (s.hist?.count) {
    s.hist.sortHead();
    t = s.hist.timestamps[s.hist.count - 1]!;
  }
  if (s.count === 0) return t;
  s.sortHead();
  return Math.max(t, s.lastHeadT);
}

/**
 * Which series have head samples before `limitBucket`: floats (of a series `due` sorted), or floats
 * or histograms (most have none: their compressed samples are left alone).
 */
function dueBefore(st: TsdbState, limitBucket: number): { floatsDue(s: MemSeries): boolean; due(s: MemSeries): boolean } {
  const { bucketMs } = st.storage.layout;
  const floatsDue = (s: MemSeries): boolean => s.count > 0 && bucketOf(s.firstHeadT, bucketMs) < limitBucket;
  const due = (s: MemSeries): boolean => {
    s.sortHead();
    s.hist?.sortHead();
    return floatsDue(s) || (!!s.hist?.count && bucketOf(s.hist.timestamps[0]!, bucketMs) < limitBucket);
  };
  return { floatsDue, due };
}

/**
 * Cuts series' samples before `limitBucket` into chunk rows, one series group's rows at a time (give
 * it series in id order, so group by group): only that group's cut samples are copied out at once,
 * not every cut series' (16 bytes a sample). Call inside a transaction. With `keepLists`, also
 * codes each cut series' kept samples (for dropCutSamples; a checkpoint does that otherwise).
 */
class GroupCutter {
  /** Whether a series has head samples before the bucket (see dueBefore). */
  readonly due: (s: MemSeries) => boolean;
  private readonly floatsDue: (s: MemSeries) => boolean;
  readonly cuts = new Map<MemSeries, HeadCut>();
  readonly cutLists = new Map<number, CutList>();
  private part = -1;
  private rows = new Map<number, ChunkInput[]>();
  private readonly scratch: SampleScratch = { timestamps: EMPTY, values: EMPTY };
  private readonly cutSamples = new GroupSamples();

  constructor(
    private readonly st: TsdbState,
    private readonly limitBucket: number,
    private readonly keepLists = false,
  ) {
    ({ due: this.due, floatsDue: this.floatsDue } = dueBefore(st, limitBucket));
  }

  /** Cuts those of `series` that are due and writes their rows. */
  cut(series: Iterable<MemSeries>): void {
    for (const s of series) if (this.due(s)) this.add(s);
    this.flush();
  }

  private add(s: MemSeries): void {
    const { bucketMs, seriesPerPart } = this.st.storage.layout;
    const p = Math.floor(s.id / seriesPerPart);
    if (p !== this.part) (this.flush(), (this.part = p));
    const byBucket = new Map<number, ChunkInput>();
    const d = this.floatsDue(s) ? s.decodeInto(this.scratch) : null;
    let i = 0;
    while (d && i < s.count) {
      const bucket = bucketOf(d.timestamps[i]!, bucketMs);
      if (bucket >= this.limitBucket) break;
      const end = (bucket + 1) * bucketMs;
      let j = i + 1;
      while (j < s.count && d.timestamps[j]! < end) j++;
      byBucket.set(bucket, { id: s.id, ...this.cutSamples.copy(d.timestamps, d.values, i, j) });
      i = j;
    }
    const h = cutHistograms(s, this.limitBucket, bucketMs, byBucket);
    for (const [bucket, input] of byBucket) {
      const inputs = this.rows.get(bucket);
      if (inputs) inputs.push(input);
      else this.rows.set(bucket, [input]);
    }
    if (i > 0 || h > 0) this.cuts.set(s, { floats: i, histograms: h });
    if (this.keepLists && d && i > 0 && i < s.count && d.timestamps[i]! >= 0) {
      this.cutLists.set(s.id, { list: encodeList(d.timestamps, d.values, i, s.count), count: s.count - i, lastT: s.lastHeadT });
    }
  }

  /** Writes the rows of the group under way. */
  private flush(): void {
    for (const [bucket, inputs] of this.rows) writeChunkRow(this.st, bucket, this.part, inputs);
    this.rows = new Map();
    this.cutSamples.reset();
  }
}

/**
 * A compaction's cut written in turns: a series group's due samples a transaction, each dropped from
 * the head as soon as its rows are committed (a query reads them from the rows then; a crash before
 * the next head state brings them back into the head from the log and the last checkpoint, where a
 * query's merge keeps each sample once and the next cut writes them again, merged). The checkpoint
 * that follows records the bucket (`recorded`) and deletes the log records written before the cut
 * began whose samples are all before it: samples a lagging series added before that bucket since
 * stay in the head and their records in the log, for the next cut. A compaction meanwhile takes its
 * place (`st.cut`).
 */
export class BucketCut {
  /** The bucket the cut stops at; NaN while the first turns look for it. */
  private limitBucket: number;
  /** The newest head sample seen while looking for the bucket. */
  private newest = -Infinity;
  private due: (s: MemSeries) => boolean = () => false;
  /** The next series id to look at. */
  private cursor = 1;
  /** Series made after the cut began are left to the next one (a new series a turn would keep it going). */
  private readonly endId: number;
  private readonly scanPerTurn: number;
  private cutAny = false;
  /** The last log record written before the cut began. */
  private readonly logUpTo: number;

  /**
   * Maintenance's cut of every complete bucket, its groups committed unsynced (the checkpoint after
   * it commits synced: Storage.transactionUnsynced); or a deletion's, of every bucket, its groups
   * synced (in bench:checkpoint the deletion's one transaction stalled longer when it synced them
   * all). It plans as it goes, SCAN_PER_TURN series a turn at most: planned at the start, the pass
   * over every series cost 30–45 ms of one turn at 100,000 series.
   */
  static start(st: TsdbState, kind: 'maintenance' | 'deletion' = 'maintenance'): BucketCut {
    const cut = new BucketCut(st, kind);
    st.checkpoint = undefined; // its parts would hold some series before the cut and some after
    st.cut = cut;
    return cut;
  }

  private constructor(
    private readonly st: TsdbState,
    private readonly kind: 'maintenance' | 'deletion',
  ) {
    this.limitBucket = kind === 'deletion' ? CUT_ALL : NaN;
    if (kind === 'deletion') this.due = dueBefore(st, CUT_ALL).due;
    this.logUpTo = st.nextLogSeq - 1;
    this.endId = st.head.nextId;
    this.scanPerTurn = st.cutScanSeries ?? SCAN_PER_TURN;
  }

  /** Whether a compaction took this one's place (or the store closed). */
  get dropped(): boolean {
    return this.st.cut !== this;
  }

  /** Takes one turn's step: looks for the bucket, or cuts the next series group; false once done (then checkpoint with `recorded`). */
  step(): boolean {
    const { head } = this.st;
    if (Number.isNaN(this.limitBucket)) {
      // The newest head sample, as cutLimit finds it, over a few turns.
      const end = Math.min(this.endId, this.cursor + this.scanPerTurn);
      for (; this.cursor < end; this.cursor++) {
        const s = head.get(this.cursor);
        if (s) this.newest = Math.max(this.newest, headMaxT(s));
      }
      if (this.cursor < this.endId) return true;
      this.limitBucket = limitFor(this.st, this.newest);
      this.due = dueBefore(this.st, this.limitBucket).due;
      this.cursor = 1;
      return true;
    }
    // The next group of due series: ids in order, the group ends where the part changes.
    const { seriesPerPart } = this.st.storage.layout;
    const group: MemSeries[] = [];
    let part = -1;
    for (let looked = 0; this.cursor < this.endId; this.cursor++) {
      const s = head.get(this.cursor);
      if (!s) continue;
      const p = Math.floor(s.id / seriesPerPart);
      if (group.length > 0 ? p !== part : looked++ >= this.scanPerTurn) break;
      if (!this.due(s)) continue;
      part = p;
      group.push(s);
    }
    if (group.length === 0) {
      if (this.cursor < this.endId) return true;
      this.st.cut = undefined;
      return false;
    }
    const cutter = new GroupCutter(this.st, this.limitBucket, true);
    const write = () => cutter.cut(group);
    if (this.kind === 'deletion') this.st.storage.transaction(write);
    else this.st.storage.transactionUnsynced(write);
    dropCutSamples(cutter.cutLists, cutter.cuts);
    this.cutAny = true;
    return true;
  }

  /** What the checkpoint after the cut records: its bucket, and the log records that may go; undefined when no series had samples to cut. */
  get recorded(): { readonly bucket: number; readonly logUpTo: number } | undefined {
    return this.cutAny ? { bucket: this.limitBucket, logUpTo: this.logUpTo } : undefined;
  }
}

/** Series a cut looks at in a turn while it finds its bucket, or while no series it looks at is due. */
const SCAN_PER_TURN = 16_384;

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

export function allPersisted(head: TsdbState['head']): boolean {
  for (const s of head.all()) if (!s.persisted) return false;
  return true;
}
