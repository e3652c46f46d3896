// Reads what the store has committed, in commit order, for whoever must follow it (the forwarder):
// the sealed log records themselves, opened one by one (no second copy of the data anywhere).
// Compaction deletes log records once their samples are cut into chunk rows, so a reader that
// fell behind may find its next records gone: `read` then says up to which time the missing
// samples lie in chunk rows (the head state's cut), and the reader re-reads that time range through
// the Querier before going on with the records that remain. A deleted record may hold samples of any
// age (a sender catching up on old data), so the range starts at the oldest chunk row: correct, and
// costly only for a destination that fell hours behind.
import type { Labels } from '../../shared/labels';
import type { TsdbState } from './state';
import { items } from './storage';
import { decodeHeadState, decodeBatch } from './wal-record';

export interface CommittedSamples {
  readonly ids: Float64Array;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly count: number;
}

export interface CommittedRecord {
  readonly seq: number;
  readonly samples: CommittedSamples;
}

export interface CommittedRead {
  readonly records: CommittedRecord[];
  /**
   * Set when records at or after `from` were already deleted by compaction: their samples are all
   * before this time (ms) and are in chunk rows; read them by time range, then go on with `records`.
   */
  readonly truncatedBefore?: number;
  /** With truncatedBefore: the start of the oldest data in chunk rows (the deleted records' samples lie in [this, truncatedBefore)). */
  readonly truncatedFrom?: number;
}

export interface CommittedLog {
  /** Up to `limit` committed records with sequence ≥ `from`, oldest first. */
  read(from: number, limit: number): CommittedRead;
  /** The sequence the next commit will get: everything before it is committed. */
  nextSeq(): number;
  /** A series' labels by the id the records carry (undefined: deleted since). */
  labels(id: number): Labels | undefined;
}

export function committedLog(st: TsdbState): CommittedLog {
  const { storage } = st;
  const rowsFrom = storage.db.prepare<[number, number], { seq: number; key_id: number; data: Buffer }>('SELECT seq, key_id, data FROM log WHERE seq >= ? ORDER BY seq LIMIT ?');
  const oldest = storage.db.prepare<[], { m: number | null }>('SELECT min(seq) AS m FROM log');
  const oldestChunk = storage.db.prepare<[], { b: number | null }>('SELECT min(bucket) AS b FROM chunks');
  return {
    read(from, limit) {
      const records: CommittedRecord[] = [];
      for (const r of rowsFrom.all(from, limit)) {
        const item = items.log(r.seq);
        const rec = storage.decode(item, () => decodeBatch(storage.open(item, { keyId: r.key_id, data: r.data })));
        records.push({ seq: r.seq, samples: rec.samples });
      }
      // Deleted records are all at or before the head state's covered sequence.
      const hsRow = storage.headState();
      if (hsRow) {
        const hsItem = items.headState(hsRow.seq);
        const hs = storage.decode(hsItem, () => decodeHeadState(storage.open(hsItem, hsRow)));
        const first = oldest.get()?.m ?? st.nextLogSeq;
        if (from <= hs.coveredSeq && from < first) {
          const bucketMs = storage.layout.bucketMs;
          const oldestBucket = oldestChunk.get()?.b ?? hs.cutBucket;
          return { records, truncatedBefore: hs.cutBucket * bucketMs, truncatedFrom: oldestBucket * bucketMs };
        }
      }
      return { records };
    },
    nextSeq: () => st.nextLogSeq,
    labels: (id) => st.head.get(id)?.labels,
  };
}
