// The in-memory head: every live series (labels decrypted at open), its not-yet-compacted
// samples, and postings (label name → value → series ids) for matcher lookups.
import type { Label, Labels } from '../../shared/labels';
import { lowerBound } from './sorted';
import type { HeadHistograms } from './head-histograms';

import { BitWriter, PAD_BYTES } from './bitstream';
import { blockSize, sizeClass, Slab } from './slab';
import { LabelsTable } from './labels-table';
import { chunkFirstTime, chunkSampleCount, decodeChunkInto, encodeChunk } from './chunkenc';
import { HeadChunk } from './one-chunk';

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
const EMPTY_BYTES: Uint8Array = new Uint8Array(0);
const EMPTY_SAMPLES: Float64Array = new Float64Array(0);
const packer = new BitWriter(4096);
const SORTED = 1;
const PERSISTED = 2;
const LOGGED = 4;
/** In packQueue. */
const QUEUED = 8;
/** The blocks of series made outside a head (tests). */
const standalone = new Slab();

/** Arrays a caller decodes series into one after another (MemSeries.decodeInto). */
export interface SampleScratch {
  timestamps: Float64Array;
  values: Float64Array;
}

export class MemSeries {
  // Fields are laid out in the object in the order they are declared: those every push and the
  // appender's order check read come first, so a sample touches one or two of the object's cache
  // lines, not all four.
  readonly id: number;
  /** SORTED, PERSISTED and LOGGED: one field, not three (8 bytes each, at 1 M series 16 MB). */
  private flags = SORTED;
  /**
   * minT, lastT, lastV and packedLastT, at [numAt, numAt + 4) of `nums`: a 32-byte block of the
   * slab. As fields, each double was a heap number of its own (16 bytes) besides its field.
   */
  private nums: Float64Array;
  private numAt: number;
  /** Appender bookkeeping: where the newest sample of the open batch `pendingBatch` is in it. */
  pendingBatch = 0;
  pendingAt = 0;
  /**
   * Head samples not yet cut into chunk rows. The oldest are compressed in a list (chunks of
   * strictly ascending samples, each `[byte length varint][chunkenc chunk]`, followed by PAD_BYTES
   * for the reader's 32-bit peeks) at bytes [listAt, listAt + packedLen) of `packed`; the newest
   * are raw (timestamps at [rawAt, rawAt + cap), values at [rawAt + cap, rawAt + 2·cap) of `raw`).
   * Both are blocks of the head's slab (`listRef`, `rawRef`), or arrays of their own when too
   * large for one (ref -1). Out-of-order arrivals, sorting and cutting unpack everything into the
   * raw part; the next push packs it again.
   */
  private raw = EMPTY_SAMPLES;
  private rawAt = 0;
  private cap = 0;
  private rawCount = 0;
  /** The head samples decoded for a reader (timestamps, values), kept until the next change. */
  private view: [Float64Array, Float64Array] | undefined;
  private packedCount = 0;
  private packed = EMPTY_BYTES;
  private listAt = 0;
  private listRef = -1;
  private packedLen = 0;
  private rawRef = -1;
  /** The list ends with `smallRun` chunks from byte `smallStart`, preceded by `bigRun` merged ones from `bigStart`. */
  private smallStart = 0;
  private smallRun = 0;
  private bigStart = 0;
  private bigRun = 0;
  private numRef: number;
  readonly labels: Labels;
  private readonly slab: Slab;
  /** Head native-histogram samples (./head-histograms); null until the series has one. */
  hist: HeadHistograms | null = null;

  constructor(id: number, labels: Labels, slab: Slab = standalone) {
    this.id = id;
    this.labels = labels;
    this.slab = slab;
    this.numRef = slab.allocate(32);
    this.nums = slab.floats(this.numRef);
    this.numAt = slab.offset(this.numRef) / 8;
    this.nums[this.numAt] = Infinity;
    this.nums[this.numAt + 1] = -Infinity;
    this.nums[this.numAt + 2] = NaN;
    this.nums[this.numAt + 3] = -Infinity;
  }

  /** Over all of the series' samples (head and disk); Infinity/-Infinity when none. */
  get minT(): number {
    return this.nums[this.numAt]!;
  }

  set minT(t: number) {
    this.nums[this.numAt] = t;
  }

  get lastT(): number {
    return this.nums[this.numAt + 1]!;
  }

  set lastT(t: number) {
    this.nums[this.numAt + 1] = t;
  }

  get lastV(): number {
    return this.nums[this.numAt + 2]!;
  }

  set lastV(v: number) {
    this.nums[this.numAt + 2] = v;
  }

  /** The newest timestamp in the list. */
  private get packedLastT(): number {
    return this.nums[this.numAt + 3]!;
  }

  private set packedLastT(t: number) {
    this.nums[this.numAt + 3] = t;
  }

  /** Whether head samples are in time order (false after an out-of-order arrival, until sortHead). */
  get sorted(): boolean {
    return (this.flags & SORTED) !== 0;
  }

  set sorted(on: boolean) {
    this.setFlag(SORTED, on);
  }

  /** Labels written to a series page (otherwise only in the log, or nowhere yet). */
  get persisted(): boolean {
    return (this.flags & PERSISTED) !== 0;
  }

  set persisted(on: boolean) {
    this.setFlag(PERSISTED, on);
  }

  /** Labels written to the log or a page. */
  get logged(): boolean {
    return (this.flags & LOGGED) !== 0;
  }

  set logged(on: boolean) {
    this.setFlag(LOGGED, on);
  }

  private setFlag(flag: number, on: boolean): void {
    this.flags = on ? this.flags | flag : this.flags & ~flag;
  }

  /** Bytes the list may grow to (from listAt) before it moves. */
  private get listCap(): number {
    return this.listRef >= 0 ? this.slab.size(this.listRef) : this.packed.length;
  }

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
    return (this.view ??= this.makeView())[0];
  }

  get values(): Float64Array {
    return (this.view ??= this.makeView())[1];
  }

  /** The oldest head sample's timestamp (count > 0), without decoding the series. */
  get firstHeadT(): number {
    if (this.packedCount === 0) return this.raw[this.rawAt]!;
    let off = this.listAt;
    while (this.packed[off]! >= 128) off++;
    return chunkFirstTime(this.packed, off + 1, 0);
  }

  /** The newest head sample's timestamp (count > 0 and sorted), without decoding the series. */
  get lastHeadT(): number {
    return this.rawCount > 0 ? this.raw[this.rawAt + this.rawCount - 1]! : this.packedLastT;
  }

  /** The raw samples as views (no views made of an empty tail, as after every pack). */
  private get rawT(): Float64Array {
    return this.rawCount === 0 ? EMPTY_SAMPLES : this.raw.subarray(this.rawAt, this.rawAt + this.rawCount);
  }

  private get rawV(): Float64Array {
    return this.rawCount === 0 ? EMPTY_SAMPLES : this.raw.subarray(this.rawAt + this.cap, this.rawAt + this.cap + this.rawCount);
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
    if (this.packedCount === 0) return { timestamps: this.rawT, values: this.rawV };
    if (into.timestamps.length < n) {
      into.timestamps = new Float64Array(n + (n >> 1));
      into.values = new Float64Array(into.timestamps.length);
    }
    this.decodePacked(into.timestamps, into.values);
    into.timestamps.set(this.rawT, this.packedCount);
    into.values.set(this.rawV, this.packedCount);
    return { timestamps: into.timestamps.subarray(0, n), values: into.values.subarray(0, n) };
  }

  /** Drops the decoded copy of compressed samples made for a reader. */
  release(): void {
    this.view = undefined;
  }

  /** Gives the series' blocks back to the slab (the series is gone from the head). */
  free(): void {
    this.setList(EMPTY_BYTES, 0, -1);
    this.setRaw(EMPTY_SAMPLES, 0, -1, 0);
    this.packedLen = this.packedCount = this.rawCount = 0;
    this.view = undefined;
    // Read after removal (a rollback, a retention run): kept in an array of its own.
    if (this.numRef < 0) return;
    const nums = this.nums.slice(this.numAt, this.numAt + 4);
    this.slab.release(this.numRef);
    this.nums = nums;
    this.numAt = 0;
    this.numRef = -1;
  }

  push(t: number, v: number): void {
    const lastT = this.lastT;
    if (t > lastT) {
      this.lastT = t;
      this.lastV = v;
    }
    // lastHeadT is also the newest push (in arrival order): one at or before it unsorts the head.
    // No head sample is after lastT (nor after packedLastT, which a restore's adopted list sets
    // first): the common push after both does not read the raw tail's block for that.
    if ((t <= lastT || t <= this.packedLastT) && t <= this.lastHeadT) this.sorted = false;
    if (t < this.minT) this.minT = t;
    // A replay's tails grow to REPLAY_CHUNK only when a series has that many samples to replay: a
    // restart whose checkpoint holds every series' last few raw samples allocated 1 KiB for each
    // (at 1 M series, a GB of blocks and the collections the allocation drove).
    if (this.rawCount === this.cap) {
      // A full tail whose pack waits in the queue packs now: growing the block for it cost an
      // allocation, a copy and a release, and another allocation after the pack.
      if ((this.flags & QUEUED) !== 0) {
        this.flags &= ~QUEUED;
        this.packRaw();
      }
      if (this.rawCount === this.cap) this.resizeRaw(Math.max(TAIL, this.cap * 2));
    }
    this.raw[this.rawAt + this.rawCount] = t;
    this.raw[this.rawAt + this.cap + this.rawCount] = v;
    this.rawCount++;
    this.view = undefined;
    // Packs and merges fall due at a phase set by the series id, not at once for every series
    // scraped together: a commit that packed them all would stall the thread.
    const due = replaying ? this.rawCount >= REPLAY_CHUNK : this.rawCount >= TAIL || (this.count + this.id) % TAIL === 0;
    if (!due) return;
    if (!deferring || this.rawCount >= PACK_LATER_MAX) this.packRaw();
    else if ((this.flags & QUEUED) !== 0) return; // its turn comes
    else if (packQueue.length >= PACK_QUEUE_MAX) this.packRaw();
    else {
      this.flags |= QUEUED;
      packQueue.push(this);
    }
  }

  /** Gives back the raw block of a series with no raw samples (idle since its last pack). */
  releaseIdleRaw(): void {
    if (this.rawCount === 0 && this.cap > 0) this.setRaw(EMPTY_SAMPLES, 0, -1, 0);
  }

  /** Packs what a commit left raw for later (see deferPacks). */
  packQueued(): void {
    if ((this.flags & QUEUED) === 0) return; // packed since, when its tail filled up
    this.flags &= ~QUEUED;
    this.packRaw();
  }

  /** Packs the raw samples when they can follow the packed ones (sorted, after them, from 1970). */
  private packRaw(): void {
    if (this.rawCount > 0 && this.sorted && this.raw[this.rawAt]! >= 0 && this.raw[this.rawAt]! > this.packedLastT) this.pack();
  }

  /**
   * After a replay: packs a long raw tail (a short one stays raw, as between pushes: coding every
   * series' last few samples cost a restart of 1 M series 1.2 s), and moves the list to a block its
   * size; the chunks so far are left as they are, never merged.
   */
  settle(): void {
    if (this.rawCount >= TAIL) this.packRaw();
    if (this.rawCount === 0) this.setRaw(EMPTY_SAMPLES, 0, -1, 0);
    else if (this.cap > TAIL && this.rawCount < TAIL) this.resizeRaw(TAIL);
    const fit = this.packedLen + PAD_BYTES;
    if (this.packedLen === 0) this.setList(EMPTY_BYTES, 0, -1);
    else if (this.listCap > (blockSize(fit) ?? fit)) this.moveList(fit);
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
   * Replaces the head samples by a copy of `list` (chunks as in the list: `count` ascending samples,
   * the newest at `lastT`): a restart and a compaction's cut adopt a checkpoint's coding.
   */
  adoptPacked(list: Uint8Array, count: number, lastT: number): void {
    this.packedLen = 0;
    this.moveList(list.length + PAD_BYTES);
    this.packed.set(list, this.listAt);
    this.packedLen = this.smallStart = this.bigStart = list.length;
    this.smallRun = this.bigRun = 0;
    this.packedCount = count;
    this.packedLastT = lastT;
    this.rawCount = 0;
    this.sorted = true;
    this.setRaw(EMPTY_SAMPLES, 0, -1, 0);
    this.view = undefined;
  }

  /** Sorts head samples by time; for equal timestamps the later arrival wins. */
  sortHead(): void {
    if (this.sorted) return;
    this.unpack();
    const n0 = this.rawCount;
    const ts = this.rawT.slice();
    const vs = this.rawV.slice();
    const idx = Array.from({ length: n0 }, (_, i) => i);
    idx.sort((a, b) => ts[a]! - ts[b]! || b - a);
    const raw = this.raw;
    const at = this.rawAt;
    const cap = this.cap;
    let n = 0;
    for (const i of idx) {
      if (n > 0 && raw[at + n - 1] === ts[i]) continue;
      raw[at + n] = ts[i]!;
      raw[at + cap + n] = vs[i]!;
      n++;
    }
    this.rawCount = n;
    this.sorted = true;
    this.view = undefined;
  }

  /**
   * The head samples in [mint, maxt], sorted, as views valid until the next append or cut (the
   * querier copies them; a head snapshot for a query worker copies them too).
   */
  window(mint: number, maxt: number): { timestamps: Float64Array; values: Float64Array } {
    if (this.count === 0) return { timestamps: EMPTY_SAMPLES, values: EMPTY_SAMPLES };
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
    return { list: this.packed.subarray(this.listAt, this.listAt + this.packedLen), listLastT: this.packedLastT, timestamps: this.rawT, values: this.rawV };
  }

  /** Drops head samples [0, n) (they were written to chunk rows), giving back spare memory. */
  dropFirst(n: number): void {
    if (n <= 0) return;
    this.unpack();
    if (n >= this.rawCount) {
      this.rawCount = 0;
      this.setRaw(EMPTY_SAMPLES, 0, -1, 0);
    } else this.placeRaw(this.rawT.subarray(n), this.rawV.subarray(n), TAIL);
    this.view = undefined;
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
    const at = this.rawAt;
    const cap = this.cap;
    let n = 0;
    for (let i = 0; i < this.rawCount; i++) {
      if (raw[at + i]! < t) continue;
      raw[at + n] = raw[at + i]!;
      raw[at + cap + n] = raw[at + cap + i]!;
      n++;
    }
    const dropped = this.rawCount - n;
    this.rawCount = n;
    this.view = undefined;
    return dropped;
  }

  /** Room for `cap` raw samples (a slab block when one is large enough), the raw ones kept. */
  private resizeRaw(cap: number): void {
    this.placeRaw(this.rawT, this.rawV, cap);
  }

  /**
   * Makes `ts`/`vs` the raw samples, in new room for at least `cap` of them (and all of them): a
   * slab block when one is large enough. Copied before the old room is given back, so they may be
   * views of it.
   */
  private placeRaw(ts: Float64Array, vs: Float64Array, cap: number): void {
    const want = Math.max(cap, ts.length);
    const ref = this.slab.allocate(16 * want);
    const raw = ref >= 0 ? this.slab.floats(ref) : new Float64Array(2 * want);
    const at = ref >= 0 ? this.slab.offset(ref) / 8 : 0;
    const ncap = ref >= 0 ? this.slab.size(ref) / 16 : want;
    if (ts.length > 0) {
      raw.set(ts, at);
      raw.set(vs, at + ncap);
    }
    this.setRaw(raw, at, ref, ncap);
    this.rawCount = ts.length;
  }

  private setRaw(raw: Float64Array, at: number, ref: number, cap: number): void {
    if (this.rawRef >= 0) this.slab.release(this.rawRef);
    this.raw = raw;
    this.rawAt = at;
    this.rawRef = ref;
    this.cap = cap;
  }

  /** Moves the list to room for `bytes` (a slab block when one is large enough). */
  private moveList(bytes: number): void {
    const ref = this.slab.allocate(bytes);
    const packed = ref >= 0 ? this.slab.bytes(ref) : new Uint8Array(bytes);
    const at = ref >= 0 ? this.slab.offset(ref) : 0;
    packed.set(this.packed.subarray(this.listAt, this.listAt + this.packedLen), at);
    this.setList(packed, at, ref);
  }

  private setList(packed: Uint8Array, at: number, ref: number): void {
    if (this.listRef >= 0) this.slab.release(this.listRef);
    this.packed = packed;
    this.listAt = at;
    this.listRef = ref;
  }

  private makeView(): [Float64Array, Float64Array] {
    if (this.packedCount === 0) return [this.raw.subarray(this.rawAt, this.rawAt + this.cap), this.raw.subarray(this.rawAt + this.cap, this.rawAt + 2 * this.cap)];
    const n = this.count;
    const ts = new Float64Array(n);
    const vs = new Float64Array(n);
    this.decodePacked(ts, vs);
    ts.set(this.rawT, this.packedCount);
    vs.set(this.rawV, this.packedCount);
    return [ts, vs];
  }

  private decodePacked(ts: Float64Array, vs: Float64Array): void {
    decodeList(this.packed, this.listAt, this.listAt + this.packedLen, ts, vs, 0);
  }

  /** Compresses the raw samples (sorted, all after the compressed ones) into a new chunk. */
  private pack(): void {
    const n = this.rawCount;
    packer.reset();
    encodeChunk(packer, this.raw, this.raw, this.rawAt, this.rawAt + n, 0, this.rawAt + this.cap);
    this.packedLen = this.writeChunkAt(this.packedLen, packer.finish());
    this.packedCount += n;
    this.packedLastT = this.raw[this.rawAt + n - 1]!;
    this.rawCount = 0;
    if (replaying) return;
    // The next pushes fill the same block: no slab release and allocation every 16 samples of an
    // active series. One grown while its pack waited goes back; the head checkpoint gives back the
    // blocks of series that went idle (releaseIdleRaw).
    if (this.cap !== TAIL) this.setRaw(EMPTY_SAMPLES, 0, -1, 0);
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

  /** Writes `chunk` as a list entry at byte `at` of the list (growing it); returns the end. */
  private writeChunkAt(at: number, chunk: Uint8Array): number {
    const need = at + entrySize(chunk.length) + PAD_BYTES;
    if (need > this.listCap) {
      // Blocks (and lists too long for one) grow by size classes (steps of 1.5 and 4/3), not
      // double: the slack of 1 M series' lists is resident memory, while the moves stay rare (a
      // list grows by a 16-sample chunk of ~30 bytes at a time). A replay doubles, and settle() trims.
      this.packedLen = at;
      this.moveList(replaying ? Math.max(need, 2 * at + PAD_BYTES, 64) : sizeClass(need));
    }
    return writeEntry(this.packed, this.listAt + at, chunk) - this.listAt;
  }

  /** Codes the packed chunks from byte `start` to the end as one chunk; returns the new end. */
  private merge(start: number): number {
    const n = listCount(this.packed, this.listAt + start, this.listAt + this.packedLen);
    if (mergeT.length < n) (mergeT = new Float64Array(2 * n)), (mergeV = new Float64Array(2 * n));
    decodeList(this.packed, this.listAt + start, this.listAt + this.packedLen, mergeT, mergeV, 0);
    packer.reset();
    encodeChunk(packer, mergeT, mergeV, 0, n, 0);
    return this.writeChunkAt(start, packer.finish());
  }

  /** Moves every head sample into the raw part (to sort, cut or filter them). */
  private unpack(): void {
    if (this.packedCount === 0) return;
    const n = this.count;
    const ts = new Float64Array(n);
    const vs = new Float64Array(n);
    this.decodePacked(ts, vs);
    ts.set(this.rawT, this.packedCount);
    vs.set(this.rawV, this.packedCount);
    this.placeRaw(ts, vs, TAIL);
    this.setList(EMPTY_BYTES, 0, -1);
    this.packedLen = this.packedCount = this.smallStart = this.smallRun = this.bigStart = this.bigRun = 0;
    this.packedLastT = -Infinity;
    this.view = undefined;
  }
}

/**
 * While a store loads (Head.replay), pushes pack every REPLAY_CHUNK samples and never merge: each
 * replayed sample is coded once.
 */
let replaying = false;
const REPLAY_CHUNK = 64;

/**
 * While a live commit applies its samples (deferPacks), the packs that fall due are queued and
 * made in the thread's idle moments instead, in short slices between I/O events: the commit,
 * and so the answer to the requests it holds, does not wait for them. A queued tail packs at once
 * when its block is full (a block larger than TAIL, as after an unpack, at PACK_LATER_MAX
 * samples), and a thread with no idle moments (the queue full) packs at once as before.
 */
let deferring = false;
const PACK_LATER_MAX = 64;
const PACK_QUEUE_MAX = 8192;
const PACK_SLICE_MS = 0.25;
const packQueue: MemSeries[] = [];
let drainScheduled = false;

/** Runs `apply` (a live commit's pushes) with its packs queued for idle moments. */
export function deferPacks(apply: () => void): void {
  deferring = true;
  try {
    apply();
  } finally {
    deferring = false;
    scheduleDrain(); // what was queued before a throw too
  }
}

function scheduleDrain(): void {
  if (drainScheduled || packQueue.length === 0) return;
  drainScheduled = true;
  setImmediate(drainSlice);
}

function drainSlice(): void {
  drainScheduled = false;
  const deadline = performance.now() + PACK_SLICE_MS;
  for (let i = 1; packQueue.length > 0; i++) {
    packQueue.pop()!.packQueued();
    if ((i & 7) === 0 && performance.now() >= deadline) break;
  }
  scheduleDrain();
}

let mergeT = new Float64Array(2 * MERGE * MERGE * TAIL);
let mergeV = new Float64Array(2 * MERGE * MERGE * TAIL);

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
export function listChunks(list: Uint8Array, start: number, end: number, out: HeadChunk[]): void {
  forEachChunk(list, start, end, (off, _entry, next) => out.push(new HeadChunk(list, off, next - off)));
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

/** A label pair's one object, shared by every series that has the pair, and those series' ids ascending. */
export interface Posting {
  readonly label: Label;
  ids: number[];
}

export class Head {
  /** By id; ids start at 1 so that ref 0 means "look up by labels". */
  private readonly byId: (MemSeries | undefined)[] = [undefined];
  /** Ids by label set (labels-table.ts). */
  private readonly byLabels = new LabelsTable((id) => this.byId[id]!.labels);
  /**
   * name → value → posting. Its label object is the one every series with the pair holds, so one
   * copy of each string too (decoded labels arrive as fresh objects and strings); a pair goes when
   * its last series does.
   */
  private readonly postings = new Map<string, Map<string, Posting>>();
  private live = 0;
  /** Every series' list and raw blocks. */
  private readonly slab = new Slab();

  /** The label names of live series, unsorted. */
  labelNames(): IterableIterator<string> {
    return this.postings.keys();
  }

  /** Label `name`'s postings by value; undefined when no live series has the label. */
  postingsOf(name: string): ReadonlyMap<string, Posting> | undefined {
    return this.postings.get(name);
  }

  get size(): number {
    return this.live;
  }

  /** Bytes of the slab's blocks that series hold (their lists and raw tails). */
  get blockBytes(): number {
    return this.slab.inUse;
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
    const id = this.byLabels.find(labels);
    return id === 0 ? undefined : this.byId[id];
  }

  /** Adds a series with a given id (ids only grow, so postings stay sorted when ids are added in order). */
  add(id: number, labels: Labels): MemSeries {
    const shared: Label[] = new Array(labels.length);
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      let byValue = this.postings.get(l.name);
      if (!byValue) this.postings.set(l.name, (byValue = new Map()));
      const p = byValue.get(l.value);
      if (!p) {
        // The name as the first pair under it holds it.
        const name = byValue.values().next().value?.label.name ?? l.name;
        const label = { name, value: l.value };
        byValue.set(l.value, { label, ids: [id] });
        shared[i] = label;
        continue;
      }
      const ids = p.ids;
      ids.push(id);
      if (ids[ids.length - 2]! > id) ids.sort((a, b) => a - b);
      shared[i] = p.label;
    }
    const s = new MemSeries(id, shared, this.slab);
    while (this.byId.length <= id) this.byId.push(undefined);
    this.byId[id] = s;
    this.byLabels.add(id, labels); // the same names and values as s.labels: hashed by getByLabels already
    this.live++;
    return s;
  }

  remove(s: MemSeries): void {
    if (this.byId[s.id] !== s) return;
    this.byId[s.id] = undefined;
    this.byLabels.remove(s.id, s.labels);
    this.live--;
    s.free();
    for (const l of s.labels) {
      const values = this.postings.get(l.name);
      const p = values?.get(l.value);
      if (!values || !p) continue;
      p.ids = p.ids.filter((i) => i !== s.id);
      if (p.ids.length > 0) continue;
      values.delete(l.value);
      if (values.size === 0) this.postings.delete(l.name);
    }
  }

  *all(): IterableIterator<MemSeries> {
    for (const s of this.byId) if (s) yield s;
  }
}
