// The in-memory head: every live series (labels decrypted at open), its not-yet-compacted
// samples, and postings (label name → value → series ids) for matcher lookups.
import { labelsKey, type Label, type Labels } from '../../shared/labels';
import { lowerBound } from './sorted';
import type { CodedChunk } from './types';
import type { HeadHistograms } from './head-histograms';

import { BitReader, BitWriter, PAD_BYTES } from './bitstream';
import { chunkFirstTime, chunkSampleCount, decodeChunkInto, encodeChunk } from './chunkenc';

/**
 * Raw samples kept at the open end of a series before they are compressed (chunkenc's coding, as
 * in chunk rows): 16 samples × 16 bytes is the head's raw part per series.
 */
const TAIL = 16;
/**
 * Packed chunks are merged this many at a time (16 → 128 → 1,024 samples): a long head holds few
 * chunk headers (about 15 bytes each), and each sample is coded at most three times.
 */
const MERGE = 8;
const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_SAMPLES = new Float64Array(0);
const packer = new BitWriter(4096);

/** Arrays a caller decodes series into one after another (MemSeries.decodeInto). */
export interface SampleScratch {
  timestamps: Float64Array;
  values: Float64Array;
}

export class MemSeries {
  /**
   * Head samples not yet cut into chunk rows. The oldest are compressed in `packed` (chunks of
   * strictly ascending samples, each `[byte length varint][chunkenc chunk]`, zero padding at the
   * end for the reader's 32-bit peeks); the newest are raw in `raw` (timestamps at [0, cap),
   * values at [cap, 2·cap)). Out-of-order arrivals, sorting and cutting unpack everything into
   * `raw`; the next push packs it again.
   */
  private packed = EMPTY_BYTES;
  private packedLen = 0;
  private packedCount = 0;
  private packedLastT = -Infinity;
  /** `packed` ends with `smallRun` chunks from byte `smallStart`, preceded by `bigRun` merged ones from `bigStart`. */
  private smallStart = 0;
  private smallRun = 0;
  private bigStart = 0;
  private bigRun = 0;
  private raw = EMPTY_SAMPLES;
  private cap = 0;
  private rawCount = 0;
  /** The newest pushed timestamp, in arrival order (a later push at or before it unsorts the head). */
  private prevT = -Infinity;
  private viewT: Float64Array | undefined;
  private viewV: Float64Array | undefined;
  /** Whether head samples are in time order (false after an out-of-order arrival, until sortHead). */
  sorted = true;
  /** Head native-histogram samples (./head-histograms); null until the series has one. */
  hist: HeadHistograms | null = null;
  /** Over all of the series' samples (head and disk); Infinity/-Infinity when none. */
  minT = Infinity;
  lastT = -Infinity;
  lastV = NaN;
  /** Labels written to a series page (otherwise only in the log, or nowhere yet). */
  persisted = false;
  /** Labels written to the log or a page. */
  logged = false;
  /** Appender bookkeeping: the last pending sample of the open batch `pendingBatch`. */
  pendingBatch = 0;
  pendingT = 0;
  pendingV = 0;

  constructor(
    readonly id: number,
    readonly labels: Labels,
    readonly key: string,
  ) {}

  /** Number of head samples. */
  get count(): number {
    return this.packedCount + this.rawCount;
  }

  /**
   * Head samples [0, count) in arrival order (time order when `sorted`): read-only views, valid
   * until the next push or change (compressed samples are decoded into a copy kept until then,
   * or until release()).
   */
  get timestamps(): Float64Array {
    if (!this.viewT) this.makeView();
    return this.viewT!;
  }

  get values(): Float64Array {
    if (!this.viewV) this.makeView();
    return this.viewV!;
  }

  /** The oldest head sample's timestamp (count > 0), without decoding the series. */
  get firstHeadT(): number {
    if (this.packedCount === 0) return this.raw[0]!;
    let off = 0;
    while (this.packed[off]! >= 128) off++;
    const r = new BitReader(this.packed, off + 1);
    r.readVar();
    return r.readVar();
  }

  /** The newest head sample's timestamp (count > 0 and sorted), without decoding the series. */
  get lastHeadT(): number {
    return this.rawCount > 0 ? this.raw[this.rawCount - 1]! : this.packedLastT;
  }

  /**
   * The head samples [0, count) in arrival order, decoded into `into`'s arrays (replaced by larger
   * ones when too small) unless none is compressed: views for a caller done with them before it
   * decodes the next series. Nothing is kept on the series: a compaction decoding every series
   * through `timestamps` left two arrays a series for the collector (2 × 3,840 bytes with a 2 h
   * head), whose peak the allocator kept resident.
   */
  decodeInto(into: SampleScratch): { timestamps: Float64Array; values: Float64Array } {
    const n = this.count;
    if (this.packedCount === 0) return { timestamps: this.raw.subarray(0, n), values: this.raw.subarray(this.cap, this.cap + n) };
    if (into.timestamps.length < n) {
      into.timestamps = new Float64Array(n + (n >> 1));
      into.values = new Float64Array(into.timestamps.length);
    }
    this.decodePacked(into.timestamps, into.values);
    into.timestamps.set(this.raw.subarray(0, this.rawCount), this.packedCount);
    into.values.set(this.raw.subarray(this.cap, this.cap + this.rawCount), this.packedCount);
    return { timestamps: into.timestamps.subarray(0, n), values: into.values.subarray(0, n) };
  }

  /** Drops the decoded copy of compressed samples made for a reader. */
  release(): void {
    this.viewT = this.viewV = undefined;
  }

  push(t: number, v: number): void {
    if (t > this.lastT) {
      this.lastT = t;
      this.lastV = v;
    }
    if (t <= this.prevT) this.sorted = false;
    this.prevT = t;
    if (t < this.minT) this.minT = t;
    if (this.rawCount === this.cap) this.resizeRaw(replaying ? Math.max(REPLAY_CHUNK, this.cap * 2) : Math.max(TAIL, this.cap * 2));
    this.raw[this.rawCount] = t;
    this.raw[this.cap + this.rawCount] = v;
    this.rawCount++;
    this.viewT = this.viewV = undefined;
    // Packs and merges fall due at a phase set by the series id, not at once for every series
    // scraped together: a commit that packed them all would stall the thread.
    const due = replaying ? this.rawCount >= REPLAY_CHUNK : this.rawCount >= TAIL || (this.count + this.id) % TAIL === 0;
    if (due) this.packRaw();
  }

  /** Packs the raw samples when they can follow the packed ones (sorted, after them, from 1970). */
  private packRaw(): void {
    if (this.rawCount > 0 && this.sorted && this.raw[0]! >= 0 && this.raw[0]! > this.packedLastT) this.pack();
  }

  /** After a replay: packs the raw samples; the chunks so far are left as they are, never merged. */
  settle(): void {
    this.packRaw();
    if (this.rawCount === 0 && this.cap > TAIL) {
      this.raw = new Float64Array(2 * TAIL);
      this.cap = TAIL;
    }
    if (this.packed.length > this.packedLen + PAD_BYTES) this.packed = this.packed.slice(0, this.packedLen + PAD_BYTES);
    this.smallStart = this.bigStart = this.packedLen;
    this.smallRun = this.bigRun = 0;
  }

  /**
   * Fills an empty series with `chunk` (one chunkenc chunk relative to 0, of ascending samples
   * `ts`/`vs` already decoded from it), kept compressed as it is (an older checkpoint's coding).
   */
  adoptChunk(chunk: Uint8Array, ts: Float64Array, vs: Float64Array): void {
    const n = ts.length;
    if (n === 0) return;
    if (this.count > 0 || ts[0]! < 0) {
      for (let i = 0; i < n; i++) this.push(ts[i]!, vs[i]!);
      return;
    }
    const list = new Uint8Array(entrySize(chunk.length));
    writeEntry(list, 0, chunk);
    this.adoptPacked(list, n, ts[n - 1]!);
    if (ts[0]! < this.minT) this.minT = ts[0]!;
    if (ts[n - 1]! > this.lastT) {
      this.lastT = ts[n - 1]!;
      this.lastV = vs[n - 1]!;
    }
  }

  /**
   * Replaces the head samples by `list` (chunks as in `packed`: `count` ascending samples, the
   * newest at `lastT`): a restart and a compaction's cut adopt a checkpoint's coding. Copied, or
   * (`shared`, when its buffer holds PAD_BYTES more after it) kept as a view of that buffer: a
   * restart's 100,000 series then allocate nothing, and each gets its own list when it first grows
   * (a write past the view's end always reallocates, so the bytes after it are only ever peeked at).
   */
  adoptPacked(list: Uint8Array, count: number, lastT: number, shared = false): void {
    if (shared && list.byteOffset + list.length + PAD_BYTES <= list.buffer.byteLength) {
      this.packed = new Uint8Array(list.buffer as ArrayBuffer, list.byteOffset, list.length + PAD_BYTES);
    } else {
      this.packed = new Uint8Array(list.length + PAD_BYTES);
      this.packed.set(list);
    }
    this.packedLen = this.smallStart = this.bigStart = list.length;
    this.smallRun = this.bigRun = 0;
    this.packedCount = count;
    this.packedLastT = this.prevT = lastT;
    this.rawCount = 0;
    this.sorted = true;
    if (this.cap > TAIL) {
      this.raw = new Float64Array(2 * TAIL);
      this.cap = TAIL;
    }
    this.viewT = this.viewV = undefined;
  }

  /** Sorts head samples by time; for equal timestamps the later arrival wins. */
  sortHead(): void {
    if (this.sorted) return;
    this.unpack();
    const n0 = this.rawCount;
    const cap = this.cap;
    const raw = this.raw;
    const idx = Array.from({ length: n0 }, (_, i) => i);
    idx.sort((a, b) => raw[a]! - raw[b]! || b - a);
    const out = new Float64Array(2 * Math.max(TAIL, n0));
    const ncap = out.length / 2;
    let n = 0;
    for (const i of idx) {
      if (n > 0 && out[n - 1] === raw[i]) continue;
      out[n] = raw[i]!;
      out[ncap + n] = raw[cap + i]!;
      n++;
    }
    this.raw = out;
    this.cap = ncap;
    this.rawCount = n;
    this.sorted = true;
    this.changed();
  }

  /**
   * The head samples in [mint, maxt], sorted, as views valid until the next append or cut (the
   * querier copies them; a head snapshot for a query worker copies them too).
   */
  window(mint: number, maxt: number): { timestamps: Float64Array; values: Float64Array } {
    if (this.count === 0) return { timestamps: this.timestamps.subarray(0, 0), values: this.values.subarray(0, 0) };
    this.sortHead();
    const head = this.timestamps.subarray(0, this.count);
    const lo = lowerBound(head, mint);
    const hi = lowerBound(head, maxt, true);
    return { timestamps: this.timestamps.subarray(lo, Math.max(lo, hi)), values: this.values.subarray(lo, Math.max(lo, hi)) };
  }

  /**
   * The head samples as they are kept — the packed list (relative to 0, its newest sample at
   * listLastT), then the raw tail — as views valid until the next change: a checkpoint and a query
   * worker's snapshot copy these. Undefined when the head is unsorted.
   */
  kept(): { list: Uint8Array; listLastT: number; timestamps: Float64Array; values: Float64Array } | undefined {
    if (!this.sorted) return undefined;
    return { list: this.packed.subarray(0, this.packedLen), listLastT: this.packedLastT, timestamps: this.raw.subarray(0, this.rawCount), values: this.raw.subarray(this.cap, this.cap + this.rawCount) };
  }

  /** Drops head samples [0, n) (they were written to chunk rows), giving back spare memory. */
  dropFirst(n: number): void {
    if (n <= 0) return;
    this.unpack();
    const rest = this.rawCount - n;
    const out = new Float64Array(2 * Math.max(TAIL, rest));
    const ncap = out.length / 2;
    out.set(this.raw.subarray(n, n + rest), 0);
    out.set(this.raw.subarray(this.cap + n, this.cap + n + rest), ncap);
    this.raw = out;
    this.cap = ncap;
    this.rawCount = rest;
    this.changed();
  }

  /**
   * Drops head samples before `t`; returns how many. A sorted head whose oldest sample is not older
   * stays as it is (retention asks every series each maintenance run; unpacking them all would
   * decode the whole head to raw samples).
   */
  dropBefore(t: number): number {
    if (this.count === 0 || (this.sorted && this.firstHeadT >= t)) return 0;
    this.unpack();
    const raw = this.raw;
    const cap = this.cap;
    let n = 0;
    for (let i = 0; i < this.rawCount; i++) {
      if (raw[i]! < t) continue;
      raw[n] = raw[i]!;
      raw[cap + n] = raw[cap + i]!;
      n++;
    }
    const dropped = this.rawCount - n;
    this.rawCount = n;
    this.changed();
    return dropped;
  }

  private changed(): void {
    this.viewT = this.viewV = undefined;
    this.prevT = this.count > 0 ? this.raw[this.rawCount - 1]! : -Infinity;
  }

  private resizeRaw(cap: number): void {
    const out = new Float64Array(2 * cap);
    out.set(this.raw.subarray(0, this.rawCount), 0);
    out.set(this.raw.subarray(this.cap, this.cap + this.rawCount), cap);
    this.raw = out;
    this.cap = cap;
  }

  private makeView(): void {
    if (this.packedCount === 0) {
      this.viewT = this.raw.subarray(0, this.cap);
      this.viewV = this.raw.subarray(this.cap, 2 * this.cap);
      return;
    }
    const n = this.count;
    const ts = new Float64Array(n);
    const vs = new Float64Array(n);
    this.decodePacked(ts, vs);
    ts.set(this.raw.subarray(0, this.rawCount), this.packedCount);
    vs.set(this.raw.subarray(this.cap, this.cap + this.rawCount), this.packedCount);
    this.viewT = ts;
    this.viewV = vs;
  }

  private decodePacked(ts: Float64Array, vs: Float64Array): void {
    decodeList(this.packed, 0, this.packedLen, ts, vs, 0);
  }

  /** Compresses the raw samples (sorted, all after the compressed ones) into a new chunk. */
  private pack(): void {
    const n = this.rawCount;
    packer.reset();
    encodeChunk(packer, this.raw, this.raw.subarray(this.cap), 0, n, 0);
    this.packedLen = this.writeChunkAt(this.packedLen, packer.finish());
    this.packedCount += n;
    this.packedLastT = this.raw[n - 1]!;
    this.rawCount = 0;
    if (this.cap > TAIL && !replaying) {
      this.raw = new Float64Array(2 * TAIL);
      this.cap = TAIL;
    }
    if (replaying) return;
    const k = Math.floor((this.count + this.id) / TAIL);
    if (++this.smallRun < MERGE && (this.smallRun < 2 || k % MERGE !== 0)) return;
    this.packedLen = this.merge(this.smallStart);
    this.smallStart = this.packedLen;
    this.smallRun = 0;
    if (++this.bigRun < MERGE && (this.bigRun < 2 || k % (MERGE * MERGE) !== 0)) return;
    this.packedLen = this.merge(this.bigStart);
    this.bigStart = this.smallStart = this.packedLen;
    this.bigRun = 0;
  }

  /** Writes `chunk` as a list entry at byte `at` of `packed` (growing it); returns the end. */
  private writeChunkAt(at: number, chunk: Uint8Array): number {
    let need = at + entrySize(chunk.length) + PAD_BYTES;
    if (need > this.packed.length) {
      // A size class (steps of 1.5 and 4/3), not double: the slack of 100,000 series' lists is
      // resident memory, while the copies stay rare (a list grows by a 16-sample chunk of ~30 bytes
      // at a time). Few sizes, so the allocator reuses what an outgrown list leaves: with the +25 %
      // growth of before (any size), 100,000 series × 2 h left 256 MB in the allocator's heap,
      // 177–191 MB with classes, for 1.71 → 1.75 bytes a sample in the head. A replay doubles, and
      // settle() trims.
      need = replaying ? Math.max(need, 2 * at + PAD_BYTES, 64) : sizeClass(need);
      const out = new Uint8Array(need);
      out.set(this.packed.subarray(0, at));
      this.packed = out;
    }
    return writeEntry(this.packed, at, chunk);
  }

  /** Codes the packed chunks from byte `start` to the end as one chunk; returns the new end. */
  private merge(start: number): number {
    const n = listCount(this.packed, start, this.packedLen);
    if (mergeT.length < n) (mergeT = new Float64Array(2 * n)), (mergeV = new Float64Array(2 * n));
    decodeList(this.packed, start, this.packedLen, mergeT, mergeV, 0);
    packer.reset();
    encodeChunk(packer, mergeT, mergeV, 0, n, 0);
    return this.writeChunkAt(start, packer.finish());
  }

  /** Moves every head sample into the raw part (to sort, cut or filter them). */
  private unpack(): void {
    if (this.packedCount === 0) return;
    const n = this.count;
    const cap = Math.max(TAIL, n);
    const out = new Float64Array(2 * cap);
    this.decodePacked(out, out.subarray(cap));
    out.set(this.raw.subarray(0, this.rawCount), this.packedCount);
    out.set(this.raw.subarray(this.cap, this.cap + this.rawCount), cap + this.packedCount);
    this.raw = out;
    this.cap = cap;
    this.rawCount = n;
    this.packed = EMPTY_BYTES;
    this.packedLen = this.packedCount = this.smallStart = this.smallRun = this.bigStart = this.bigRun = 0;
    this.packedLastT = -Infinity;
    this.viewT = this.viewV = undefined;
  }
}

/**
 * While a store loads (Head.replay), pushes pack every REPLAY_CHUNK samples and never merge: each
 * replayed sample is coded once.
 */
let replaying = false;
const REPLAY_CHUNK = 64;

let mergeT = new Float64Array(2 * MERGE * MERGE * TAIL);
let mergeV = new Float64Array(2 * MERGE * MERGE * TAIL);

/** The smallest of 64, 96, 128, 192, 256, 384… (steps of 1.5 and 4/3) that holds `n`. */
function sizeClass(n: number): number {
  let c = 64;
  while (c < n) c = c % 3 === 0 ? (c / 3) * 4 : (c / 2) * 3;
  return c;
}

/** Bytes of a list entry: the chunk's byte length as a varint, then the chunk. */
function entrySize(chunkLength: number): number {
  let n = 1;
  for (let len = chunkLength; len >= 128; len = Math.floor(len / 128)) n++;
  return n + chunkLength;
}

/** Writes `chunk` as a list entry at byte `at` of `out`; returns the end. */
function writeEntry(out: Uint8Array, at: number, chunk: Uint8Array): number {
  let len = chunk.length;
  while (len >= 128) {
    out[at++] = 0x80 | (len % 128);
    len = Math.floor(len / 128);
  }
  out[at++] = len;
  out.set(chunk, at);
  return at + chunk.length;
}

/**
 * Calls `each(chunkOffset, entry, next)` for the chunks of a list between bytes `start` and `end`:
 * the chunk's entry spans bytes [entry, next).
 */
function forEachChunk(list: Uint8Array, start: number, end: number, each: (off: number, entry: number, next: number) => void): void {
  let entry = start;
  while (entry < end) {
    let off = entry;
    let len = 0;
    let mul = 1;
    for (;;) {
      const b = list[off++]!;
      len += (b & 0x7f) * mul;
      if (b < 128) break;
      mul *= 128;
    }
    each(off, entry, off + len);
    entry = off + len;
  }
}

/**
 * The chunks of a list (between bytes `start` and `end`) that may hold samples in [mint, maxt]:
 * bytes [from, to) with `count` samples (a chunk ends before the next one starts).
 */
export function listSpan(list: Uint8Array, start: number, end: number, mint: number, maxt: number): { from: number; to: number; count: number } {
  let from = start;
  let to = start;
  let count = 0;
  forEachChunk(list, start, end, (off, entry, next) => {
    const firstT = chunkFirstTime(list, off, 0);
    if (firstT <= mint) {
      from = entry;
      count = 0;
    }
    if (firstT <= maxt) {
      count += chunkSampleCount(list, off);
      to = next;
    }
  });
  return { from, to: Math.max(from, to), count: to > from ? count : 0 };
}

/** The chunks of a list between bytes `start` and `end` (timestamps absolute: bucket start 0), appended to `out`. */
export function listChunks(list: Uint8Array, start: number, end: number, out: CodedChunk[]): void {
  forEachChunk(list, start, end, (off, _entry, next) => out.push({ buf: list, at: off, length: next - off, bucketStart: 0 }));
}

/** Samples of a list of chunks between bytes `start` and `end`. */
export function listCount(list: Uint8Array, start: number, end: number): number {
  let n = 0;
  forEachChunk(list, start, end, (off) => (n += chunkSampleCount(list, off)));
  return n;
}

/** Decodes a list of chunks (relative to 0) between bytes `start` and `end` into ts/vs from `at`; returns the count. */
export function decodeList(list: Uint8Array, start: number, end: number, ts: Float64Array, vs: Float64Array, at: number): number {
  let n = 0;
  forEachChunk(list, start, end, (off) => (n += decodeChunkInto(list, off, 0, ts, vs, at + n)));
  return n;
}

/** Samples [from, to) of ascending `ts` (ts[from] >= 0) as a one-chunk list. */
export function encodeList(ts: Float64Array, vs: Float64Array, from: number, to: number): Uint8Array {
  packer.reset();
  encodeChunk(packer, ts, vs, from, to, 0);
  const chunk = packer.finish();
  const out = new Uint8Array(entrySize(chunk.length));
  writeEntry(out, 0, chunk);
  return out;
}

export class Head {
  /** By id; ids start at 1 so that ref 0 means "look up by labels". */
  private readonly byId: (MemSeries | undefined)[] = [undefined];
  private readonly byKey = new Map<string, MemSeries>();
  /** name → value → ids ascending. */
  readonly postings = new Map<string, Map<string, number[]>>();
  private live = 0;
  /**
   * One label object per name and value, shared by every series that has the pair, so one copy of
   * each string too (decoded labels arrive as fresh objects and strings); a pair goes when its last
   * posting does.
   */
  private readonly pairs = new Map<string, Map<string, Label>>();

  private intern(l: Label): Label {
    let byValue = this.pairs.get(l.name);
    if (!byValue) this.pairs.set(l.name, (byValue = new Map()));
    let pair = byValue.get(l.value);
    if (!pair) {
      // The name as the first pair under it holds it.
      const name = byValue.values().next().value?.name ?? l.name;
      byValue.set(l.value, (pair = { name, value: l.value }));
    }
    return pair;
  }

  get size(): number {
    return this.live;
  }

  /** Runs a load (checkpoint and log replay) coding each replayed sample once (see `replaying`). */
  replay(load: () => void): void {
    replaying = true;
    try {
      load();
    } finally {
      replaying = false;
    }
    for (const s of this.all()) s.settle();
  }

  get nextId(): number {
    return this.byId.length;
  }

  get(id: number): MemSeries | undefined {
    return this.byId[id];
  }

  getByLabels(labels: Labels): MemSeries | undefined {
    return this.byKey.get(labelsKey(labels));
  }

  /** Adds a series with a given id (ids only grow, so postings stay sorted when ids are added in order). */
  add(id: number, labels: Labels, key = labelsKey(labels)): MemSeries {
    const s = new MemSeries(id, labels.map((l) => this.intern(l)), key);
    while (this.byId.length <= id) this.byId.push(undefined);
    this.byId[id] = s;
    this.byKey.set(s.key, s);
    this.live++;
    for (const l of s.labels) {
      let values = this.postings.get(l.name);
      if (!values) this.postings.set(l.name, (values = new Map()));
      const ids = values.get(l.value);
      if (!ids) values.set(l.value, [id]);
      else if (ids[ids.length - 1]! < id) ids.push(id);
      else {
        ids.push(id);
        ids.sort((a, b) => a - b);
      }
    }
    return s;
  }

  remove(s: MemSeries): void {
    if (this.byId[s.id] !== s) return;
    this.byId[s.id] = undefined;
    this.byKey.delete(s.key);
    this.live--;
    for (const l of s.labels) {
      const values = this.postings.get(l.name);
      const ids = values?.get(l.value);
      if (!values || !ids) continue;
      const rest = ids.filter((i) => i !== s.id);
      if (rest.length) values.set(l.value, rest);
      else {
        values.delete(l.value);
        const byValue = this.pairs.get(l.name)!;
        byValue.delete(l.value);
        if (byValue.size === 0) this.pairs.delete(l.name);
        if (values.size === 0) this.postings.delete(l.name);
      }
    }
  }

  *all(): IterableIterator<MemSeries> {
    for (const s of this.byId) if (s) yield s;
  }
}
