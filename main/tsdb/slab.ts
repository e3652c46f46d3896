// Memory for the head's per-series compressed lists, raw tails and last values: blocks of a few
// size classes carved from shared 64 KiB pages. A series holds a page and an offset instead of an ArrayBuffer of
// its own: each of those cost about 350 bytes besides its contents (the ArrayBuffer and typed-array
// objects, the backing store's bookkeeping, the allocator's header), two a series, and lists
// growing through sizes left the allocator's heap fragmented (100,000 series × 2 h of head, in
// process: 4.3 KB resident a series before, 2.5 KB with the slab). A page whose blocks are all freed
// serves any class next: series scraped together grow through the classes together, and each
// class's pages empty as they leave it.

const PAGE_BYTES = 1 << 16;
/** The smallest of 64, 96, 128, 192, 256, 384… (steps of 1.5 and 4/3) that holds `n`. */
export function sizeClass(n: number): number {
  let c = 64;
  while (c < n) c = c % 3 === 0 ? (c / 3) * 4 : (c / 2) * 3;
  return c;
}

/** Block sizes: 32, then sizeClass's up to 16 KiB (all multiples of 8, so that a block holds doubles). */
const CLASSES = [32];
for (let c = 64; c <= 16384; c = sizeClass(c + 1)) CLASSES.push(c);
const CLASS_BITS = 5;
const SLOT_BITS = 11;

interface Page {
  bytes: Uint8Array;
  /** The same bytes as doubles (a block's doubles start at its byte offset / 8). */
  floats: Float64Array;
  /** Slots freed, and slots [fresh, perPage) never handed out. */
  free: number[];
  fresh: number;
  live: number;
  /** Where the page is in its class's `partial` list; -1 when full. */
  partialAt: number;
}

interface SizeClass {
  readonly size: number;
  readonly perPage: number;
  /** By page number (refs name pages by it); undefined where a page was given up. */
  readonly pages: (Page | undefined)[];
  readonly holes: number[];
  /** Page numbers of pages with a free slot. */
  readonly partial: number[];
}

/** The class of the smallest block that holds `n` bytes; CLASSES.length when none does. */
function classOf(n: number): number {
  let cls = 0;
  while (cls < CLASSES.length && CLASSES[cls]! < n) cls++;
  return cls;
}

/** The smallest block size that holds `n` bytes; undefined when no class does. */
export function blockSize(n: number): number | undefined {
  return CLASSES[classOf(n)];
}

export class Slab {
  private readonly classes: SizeClass[] = CLASSES.map((size) => ({ size, perPage: Math.floor(PAGE_BYTES / size), pages: [], holes: [], partial: [] }));
  /**
   * Emptied pages, for the next class that needs one. Kept for the head's life: giving them to the
   * collector and allocating anew left malloc's heap as fragmented as before (100,000 series × 2 h:
   * 2.9 KB resident a series with 64 pages kept, 2.5 KB with all).
   */
  private readonly spare: ArrayBuffer[] = [];
  /** Bytes in blocks handed out and not freed. */
  inUse = 0;

  /**
   * A block of at least `n` bytes, as a ref (for bytes/floats/offset/size/release): a small integer
   * that the series keeps in place of an object. -1 when no class is large enough.
   */
  allocate(n: number): number {
    const cls = classOf(n);
    if (cls === CLASSES.length) return -1;
    const c = this.classes[cls]!;
    if (c.partial.length === 0) this.addPage(c);
    const number = c.partial[c.partial.length - 1]!;
    const page = c.pages[number]!;
    const slot = page.free.length > 0 ? page.free.pop()! : page.fresh++;
    page.live++;
    if (page.free.length === 0 && page.fresh === c.perPage) {
      c.partial.pop();
      page.partialAt = -1;
    }
    this.inUse += c.size;
    return ((number << SLOT_BITS) | slot) * (1 << CLASS_BITS) + cls;
  }

  bytes(ref: number): Uint8Array {
    return this.page(ref).bytes;
  }

  floats(ref: number): Float64Array {
    return this.page(ref).floats;
  }

  /** The block's first byte in its page. */
  offset(ref: number): number {
    return (Math.floor(ref / (1 << CLASS_BITS)) & ((1 << SLOT_BITS) - 1)) * CLASSES[ref % (1 << CLASS_BITS)]!;
  }

  size(ref: number): number {
    return CLASSES[ref % (1 << CLASS_BITS)]!;
  }

  release(ref: number): void {
    const c = this.classes[ref % (1 << CLASS_BITS)]!;
    const number = Math.floor(ref / (1 << (CLASS_BITS + SLOT_BITS)));
    const page = c.pages[number]!;
    page.free.push(Math.floor(ref / (1 << CLASS_BITS)) & ((1 << SLOT_BITS) - 1));
    page.live--;
    this.inUse -= c.size;
    if (page.partialAt < 0) {
      page.partialAt = c.partial.length;
      c.partial.push(number);
    }
    if (page.live > 0) return;
    // Empty: out of the partial list (the last one takes its place), and its memory to any class.
    const last = c.partial.pop()!;
    if (last !== number) {
      c.partial[page.partialAt] = last;
      c.pages[last]!.partialAt = page.partialAt;
    }
    c.pages[number] = undefined;
    c.holes.push(number);
    this.spare.push(page.bytes.buffer as ArrayBuffer);
  }

  private addPage(c: SizeClass): void {
    const buf = this.spare.pop() ?? new ArrayBuffer(PAGE_BYTES);
    const number = c.holes.pop() ?? c.pages.length;
    c.pages[number] = { bytes: new Uint8Array(buf), floats: new Float64Array(buf), free: [], fresh: 0, live: 0, partialAt: c.partial.length };
    c.partial.push(number);
  }

  private page(ref: number): Page {
    return this.classes[ref % (1 << CLASS_BITS)]!.pages[Math.floor(ref / (1 << (CLASS_BITS + SLOT_BITS)))]!;
  }
}
