// The sealed manifest of a workspace's store: which rows exist and a digest of each, written in
// the same SQLite transaction as the rows. GCM already proves that a row that is there was not
// altered; the manifest proves that none is missing, that no clear column (sample counts, the
// log's bucket, the layout) was changed, and that no row was swapped for an older sealed one.
// Two sealed rows: 'index' (layout, series pages, head state, chunk rows; rewritten when those
// change) and 'log' (count, digest and newest sequence of the log records; rewritten per commit).
import { crc32 } from 'node:zlib';
import { ByteReader, ByteWriter } from './bytes';

const VERSION = 1;

/** Single sealed rows beside the manifest rows, each listed in the index manifest by its position here + 1. */
export const BLOBS = ['metadata', 'exemplars'] as const;
/**
 * Numbered parts of the exemplar store (`exemplars.0`, `exemplars.1`, …), each its own sealed row
 * so a flush rewrites only the parts that changed; listed in the index manifest by number.
 */
export type BlobPartName = `exemplars.${number}`;
export type BlobName = (typeof BLOBS)[number] | BlobPartName;
/** Trailing field of the index manifest: a blob part (its number, then its digest). */
const PART_KIND = 0x40;
/** Trailing field of the index manifest: a part of the head state's samples (its number, then its digest). */
const HEAD_PART_KIND = 0x41;
/** Blob and head state parts are numbered below this. */
export const MAX_PARTS = 1 << 20;

/** The part number of a blob part's name, or null for a single blob. */
export function blobPart(name: BlobName): number | null {
  const m = /^exemplars\.(\d+)$/.exec(name);
  if (!m) return null;
  const n = Number(m[1]);
  if (!Number.isSafeInteger(n) || n >= MAX_PARTS) throw new RangeError(`blob part ${name} is out of range`);
  return n;
}

export interface Layout {
  readonly bucketMs: number;
  readonly seriesPerPart: number;
}

/** A 32-bit digest of a stored row: the end of its GCM tag (sealed rows) or a CRC (plaintext benchmark stores). */
export function rowDigest(data: Buffer, sealed: boolean): number {
  if (!sealed || data.length < 4) return crc32(data);
  return data.readUInt32LE(data.length - 4);
}

/** One log row's contribution to the log digest (XOR over rows, so appends and deletes are O(1)). */
function logHash(seq: number, maxBucket: number, tag: number): number {
  let h = Math.imul((seq | 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.floor(seq / 2 ** 32);
  h = Math.imul(h ^ (h >>> 13) ^ (maxBucket | 0), 0xc2b2ae35) ^ Math.floor(maxBucket / 2 ** 32);
  h = Math.imul(h ^ (h >>> 16) ^ tag, 0x27d4eb2f);
  return (h ^ (h >>> 15)) >>> 0;
}

export interface ChunkEntry {
  readonly samples: number;
  readonly tag: number;
}

export interface LogSummary {
  readonly count: number;
  readonly digest: number;
  readonly maxSeq: number;
}

export class Manifest {
  /** page → digest */
  readonly pages = new Map<number, number>();
  headState: { seq: number; tag: number } | null = null;
  /** Digest of each part of the head state's samples (head_parts rows) by its number. */
  readonly headParts = new Map<number, number>();
  /** Digest of each sealed blob row (metric metadata, exemplars) by its number in BLOBS. */
  readonly blobTags = new Map<number, number>();
  /** Digest of each blob part row (BlobPartName) by its part number. */
  readonly blobParts = new Map<number, number>();
  /** part → bucket → entry */
  readonly chunks = new Map<number, Map<number, ChunkEntry>>();
  /** seq → [maxBucket, tag]; kept in memory only, persisted as a summary. */
  private readonly logRows = new Map<number, [number, number]>();
  private logDigest = 0;
  private logMaxSeq = 0;
  indexDirty = false;
  logDirty = false;

  constructor(readonly layout: Layout) {}

  // ---- changes (Storage calls these next to each row write) ----------------------------------

  putPage(page: number, tag: number): void {
    this.pages.set(page, tag);
    this.indexDirty = true;
  }

  deletePage(page: number): void {
    this.pages.delete(page);
    this.indexDirty = true;
  }

  putHeadState(seq: number, tag: number): void {
    this.headState = { seq, tag };
    this.indexDirty = true;
  }

  putHeadPart(part: number, tag: number): void {
    if (!Number.isSafeInteger(part) || part < 0 || part >= MAX_PARTS) throw new RangeError(`head state part ${part} is out of range`);
    this.headParts.set(part, tag);
    this.indexDirty = true;
  }

  deleteHeadPartsOutside(first: number, end: number): void {
    for (const part of this.headParts.keys()) {
      if (part >= first && part < end) continue;
      this.headParts.delete(part);
      this.indexDirty = true;
    }
  }

  putBlob(name: BlobName, tag: number): void {
    const part = blobPart(name);
    if (part === null) this.blobTags.set(BLOBS.indexOf(name as (typeof BLOBS)[number]) + 1, tag);
    else this.blobParts.set(part, tag);
    this.indexDirty = true;
  }

  deleteBlob(name: BlobName): void {
    const part = blobPart(name);
    if (part === null ? this.blobTags.delete(BLOBS.indexOf(name as (typeof BLOBS)[number]) + 1) : this.blobParts.delete(part)) this.indexDirty = true;
  }

  blobTag(name: BlobName): number | undefined {
    const part = blobPart(name);
    return part === null ? this.blobTags.get(BLOBS.indexOf(name as (typeof BLOBS)[number]) + 1) : this.blobParts.get(part);
  }

  /** Every blob row the manifest lists. */
  blobNames(): BlobName[] {
    return [...[...this.blobTags.keys()].map((k) => BLOBS[k - 1]!), ...[...this.blobParts.keys()].map((n): BlobPartName => `exemplars.${n}`)];
  }

  putChunk(bucket: number, part: number, samples: number, tag: number): void {
    let m = this.chunks.get(part);
    if (!m) this.chunks.set(part, (m = new Map()));
    m.set(bucket, { samples, tag });
    this.indexDirty = true;
  }

  deleteChunk(bucket: number, part: number): void {
    const m = this.chunks.get(part);
    if (!m?.delete(bucket)) return;
    if (m.size === 0) this.chunks.delete(part);
    this.indexDirty = true;
  }

  deleteBucketsBefore(bucket: number): void {
    for (const [part, m] of this.chunks) {
      for (const b of m.keys()) if (b < bucket) (m.delete(b), (this.indexDirty = true));
      if (m.size === 0) this.chunks.delete(part);
    }
  }

  chunk(bucket: number, part: number): ChunkEntry | undefined {
    return this.chunks.get(part)?.get(bucket);
  }

  /** Buckets in [min, max] the manifest lists for `part`. */
  bucketsOfPart(part: number, min: number, max: number): number[] {
    const out: number[] = [];
    for (const b of this.chunks.get(part)?.keys() ?? []) if (b >= min && b <= max) out.push(b);
    return out;
  }

  putLog(seq: number, maxBucket: number, tag: number): void {
    const old = this.logRows.get(seq);
    if (old) this.logDigest ^= logHash(seq, old[0], old[1]);
    this.logRows.set(seq, [maxBucket, tag]);
    this.logDigest ^= logHash(seq, maxBucket, tag);
    if (seq > this.logMaxSeq) this.logMaxSeq = seq;
    this.logDirty = true;
  }

  /** Re-seal of a log row: same bucket, new tag. */
  resealLog(seq: number, tag: number): void {
    const old = this.logRows.get(seq);
    if (old) this.putLog(seq, old[0], tag);
  }

  deleteLogBefore(bucket: number, upToSeq: number): void {
    let maxSeq = 0;
    for (const [seq, [maxBucket, tag]] of this.logRows) {
      if (maxBucket >= bucket || seq > upToSeq) {
        if (seq > maxSeq) maxSeq = seq;
        continue;
      }
      this.logRows.delete(seq);
      this.logDigest ^= logHash(seq, maxBucket, tag);
      this.logDirty = true;
    }
    this.logMaxSeq = maxSeq;
  }

  logSummary(): LogSummary {
    return { count: this.logRows.size, digest: this.logDigest >>> 0, maxSeq: this.logMaxSeq };
  }

  /** Summary of log rows as found in the file (to compare with the sealed one). */
  static summarizeLog(rows: Iterable<{ seq: number; maxBucket: number; tag: number }>): LogSummary {
    let count = 0, digest = 0, maxSeq = 0;
    for (const r of rows) {
      count++;
      digest ^= logHash(r.seq, r.maxBucket, r.tag);
      if (r.seq > maxSeq) maxSeq = r.seq;
    }
    return { count, digest: digest >>> 0, maxSeq };
  }

  /** Replaces the in-memory log rows (after they were read and checked against the summary). */
  setLogRows(rows: Iterable<{ seq: number; maxBucket: number; tag: number }>): void {
    this.logRows.clear();
    this.logDigest = 0;
    for (const r of rows) {
      this.logRows.set(r.seq, [r.maxBucket, r.tag]);
      this.logDigest ^= logHash(r.seq, r.maxBucket, r.tag);
    }
    this.logDigest >>>= 0;
    this.logMaxSeq = Manifest.summarizeLog(rows).maxSeq;
  }

  // ---- encoding ------------------------------------------------------------------------------

  encodeIndex(): Buffer {
    let n = 0;
    for (const m of this.chunks.values()) n += m.size;
    const w = new ByteWriter(64 + this.pages.size * 12 + n * 16);
    w.byte(VERSION);
    w.varint(this.layout.bucketMs);
    w.varint(this.layout.seriesPerPart);
    w.varint(this.pages.size);
    for (const [page, tag] of this.pages) (w.varint(page), w.varint(tag));
    w.byte(this.headState ? 1 : 0);
    if (this.headState) (w.varint(this.headState.seq), w.varint(this.headState.tag));
    w.varint(this.chunks.size);
    for (const [part, m] of this.chunks) {
      w.varint(part);
      w.varint(m.size);
      for (const [bucket, e] of m) (w.svarint(bucket), w.varint(e.samples), w.varint(e.tag));
    }
    // Optional trailing fields (stores written before blobs were kept end after the chunks).
    for (const [kind, tag] of this.blobTags) (w.byte(kind), w.varint(tag));
    for (const [part, tag] of this.blobParts) (w.byte(PART_KIND), w.varint(part), w.varint(tag));
    for (const [part, tag] of this.headParts) (w.byte(HEAD_PART_KIND), w.varint(part), w.varint(tag));
    return w.toBuffer();
  }

  static decodeIndex(buf: Buffer): Manifest {
    const r = new ByteReader(buf);
    const version = r.byte();
    if (version !== VERSION) throw new RangeError(`unknown manifest version ${version}`);
    const m = new Manifest({ bucketMs: r.varint(), seriesPerPart: r.varint() });
    for (let n = r.varint(); n > 0; n--) m.pages.set(r.varint(), r.varint());
    if (r.byte() === 1) m.headState = { seq: r.varint(), tag: r.varint() };
    for (let parts = r.varint(); parts > 0; parts--) {
      const part = r.varint();
      const buckets = new Map<number, ChunkEntry>();
      for (let n = r.varint(); n > 0; n--) buckets.set(r.svarint(), { samples: r.varint(), tag: r.varint() });
      m.chunks.set(part, buckets);
    }
    while (!r.done) {
      const kind = r.byte();
      if (kind === PART_KIND || kind === HEAD_PART_KIND) {
        const part = r.varint();
        if (part >= MAX_PARTS) throw new RangeError(`manifest lists ${kind === PART_KIND ? 'blob' : 'head state'} part ${part}, out of range`);
        (kind === PART_KIND ? m.blobParts : m.headParts).set(part, r.varint());
        continue;
      }
      if (kind < 1 || kind > BLOBS.length) throw new RangeError(`manifest has an unknown trailing field ${kind}`);
      m.blobTags.set(kind, r.varint());
    }
    if (!r.done) throw new RangeError('manifest has trailing bytes');
    return m;
  }

  encodeLog(): Buffer {
    const w = new ByteWriter(32);
    const s = this.logSummary();
    w.byte(VERSION);
    w.varint(s.count);
    w.varint(s.digest);
    w.varint(s.maxSeq);
    return w.toBuffer();
  }

  static decodeLog(buf: Buffer): LogSummary {
    const r = new ByteReader(buf);
    const version = r.byte();
    if (version !== VERSION) throw new RangeError(`unknown log manifest version ${version}`);
    const s = { count: r.varint(), digest: r.varint(), maxSeq: r.varint() };
    if (!r.done) throw new RangeError('log manifest has trailing bytes');
    return s;
  }
}
