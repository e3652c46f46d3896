// What ingestion remembers about one open store between requests: the series it has seen, keyed
// by the bytes that encode their labels in the request, so a known series costs one hash over
// those bytes and one comparison — no string, no label decoding — plus the active-series count,
// the rate-limit bucket and interned label strings.
import type { WorkspaceLimits } from '../control/types';
import type { Labels } from '../../shared/labels';
import type { SeriesRef } from '../tsdb/types';
import { newTokenBucket, type TokenBucket } from './limits';
import { utf8Text } from './sink';

/**
 * A series is active while it received a sample in the last one to two generations. Generations
 * rotate instead of being swept, so forgetting idle series costs nothing per request.
 */
export const ACTIVE_SERIES_GENERATION_MS = 60 * 60 * 1000;
const INTERN_MAX = 1 << 20;
const INTERN_MAX_LENGTH = 128;
/** Slots a label-string lookup looks at, at most (see LabelStrings). */
const PROBE_MAX = 64;
/** Longer collision chains are not extended (a sender crafting collisions only loses caching). */
const CHAIN_MAX = 8;
/** LabelStrings lookups: not there (may be added), or not to be kept (its probe is too long). */
const ABSENT = -1;
const NOT_KEPT = -2;

export interface SeriesEntry {
  /** The decoded labels until the store took the series, then the store's own (one copy a series). */
  labels: Labels;
  ref: SeriesRef;
  /** Where the key bytes are in the state's KeyArena (set by addSeries); -1 before. */
  keyAt: number;
  keyLen: number;
  next: SeriesEntry | null;
  /** The generation whose table holds the entry (-1: none yet). */
  gen: number;
  /** The series that followed this one in the last request that had both (see nextSeen). */
  succ: SeriesEntry | null;
}

/**
 * The key bytes of every cached series, back to back in one buffer: no object per key, and a
 * known series is recognised by comparing eight bytes at a time. Rebuilt when generations rotate,
 * so keys of forgotten series do not pile up.
 */
class KeyArena {
  bytes = new Uint8Array(64 * 1024);
  view = new DataView(this.bytes.buffer);
  used = 0;

  put(buf: Uint8Array, start: number, end: number): number {
    const n = end - start;
    if (this.used + n > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.used + n));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.used;
    const bytes = this.bytes;
    // A loop, not set(subarray): keys are short, and a view per key costs more than the copy.
    for (let i = 0; i < n; i++) bytes[at + i] = buf[start + i]!;
    this.used += n;
    return at;
  }

  /** Whether the key at `at` (length end - start) equals buf[start, end). */
  equals(at: number, buf: Uint8Array, start: number, end: number): boolean {
    const n = end - start;
    const a = this.view;
    const b = viewOf(buf);
    let i = 0;
    // Little-endian: no byte swap (a third faster than four big-endian bytes a turn).
    for (; i + 8 <= n; i += 8) {
      if (a.getInt32(at + i, true) !== b.getInt32(start + i, true) || a.getInt32(at + i + 4, true) !== b.getInt32(start + i + 4, true)) return false;
    }
    const bytes = this.bytes;
    for (; i < n; i++) if (bytes[at + i] !== buf[start + i]) return false;
    return true;
  }
}

/** A DataView over buf's bytes (offset 0 = buf[0]), kept for the request's body and scratch buffers. */
let lastBuf: Uint8Array | null = null;
let lastView: DataView = new DataView(new ArrayBuffer(0));
function viewOf(buf: Uint8Array): DataView {
  if (buf !== lastBuf) {
    lastView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    lastBuf = buf;
  }
  return lastView;
}

/** Series by key hash; entries with the same hash are chained. */
class SeriesTable {
  readonly byHash = new Map<number, SeriesEntry>();
  size = 0;

  find(keys: KeyArena, hash: number, buf: Uint8Array, start: number, end: number): SeriesEntry | null {
    const n = end - start;
    for (let e = this.byHash.get(hash) ?? null; e !== null; e = e.next) if (e.keyLen === n && keys.equals(e.keyAt, buf, start, end)) return e;
    return null;
  }

  /** Every entry, for rebuilding the key arena. */
  forEach(each: (e: SeriesEntry) => void): void {
    for (const head of this.byHash.values()) for (let e: SeriesEntry | null = head; e !== null; e = e.next) each(e);
  }

  /** Adds `entry`; false when its chain is full. */
  add(hash: number, entry: SeriesEntry): boolean {
    const head = this.byHash.get(hash) ?? null;
    let n = 0;
    for (let e = head; e !== null; e = e.next) if (++n >= CHAIN_MAX) return false;
    entry.next = head;
    this.byHash.set(hash, entry);
    this.size++;
    return true;
  }

  remove(hash: number, entry: SeriesEntry): void {
    let prev: SeriesEntry | null = null;
    for (let e = this.byHash.get(hash) ?? null; e !== null; prev = e, e = e.next) {
      if (e !== entry) continue;
      if (prev !== null) prev.next = e.next;
      else if (e.next !== null) this.byHash.set(hash, e.next);
      else this.byHash.delete(hash);
      e.next = null;
      this.size--;
      return;
    }
  }
}

export interface IngestState {
  current: SeriesTable;
  previous: SeriesTable;
  /** The key bytes of the entries of both tables. */
  keys: KeyArena;
  /** Counts rotations (and forgets): an entry whose gen is this one is in `current`. */
  gen: number;
  generationStart: number;
  readonly bucket: TokenBucket;
  /** The limits the cached series were validated against; other limits empty the cache. */
  limits: WorkspaceLimits | undefined;
  readonly strings: LabelStrings;
}

/** Create one per open store: cached SeriesRefs are only valid for the store that issued them. */
export function createIngestState(): IngestState {
  return {
    current: new SeriesTable(),
    previous: new SeriesTable(),
    keys: new KeyArena(),
    gen: 0,
    generationStart: NaN,
    bucket: newTokenBucket(),
    limits: undefined,
    strings: new LabelStrings(),
  };
}

/** Series received in the last one to two generations. */
export function activeSeries(state: IngestState): number {
  return state.current.size + state.previous.size;
}

export function rotateGenerations(state: IngestState, now: number): void {
  if (Number.isNaN(state.generationStart)) state.generationStart = now;
  if (now - state.generationStart < ACTIVE_SERIES_GENERATION_MS) return;
  const idleForTwo = now - state.generationStart >= 2 * ACTIVE_SERIES_GENERATION_MS;
  state.previous = idleForTwo ? new SeriesTable() : state.current;
  state.current = new SeriesTable();
  state.generationStart = now;
  state.gen++;
  state.strings.renew();
  // Only the previous generation's keys are still needed: copy them to a fresh arena.
  const old = state.keys;
  const keys = new KeyArena();
  state.previous.forEach((e) => {
    e.keyAt = keys.put(old.bytes, e.keyAt, e.keyAt + e.keyLen);
  });
  state.keys = keys;
}

export function forgetSeries(state: IngestState): void {
  state.current = new SeriesTable();
  state.previous = new SeriesTable();
  state.keys = new KeyArena();
  state.gen += 2; // no entry is in either table now
}

/** The cached series whose key is buf[start, end) with hash `hash`; refreshes its generation. */
export function lookupSeries(state: IngestState, hash: number, buf: Uint8Array, start: number, end: number): SeriesEntry | null {
  const hit = state.current.find(state.keys, hash, buf, start, end);
  if (hit !== null) return hit;
  const old = state.previous.find(state.keys, hash, buf, start, end);
  if (old !== null) {
    state.previous.remove(hash, old);
    old.gen = state.current.add(hash, old) ? state.gen : -1;
  }
  return old;
}

/**
 * The series after `prev` when this request sends series in the order the last one did (as a
 * sender's shard does, scrape after scrape): found by comparing its key, with no hashing or table
 * lookup. Null when the guess is wrong or the entry is not in the current generation (then the
 * caller looks it up, which also moves it there).
 */
export function nextSeen(state: IngestState, prev: SeriesEntry, buf: Uint8Array, start: number, end: number): SeriesEntry | null {
  const e = prev.succ;
  if (e === null) return null;
  if (e.gen !== state.gen) {
    prev.succ = null; // do not keep a forgotten series alive
    return null;
  }
  return e.keyLen === end - start && state.keys.equals(e.keyAt, buf, start, end) ? e : null;
}

/** Caches a series seen for the first time, under the key buf[start, end) (hashing to `hash`). */
export function addSeries(state: IngestState, hash: number, entry: SeriesEntry, buf: Uint8Array, start: number, end: number): void {
  if (!state.current.add(hash, entry)) return;
  entry.gen = state.gen;
  entry.keyAt = state.keys.put(buf, start, end);
  entry.keyLen = end - start;
}

/** Hash of buf[start, end): 32-bit, word at a time (after MurmurHash3's mixing). */
export function hashKey(buf: Uint8Array, start: number, end: number): number {
  let h = 0x9747b28c ^ (end - start);
  let i = start;
  const view = viewOf(buf);
  for (const last = end - 3; i < last; i += 4) {
    let k = view.getInt32(i, true);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  for (let shift = 0; i < end; i++, shift += 8) k |= buf[i]! << shift;
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  // 30 bits: small-integer Map keys stay unboxed.
  return (h ^ (h >>> 16)) & 0x3fffffff;
}

/**
 * Label strings by their UTF-8 bytes: one shared copy of each, so a million series do not hold a
 * million "job"s, found again by hashing and comparing bytes, with nothing decoded (most strings
 * of a new series — names, job, mode, __name__ — were seen before). Long strings are rarely shared
 * and would let a sender pin memory here: decoded, not kept. When full, new strings are decoded and
 * not kept until the series cache's next generation empties the table (renew). A string whose
 * probe runs past PROBE_MAX slots is decoded and not kept: a sender crafting colliding strings
 * only loses the sharing, and no lookup costs more than PROBE_MAX comparisons.
 *
 * Each kept string also has an id (`id`), for remote write 2.0's series keys: the same bytes get
 * the same id while the table keeps them, and an id never stands for other bytes, not even after
 * the table empties (ids go on from where they were). Emptying it changes every 2.0 key, so every
 * 2.0 series is looked up by its labels once more: at most once a generation, not whenever a
 * sender's new strings fill the table.
 */
export class LabelStrings {
  private bytes = new KeyArena();
  /** Entry index + 1 by hash, open addressing (0: empty), at most half full. */
  private slots = new Int32Array(1024);
  private hashes: number[] = [];
  /** Where each string's bytes are in `bytes`, and how many. */
  private at: number[] = [];
  private lens: number[] = [];
  /** Undefined until decoded (an entry made by `id`). */
  private strings: (string | undefined)[] = [];
  /** Entry e's id is idBase + e. */
  private idBase = 0;
  /** The hash of the last string looked up. */
  private hashed = 0;

  constructor(
    private readonly hash: (buf: Uint8Array, start: number, end: number) => number = hashKey,
    private readonly capacity = INTERN_MAX,
  ) {}

  /** The text of buf[start, end), or null when it is not valid UTF-8. */
  text(buf: Uint8Array, start: number, end: number): string | null {
    if (end - start > INTERN_MAX_LENGTH) return utf8Text(buf, start, end);
    const e = this.find(buf, start, end);
    const kept = e >= 0 ? this.strings[e] : undefined;
    if (kept !== undefined) return kept;
    const s = utf8Text(buf, start, end);
    if (s === null || e === NOT_KEPT) return s;
    if (e >= 0) this.strings[e] = s;
    else this.add(buf, start, end, s);
    return s;
  }

  /** The id of buf[start, end) (bytes, not necessarily valid UTF-8), or -1 when it is not kept. */
  id(buf: Uint8Array, start: number, end: number): number {
    if (end - start > INTERN_MAX_LENGTH) return -1;
    const e = this.find(buf, start, end);
    if (e === NOT_KEPT) return -1;
    return e >= 0 ? this.idBase + e : this.add(buf, start, end, undefined);
  }

  get size(): number {
    return this.strings.length;
  }

  /** Entry index of buf[start, end), ABSENT, or NOT_KEPT when its probe ran past PROBE_MAX; leaves its hash in `hashed`. */
  private find(buf: Uint8Array, start: number, end: number): number {
    const n = end - start;
    const hash = (this.hashed = this.hash(buf, start, end));
    const mask = this.slots.length - 1;
    let probes = 0;
    for (let i = hash & mask, e = this.slots[i]!; e !== 0; i = (i + 1) & mask, e = this.slots[i]!) {
      if (this.hashes[e - 1] === hash && this.lens[e - 1] === n && this.bytes.equals(this.at[e - 1]!, buf, start, end)) return e - 1;
      if (++probes === PROBE_MAX) return NOT_KEPT;
    }
    return ABSENT;
  }

  /** Keeps the string just looked up (absent) unless the table is full; returns its id, or -1. */
  private add(buf: Uint8Array, start: number, end: number, s: string | undefined): number {
    if (this.strings.length >= this.capacity) return -1;
    if (2 * (this.strings.length + 1) > this.slots.length) this.grow();
    this.hashes.push(this.hashed);
    this.at.push(this.bytes.put(buf, start, end));
    this.lens.push(end - start);
    this.strings.push(s);
    this.slots[this.freeSlot(this.hashed)] = this.strings.length;
    return this.idBase + this.strings.length - 1;
  }

  private freeSlot(hash: number): number {
    const mask = this.slots.length - 1;
    let i = hash & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    return i;
  }

  private grow(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    for (let e = 0; e < this.strings.length; e++) this.slots[this.freeSlot(this.hashes[e]!)] = e + 1;
  }

  /** Empties a full table (the series cache's generations rotate). */
  renew(): void {
    if (this.strings.length < this.capacity) return;
    this.idBase += this.strings.length;
    this.bytes = new KeyArena();
    this.slots = new Int32Array(1024);
    this.hashes = [];
    this.at = [];
    this.lens = [];
    this.strings = [];
  }
}
