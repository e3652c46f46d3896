// The head's series ids by label set: open addressing over two Int32Arrays (id and hash per slot,
// at most half the slots used), 16–32 bytes a series. A Map from the labels' key string cost about
// 250 bytes a series (the string two bytes a character, and the Map's entry); a Map from their
// hash about 50.
import type { Labels } from '../../shared/labels';

const EMPTY = 0;
const DELETED = -1;

/** A 32-bit FNV-1a hash of a label set's names and values (each ended by a code no text has), from a seed. */
function labelsHash(labels: Labels, seed: number): number {
  let h = seed;
  for (let i = 0; i < labels.length; i++) {
    const { name, value } = labels[i]!;
    for (let j = 0; j < name.length; j++) h = Math.imul(h ^ name.charCodeAt(j), 0x01000193);
    h = Math.imul(h ^ 0x10000, 0x01000193);
    for (let j = 0; j < value.length; j++) h = Math.imul(h ^ value.charCodeAt(j), 0x01000193);
    h = Math.imul(h ^ 0x10001, 0x01000193);
  }
  return h;
}

function sameLabels(a: Labels, b: Labels): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.name !== b[i]!.name || a[i]!.value !== b[i]!.value) return false;
  return true;
}

export class LabelsTable {
  private ids = new Int32Array(1024);
  private hashes = new Int32Array(1024);
  /** Slots not EMPTY (live ids and DELETED marks). */
  private used = 0;
  private live = 0;

  private readonly hash: (labels: Labels) => number;
  /** The label set of the last find that found nothing, and its hash: a new series is added next. */
  private missed: Labels | null = null;
  private missedHash = 0;

  /**
   * `labelsOf` gives the labels of an id in the table. Unless a test gives its own `hash`, the hash
   * is seeded at random, so that a sender cannot prepare label sets that all probe the same slots.
   */
  constructor(
    private readonly labelsOf: (id: number) => Labels,
    hash?: (labels: Labels) => number,
  ) {
    const seed = (Math.random() * 2 ** 32) | 0;
    this.hash = hash ?? ((labels) => labelsHash(labels, seed));
  }

  /** The id of the series with these labels; 0 when none. */
  find(labels: Labels): number {
    const h = this.hash(labels);
    const ids = this.ids;
    const mask = ids.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const id = ids[i]!;
      if (id === EMPTY) {
        this.missed = labels;
        this.missedHash = h;
        return 0;
      }
      if (id !== DELETED && this.hashes[i] === h && sameLabels(this.labelsOf(id), labels)) return id;
    }
  }

  /** Adds a series the table does not hold (hashed once when `labels` is the set find just missed). */
  add(id: number, labels: Labels): void {
    if (2 * (this.used + 1) > this.ids.length) this.rehash(4 * (this.live + 1) > this.ids.length ? 2 * this.ids.length : this.ids.length);
    this.put(id, labels === this.missed ? this.missedHash : this.hash(labels));
    this.missed = null;
    this.live++;
  }

  remove(id: number, labels: Labels): void {
    const h = this.hash(labels);
    const mask = this.ids.length - 1;
    for (let i = h & mask; this.ids[i] !== EMPTY; i = (i + 1) & mask) {
      if (this.ids[i] !== id) continue;
      this.ids[i] = DELETED;
      this.live--;
      return;
    }
  }

  private put(id: number, h: number): void {
    const mask = this.ids.length - 1;
    let i = h & mask;
    while (this.ids[i] !== EMPTY && this.ids[i] !== DELETED) i = (i + 1) & mask;
    if (this.ids[i] === EMPTY) this.used++;
    this.ids[i] = id;
    this.hashes[i] = h;
  }

  /** Moves the live ids to `slots` slots (a power of two), dropping the DELETED marks. */
  private rehash(slots: number): void {
    const { ids, hashes } = this;
    this.ids = new Int32Array(slots);
    this.hashes = new Int32Array(slots);
    this.used = 0;
    for (let i = 0; i < ids.length; i++) if (ids[i] !== EMPTY && ids[i] !== DELETED) this.put(ids[i]!, hashes[i]!);
  }
}
