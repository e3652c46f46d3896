// Data-key rotation: every row sealed with an older key is opened and sealed again with the
// current key, a few rows per transaction, so an interrupted run resumes where it stopped; the
// manifest goes last (every transaction re-seals the parts it changes with the current key).
// Between transactions the event loop turns (`between`): the store keeps taking remote writes,
// compactions and checkpoints meanwhile, so each row is read again in its own transaction: a
// series page that gained series, a head state a checkpoint replaced (and its parts) or a chunk row
// a compaction rewrote is never written back as it was when the list was made.
import { nextTurn, type TsdbState } from './state';
import { items, type Item, type StoredRow } from './storage';
import { decodeHeadState } from './wal-record';

const ROWS_PER_TRANSACTION = 32;
/** A transaction ends after this much re-sealed data, so one turn stays short with large chunk rows (~16 ms a MB). */
const BYTES_PER_TRANSACTION = 1 << 20;

export async function reencrypt(st: TsdbState, onProgress?: (done: number, total: number) => void, between: () => Promise<void> = nextTurn): Promise<void> {
  const { storage } = st;
  // A checkpoint under way may have sealed parts with the retiring key: dropped with them (a later one seals with the current key).
  st.checkpoint = undefined;
  storage.transaction(() => storage.deleteHeadPartsOutside(st.headParts.first, st.headParts.first + st.headParts.count));
  const current = storage.currentKeyId;
  const layout = storage.layout;
  interface Job {
    item: Item;
    load(): StoredRow | undefined;
    save(row: StoredRow): void;
  }
  const jobs: Job[] = [];
  for (const p of storage.pages()) {
    if (p.keyId !== current) jobs.push({ item: items.page(p.page), load: () => storage.page(p.page), save: (r) => storage.putPage(p.page, r) });
  }
  for (const l of storage.logKeys()) {
    if (l.keyId !== current) jobs.push({ item: items.log(l.seq), load: () => storage.logRow(l.seq), save: (r) => storage.resealLog(l.seq, r) });
  }
  const hs = storage.headState();
  // A checkpoint meanwhile replaces the head state and its parts, sealed with the current key: nothing left to do.
  const stillHead = () => storage.headState()?.seq === hs?.seq;
  if (hs && hs.keyId !== current) jobs.push({ item: items.headState(hs.seq), load: () => (stillHead() ? storage.headState() : undefined), save: (r) => storage.putHeadState(hs.seq, r) });
  const state = hs && storage.decode(items.headState(hs.seq), () => decodeHeadState(storage.open(items.headState(hs.seq), hs)));
  for (const p of state?.parts ? storage.headPartKeys(hs!.seq, state.firstPart ?? 0, state.parts) : []) {
    if (p.keyId !== current) jobs.push({ item: items.headPart(hs!.seq, p.part), load: () => (stillHead() ? storage.headPart(hs!.seq, p.part) : undefined), save: (r) => storage.putHeadPart(p.part, r) });
  }
  for (const c of storage.chunkKeys()) {
    if (c.keyId === current) continue;
    let samples = 0;
    jobs.push({
      item: items.chunk(c.bucket, c.part, layout),
      load: () => {
        const row = storage.chunk(c.bucket, c.part);
        samples = row?.samples ?? 0;
        return row;
      },
      save: (r) => storage.putChunk(c.bucket, c.part, samples, r),
    });
  }
  const total = jobs.length;
  onProgress?.(0, total);
  for (let i = 0; i < total; ) {
    if (i > 0) await between();
    storage.transaction(() => {
      for (let n = 0, bytes = 0; n < ROWS_PER_TRANSACTION && bytes < BYTES_PER_TRANSACTION && i < total; n++, i++) {
        const job = jobs[i]!;
        const row = job.load();
        if (!row) continue;
        job.save(storage.seal(job.item, storage.open(job.item, row)));
        bytes += row.data.length;
      }
    });
    onProgress?.(i, total);
  }
  const manifest = storage.resealManifest();
  if (total > 0 || manifest) storage.shrink();
}
