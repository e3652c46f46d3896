// The head checkpoint: every head sample, floats and native histograms, in sealed parts of a few MB
// beside the head state (older stores: inside it). A series' float samples go as its head keeps
// them (./head's list of chunkenc chunks, the packed ones copied, only the raw tail coded), so a
// checkpoint costs little more than a copy and a restart adopts the lists without decoding them.
// A checkpoint with a compaction's cut is one SQLite transaction; one without is written in turns
// (HeadCheckpoint), a part a transaction beside the last checkpoint's parts, its head state last.
// Either way a crash leaves the old head state with its parts and log or the new one: a restart
// replays only the log written since, however much the store holds.
//
// Why parts written in turns are a checkpoint: the head state covers the log up to the point the
// checkpoint began, and a part holds its series as they were when it was written, so with some
// samples of later records too. Replay applies every later record in order, and a sample it applies
// again is one the head has: the same timestamp in order is skipped and out of order it is sorted
// away (the later arrival wins, which replay in order keeps), so the head comes out the same.
import { BitWriter, PAD_BYTES } from './bitstream';
import { ByteReader, ByteWriter } from './bytes';
import { ChunkRow } from './chunk-row';
import { decodeList, encodeList, type Head, type MemSeries, type SampleScratch } from './head';
import { pushHistogram } from './head-histograms';
import type { HistogramSamples } from './histogram';
import { decodeHistogramChunk, encodeHistogramChunk } from './histogram-chunk';
import { MAX_PARTS } from './manifest';
import { writeSeriesPages } from './series-index';
import type { TsdbState } from './state';
import { items } from './storage';
import { encodeHeadState, encodeStatesPart, type SeriesStateColumns } from './wal-record';

/** Log samples since the last checkpoint that trigger a new one, at least (else LOG_SHARE of its head). */
const MIN_LOG_SAMPLES = 100_000;
/**
 * And at least this many per series: a checkpoint's cost has a part per series (its entry, its list
 * copied), which a log of a sample or two per series does not repay. With 100,000 series and only
 * the minimum above, the rule makes a 2 M-sample load write ten checkpoints, one every round or two
 * (bench:ingest 372 k samples/s; 488 k with this). One raw tail's worth (16) is ~1.7 % of a 2 h
 * head at 15 s.
 */
const MIN_LOG_PER_SERIES = 16;
/**
 * The log since the last checkpoint, as a share of the head that checkpoint held, that makes the
 * next one due: a restart replays at most about a fifth of the head from the log (log replay costs
 * far more per sample than adopting a checkpoint's packed lists), for a checkpoint written each
 * time the head grows by a quarter (each copies the packed head: ~1.2 s for 48 M samples).
 */
const LOG_SHARE = 0.25;

/** How many of a series' oldest head samples a compaction cut into chunk rows. */
export interface HeadCut {
  readonly floats: number;
  readonly histograms: number;
}

/** A part of the head's samples (LISTS_VERSION, base 0), or versions 1 and 2's whole head as one chunk row relative to `base`. */
export interface HeadSamples {
  readonly base: number;
  readonly row: Buffer;
}

/**
 * Whether the log written since the last checkpoint costs enough replay to write a new one: LOG_SHARE
 * of the head that checkpoint held, at least MIN_LOG_SAMPLES and MIN_LOG_PER_SERIES. Constant time.
 */
export function checkpointDue(st: TsdbState): boolean {
  return st.logSamplesSinceCheckpoint >= Math.max(MIN_LOG_SAMPLES, MIN_LOG_PER_SERIES * st.head.size, st.headSamplesAtCheckpoint * LOG_SHARE);
}

/** Whether a store that has gone quiet holds enough log to checkpoint now (cheaper than when it is busy; a restart then replays none). */
export function quietCheckpointDue(st: TsdbState): boolean {
  return st.logSamplesSinceCheckpoint >= MIN_LOG_SAMPLES;
}

/**
 * Plaintext bytes of a part of the head's samples, about: the head is written a part at a time, so
 * a checkpoint holds one part (encoded, then sealed) beside the head, not the whole head twice or
 * three times; a 2 h head of 1 M series (0.9–1.1 GB, computed from the 1.75 bytes a sample
 * bench:restart measures plus raw tails) would reach SQLite's 10⁹-byte limit on one value.
 */
export const PART_BYTES = 2 ** 20;

/** A cut series' kept samples as the checkpoint coded them (one list), for the head to adopt once the checkpoint is committed. */
export interface CutList {
  readonly list: Uint8Array;
  readonly count: number;
  readonly lastT: number;
}

/**
 * The head's samples, less the oldest `skip.get(s)` of each series (cut into chunk rows in the same
 * transaction), as parts of about `partBytes`, each encoded when it is yielded (its entries view the
 * series, valid until they change), for series with ids below `idEnd`. A series' packed chunks are
 * copied as they are and its raw tail as raw floats; a cut series (or one whose raw part is long,
 * after sorting) is coded again from its first kept sample. Between parts the head may take new
 * samples: a part holds its series as they are when it is encoded. Returns the number of parts and
 * samples, and the cut series' new lists by id (see dropCutSamples).
 */
export function* headSampleParts(
  head: Head,
  skip: ReadonlyMap<MemSeries, HeadCut> | undefined,
  partBytes = PART_BYTES,
  idEnd = Infinity,
): Generator<Buffer, { parts: number; sampleCount: number; cutLists: Map<number, CutList> }> {
  const cutLists = new Map<number, CutList>();
  const scratch: SampleScratch = { timestamps: EMPTY, values: EMPTY };
  let entries: SeriesSamples[] = [];
  let bytes = 8;
  let samples = 0;
  let parts = 0;
  for (const s of head.all()) {
    if (s.id >= idEnd) break;
    s.releaseIdleRaw(); // the walk visits every series: an idle one's block goes back here
    const cut = skip?.get(s);
    const from = cut?.floats ?? 0;
    const hFrom = cut?.histograms ?? 0;
    const hh = s.hist;
    const hCount = hh ? hh.count - hFrom : 0;
    if (s.count <= from && hCount <= 0) continue;
    let hist: Uint8Array = EMPTY_BYTES;
    if (hCount > 0) {
      hh!.sortHead();
      bits.reset();
      encodeHistogramChunk(bits, hh!.timestamps.slice(hFrom), hh!.values.slice(hFrom), 0);
      hist = bits.finish().slice();
    }
    let list: Uint8Array = EMPTY_BYTES;
    let count = 0;
    let lastT = 0;
    let rawT: Float64Array = EMPTY;
    let rawV: Float64Array = EMPTY;
    if (s.count > from) {
      s.sortHead();
      const kept = s.kept()!;
      if (from === 0 && kept.timestamps.length <= LONG_RAW) {
        list = kept.list;
        count = s.count - kept.timestamps.length;
        lastT = count > 0 ? kept.listLastT : 0;
        rawT = kept.timestamps;
        rawV = kept.values;
      } else {
        const d = s.decodeInto(scratch);
        if (d.timestamps[from]! >= 0) {
          list = encodeList(d.timestamps, d.values, from, s.count);
          count = s.count - from;
          lastT = s.lastHeadT;
          if (from > 0) cutLists.set(s.id, { list, count, lastT });
        } else {
          // Before 1970: not codable relative to 0, kept raw (copied: the scratch serves the next series).
          rawT = d.timestamps.slice(from, s.count);
          rawV = d.values.slice(from, s.count);
        }
      }
    }
    entries.push({ id: s.id, count, lastT, list, rawT, rawV, hist });
    bytes += 32 + list.length + 16 * rawT.length + hist.length;
    samples += Math.max(0, s.count - from) + Math.max(0, hCount);
    if (bytes >= partBytes) {
      parts++;
      yield encodePart(entries, bytes);
      entries = [];
      bytes = 8;
    }
  }
  if (entries.length > 0) {
    parts++;
    yield encodePart(entries, bytes);
  }
  return { parts, sampleCount: samples, cutLists };
}

/**
 * A checkpoint's parts are numbered in one of two ranges, the one the last checkpoint's are not in,
 * so the new parts are written beside them (half the manifest's part numbers each).
 */
const PART_RANGE = MAX_PARTS / 2;
/** Series' states a part holds (~1 MB, as a part of samples). */
const STATES_PER_PART = 40_000;

/**
 * A head checkpoint: `writePart` writes the next part, `commit` the head state that lists them, each
 * inside a transaction of the caller's (one for all: a compaction's cut; one each: in turns). The
 * store's samples between are a later state of the same series (see the top of this file); a
 * compaction, deletion or retention that writes a head state meanwhile takes its place
 * (`st.checkpoint`), and this one is dropped. Parts of one that never commits are deleted by the next.
 *
 * With a `cut` (a compaction's bucket, and what it cut of each series: one transaction; or what a
 * cut in turns cut before), the head state records that bucket and the log records up to `logUpTo`
 * (those covered) whose samples are all before it go. Without one, the last head state's bucket
 * stays and no log record goes: samples a lagging series added before that bucket since are in no
 * chunk row yet, and the forwarder's committed reader follows their records.
 */
export class HeadCheckpoint {
  private readonly seq: number;
  private readonly coveredSeq: number;
  private readonly cutBucket: number;
  private readonly first: number;
  private readonly states: SeriesStateColumns;
  private statesWritten = 0;
  private stateParts = 0;
  private readonly parts: Generator<Buffer, { parts: number; sampleCount: number; cutLists: Map<number, CutList> }>;
  private written = 0;
  private result: { parts: number; sampleCount: number; cutLists: Map<number, CutList> } | undefined;
  /** Samples logged before this checkpoint began (those after it stay due for the next). */
  private readonly loggedBefore: number;

  /** Starts one (inside a transaction): series known only from the log go to the series index first. */
  constructor(
    private readonly st: TsdbState,
    private readonly cut?: { readonly bucket: number; readonly series?: ReadonlyMap<MemSeries, HeadCut>; readonly logUpTo?: number },
  ) {
    const { head, storage } = st;
    // One pass for the series to persist and every series' state, into columns. The states are
    // taken now, not at the commit: a state newer than a part would make replay skip that part's
    // later samples as old.
    const fresh: MemSeries[] = [];
    const n = head.size;
    const states = { count: 0, ids: new Float64Array(n), minT: new Float64Array(n), lastT: new Float64Array(n), lastV: new Float64Array(n) };
    for (const s of head.all()) {
      if (!s.persisted) fresh.push(s);
      const lastT = s.lastT;
      if (lastT === -Infinity) continue;
      const k = states.count++;
      states.ids[k] = s.id;
      states.minT[k] = s.minT;
      states.lastT[k] = lastT;
      states.lastV[k] = s.lastV;
    }
    writeSeriesPages(st, fresh);
    for (const s of fresh) s.persisted = s.logged = true;
    this.cutBucket = cut ? cut.bucket : st.cutBucket;
    this.coveredSeq = st.nextLogSeq - 1;
    this.seq = st.nextLogSeq++;
    this.loggedBefore = st.logSamplesSinceCheckpoint;
    // An unfinished checkpoint's parts are in the other range: gone before this one writes there.
    const last = st.headParts;
    storage.deleteHeadPartsOutside(last.first, last.first + last.count);
    this.first = last.first >= PART_RANGE ? 0 : PART_RANGE;
    this.states = states;
    this.parts = headSampleParts(head, cut?.series, st.headPartBytes, head.nextId);
    st.checkpoint = this;
    st.cut = undefined; // a cut in turns (compaction's BucketCut) that did not finish: this one's head state takes its place
  }

  /** Whether a later head state took this one's place (or the store closed). */
  get dropped(): boolean {
    return this.st.checkpoint !== this;
  }

  /** Writes the next part: the head's samples, then the series' states; false once there is none left (then commit). */
  writePart(): boolean {
    let plain: Buffer;
    const next = this.result ? undefined : this.parts.next();
    if (next && !next.done) plain = next.value;
    else {
      if (next?.done) this.result = next.value;
      const { states } = this;
      if (this.statesWritten === states.count) return false;
      const to = Math.min(states.count, this.statesWritten + STATES_PER_PART);
      plain = encodeStatesPart(states, this.statesWritten, to);
      this.statesWritten = to;
      this.stateParts++;
    }
    const part = this.first + this.written++;
    const { storage } = this.st;
    storage.putHeadPart(part, storage.seal(items.headPart(this.seq, part), plain));
    return true;
  }

  /**
   * Writes the head state listing the parts and drops every other part (with a cut, also the
   * covered log records whose samples are all in chunk rows). Returns the cut series' kept samples
   * as coded (dropCutSamples).
   */
  commit(): ReadonlyMap<number, CutList> {
    while (this.writePart());
    const { st } = this;
    const { storage } = st;
    const done = this.result!;
    storage.putHeadState(this.seq, storage.seal(items.headState(this.seq), encodeHeadState(this.cutBucket, this.coveredSeq, this.first, this.written, this.stateParts)));
    storage.deleteHeadPartsOutside(this.first, this.first + this.written);
    if (this.cut) storage.deleteLogBefore(this.cutBucket, this.cut.logUpTo ?? this.coveredSeq);
    st.headParts = { first: this.first, count: this.written };
    st.cutBucket = this.cutBucket;
    st.coveredSeq = this.coveredSeq;
    st.logSamplesSinceCheckpoint -= this.loggedBefore;
    st.headSamplesAtCheckpoint = done.sampleCount;
    st.checkpoint = undefined;
    return done.cutLists;
  }
}

/** One part: ./head's lists of some series (LISTS_VERSION), `bytes` long at most before padding. */
function encodePart(entries: readonly SeriesSamples[], bytes: number): Buffer {
  const out = new ByteWriter(bytes + PAD_BYTES);
  out.byte(LISTS_VERSION);
  out.varint(entries.length);
  let prev = 0;
  for (const e of entries) {
    out.varint(e.id - prev);
    out.varint(e.count);
    out.varint(e.lastT);
    out.varint(e.list.length);
    out.varint(e.rawT.length);
    out.varint(e.hist.length);
    prev = e.id;
  }
  for (const e of entries) {
    out.bytes(e.list);
    for (const t of e.rawT) out.float64(t);
    for (const v of e.rawV) out.float64(v);
    out.bytes(e.hist);
  }
  out.zeros(PAD_BYTES);
  return out.written(); // the writer is this part's own: no copy of a few MB
}

/**
 * Drops from each cut series the samples a compaction wrote to chunk rows. A series whose remaining
 * samples the checkpoint just coded as one list (`cutLists`) adopts it, so its samples are not
 * decoded once more (unpacking every cut series at once held the whole head as raw samples: 16
 * bytes each); any other drops them from its own.
 */
export function dropCutSamples(cutLists: ReadonlyMap<number, CutList>, cuts: ReadonlyMap<MemSeries, HeadCut>): void {
  for (const [s, cut] of cuts) {
    const e = cut.floats > 0 ? cutLists.get(s.id) : undefined;
    if (e && s.sorted && s.count - cut.floats === e.count) s.adoptPacked(e.list, e.count, e.lastT);
    else if (cut.floats > 0) s.dropFirst(cut.floats);
    if (cut.histograms > 0) s.hist!.dropFirst(cut.histograms);
  }
}

/** Puts a checkpoint's samples back into the head (series unknown to the index are skipped). */
export function restoreHeadSamples(head: Head, samples: HeadSamples): void {
  if (samples.row[0] === LISTS_VERSION) {
    const row = samples.row;
    const view = new DataView(row.buffer, row.byteOffset, row.byteLength);
    for (const e of readLists(row)) {
      const s = head.get(e.id);
      if (!s) continue;
      if (e.count > 0) {
        if (s.count === 0) s.adoptPacked(e.list, e.count, e.lastT);
        else {
          const ts = new Float64Array(e.count);
          const vs = new Float64Array(e.count);
          decodeList(row, e.listAt, e.listAt + e.list.length, ts, vs, 0);
          pushNewer(s, ts, vs);
        }
      }
      for (let i = 0; i < e.raw; i++) {
        const t = view.getFloat64(e.rawAt + 8 * i, true);
        if (s.count === 0 || t > s.lastHeadT) s.push(t, view.getFloat64(e.rawAt + 8 * (e.raw + i), true));
      }
      if (e.hist.length > 0) pushNewerHistograms(s, decodeHistogramChunk(row, e.rawAt + 16 * e.raw, 0));
    }
    return;
  }
  // Versions 1 and 2: the head as one chunk row.
  const row = new ChunkRow(samples.row, samples.base);
  for (const id of row.ids()) {
    const s = head.get(id);
    if (!s) continue;
    const { timestamps, values } = row.decode(id)!;
    const chunk = samples.base === 0 && s.count === 0 ? row.floatChunk(id) : undefined;
    if (chunk) s.adoptChunk(chunk, timestamps, values);
    else pushNewer(s, timestamps, values);
    const h = row.histograms(id);
    if (h) pushNewerHistograms(s, h);
  }
}

function pushNewer(s: MemSeries, timestamps: Float64Array, values: Float64Array): void {
  for (let i = 0; i < timestamps.length; i++) {
    const t = timestamps[i]!;
    if (s.count > 0 && t <= s.lastHeadT) continue;
    s.push(t, values[i]!);
  }
}

function pushNewerHistograms(s: MemSeries, h: HistogramSamples): void {
  const known = s.hist?.count ? s.hist.timestamps[s.hist.count - 1]! : -Infinity;
  for (let i = 0; i < h.timestamps.length; i++) if (h.timestamps[i]! > known) pushHistogram(s, h.timestamps[i]!, h.values[i]!);
}

/**
 * Version 3 of a checkpoint's samples (1 and 2 are chunk rows): count, then per series (id delta,
 * packed float count, newest packed timestamp, list bytes, raw float count, histogram chunk bytes),
 * then per series its list (./head's packed form, relative to 0), raw timestamps and values
 * (float64), and histogram chunk (relative to 0).
 */
const LISTS_VERSION = 3;
/** A raw part longer than this (after sorting or a cut) is coded, not copied raw. */
const LONG_RAW = 64;

/** One series' head samples: `count` packed in `list` (the newest at lastT), then the raw tail, then histograms. */
interface SeriesSamples {
  readonly id: number;
  readonly count: number;
  readonly lastT: number;
  readonly list: Uint8Array;
  readonly rawT: Float64Array;
  readonly rawV: Float64Array;
  readonly hist: Uint8Array;
}

/** A series' entry as read from a row: its raw tail left in the row. */
interface ListEntry extends Omit<SeriesSamples, 'rawT' | 'rawV'> {
  /** Where `list` starts in the row (decoders peek past a chunk's end: the row is padded, `list` is not). */
  readonly listAt: number;
  /** Raw samples, their timestamps from byte `rawAt` of the row, then their values. */
  readonly raw: number;
  readonly rawAt: number;
}

function* readLists(row: Buffer): IterableIterator<ListEntry> {
  const r = new ByteReader(row);
  r.byte();
  const n = r.varint();
  const dir: { id: number; count: number; lastT: number; len: number; raw: number; hLen: number }[] = [];
  let id = 0;
  for (let i = 0; i < n; i++) {
    id += r.varint();
    dir.push({ id, count: r.varint(), lastT: r.varint(), len: r.varint(), raw: r.varint(), hLen: r.varint() });
  }
  let off = r.pos;
  for (const d of dir) {
    const end = off + d.len + 16 * d.raw + d.hLen;
    if (end > row.length) throw new RangeError('head checkpoint directory points past its end');
    const rawAt = off + d.len;
    yield { id: d.id, listAt: off, count: d.count, lastT: d.lastT, list: row.subarray(off, rawAt), raw: d.raw, rawAt, hist: row.subarray(rawAt + 16 * d.raw, end) };
    off = end;
  }
}

const bits = new BitWriter(4096);
const EMPTY = new Float64Array(0);
const EMPTY_BYTES = new Uint8Array(0);
