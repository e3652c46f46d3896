// Decrypted chunk rows kept in memory between queries (per thread, shared by every store it opens),
// so a dashboard's repeated whole-day queries do not read and decrypt the same rows again: the
// cost a disk-backed store leaves to the OS page cache. A row is found again only while the sealed
// manifest still lists it with the same digest and sample count (a rewritten, re-keyed or deleted
// row never matches); a closed store's rows are dropped at once. Plaintext stays in memory only,
// as the head's samples do. Least recently used rows go first when the budget is reached.
import type { ChunkRow } from './chunk-row';

/** Bytes of decrypted rows one thread keeps (a day of 10,000 series at 15 s is ~60 MB). */
export const ROW_CACHE_BYTES = 160 * 1024 * 1024;

interface Entry {
  readonly tag: number;
  readonly samples: number;
  readonly row: ChunkRow;
  readonly bytes: number;
}

export class RowCache {
  /** Insertion order is recency: a hit moves its entry to the end. */
  private readonly entries = new Map<string, Entry>();
  private readonly owners = new WeakMap<object, number>();
  private nextOwner = 1;
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** The row cached for this store's (bucket, part) when it is still the listed version. */
  get(owner: object, bucket: number, part: number, tag: number, samples: number): ChunkRow | undefined {
    const key = this.key(owner, bucket, part);
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (e.tag !== tag || e.samples !== samples) {
      this.bytes -= e.bytes;
      return undefined;
    }
    this.entries.set(key, e);
    return e.row;
  }

  put(owner: object, bucket: number, part: number, tag: number, samples: number, row: ChunkRow, bytes: number): void {
    if (bytes > this.maxBytes / 4) return;
    const key = this.key(owner, bucket, part);
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.bytes;
    }
    this.entries.set(key, { tag, samples, row, bytes });
    this.bytes += bytes;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= e.bytes;
    }
  }

  /** Drops every row of a store (closed, deleted, or its key rotated away). */
  forget(owner: object): void {
    const id = this.owners.get(owner);
    if (id === undefined) return;
    this.owners.delete(owner);
    const prefix = `${id}:`;
    for (const [k, e] of this.entries) {
      if (!k.startsWith(prefix)) continue;
      this.entries.delete(k);
      this.bytes -= e.bytes;
    }
  }

  /** Drops every row. */
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.bytes;
  }

  private key(owner: object, bucket: number, part: number): string {
    let id = this.owners.get(owner);
    if (id === undefined) this.owners.set(owner, (id = this.nextOwner++));
    return `${id}:${bucket}:${part}`;
  }
}

export const rowCache = new RowCache(ROW_CACHE_BYTES);
