// A workspace's encrypted time-series store: one SQLite file, opened with the workspace's data keys.
// On open the series index is decrypted into memory, the head checkpoint decoded and the log
// written since replayed into the head.
import { applyBatch, HeadAppender } from './appender';
import { ChunkRow } from './chunk-row';
import { committedLog, type CommittedLog } from './committed-reader';
import { allPersisted, BucketCut, compact, CUT_ALL, type CompactOptions } from './compaction';
import { deleteSeries } from './delete-series';
import { Head } from './head';
import { checkpointDue, HeadCheckpoint, quietCheckpointDue, restoreHeadSamples } from './head-checkpoint';
import { headHistogramCount } from './head-histograms';
import { storeReleased } from './head-snapshot';
import { selectSeries } from './matchers';
import { HeadQuerier } from './querier';
import { reencrypt } from './reencrypt';
import { applyRetention } from './retention';
import { decodeSeriesPage } from './series-page';
import { noteSeriesPage } from './series-index';
import { nextTurn, type TsdbState } from './state';
import { items, Storage, type DataKeys } from './storage';
import type { Appender, Matcher, Querier } from './types';
import { decodeBatch, decodeHeadState, decodeStatesPart, holdsSamples, type SeriesState } from './wal-record';

export type { DataKeys } from './storage';
export type { BlobName } from './manifest';
import type { BlobName } from './manifest';
export type { CompactOptions } from './compaction';
export { StoreDamaged, StoreError, type StoreErrorKind } from './errors';
export type { CommittedLog, CommittedRead, CommittedRecord } from './committed-reader';

export interface TsdbOptions {
  readonly path: string;
  readonly workspaceId: string;
  /** Data keys; null stores plaintext and exists only so benchmarks can measure the cost of encryption. */
  readonly keys: DataKeys | null;
  /** Data older than this (relative to applyRetention's `nowMs`) is deleted by applyRetention. */
  readonly retentionMs?: number;
  /** Accept samples up to this much older than a series' last sample (default 0: in order only). */
  readonly outOfOrderWindowMs?: number;
  /** Refuse new series beyond this many (default 0: no limit). */
  readonly maxSeries?: number;
  /** Width of a time bucket, fixed when the file is created (default 2 h). */
  readonly bucketMs?: number;
  /** Series per chunk row, fixed when the file is created (default 256). */
  readonly seriesPerPart?: number;
  /** better-sqlite3's `.node` file to load (Electron and Node need different builds). */
  readonly sqliteNativeBinding?: string;
  /** Run SQLite's quick_check on open (default true) of the tables an open reads whole but the log (Storage.quickCheck). */
  readonly quickCheck?: boolean;
  /** Bytes of a part of the head checkpoint (default head-checkpoint's PART_BYTES; tests make it small). */
  readonly headPartBytes?: number;
  /** Series a cut in turns looks at in one turn while it plans (default compaction's SCAN_PER_TURN; tests make it small). */
  readonly cutScanSeries?: number;
}

export interface TsdbStats {
  readonly series: number;
  readonly samples: number;
  readonly bytesOnDisk: number;
}

export interface Tsdb {
  readonly workspaceId: string;
  appender(): Appender;
  querier(): Querier;
  /** What is committed, in commit order, for a follower (the forwarder). */
  committed(): CommittedLog;
  stats(): TsdbStats;
  /** Cuts complete buckets of the head into chunk rows and checkpoints the head when due, dropping the log it covers (all: every bucket; checkpoint: always). */
  compact(opts?: CompactOptions): void;
  /**
   * Checkpoints the head when the log since the last checkpoint is due one (a restart would replay
   * it), or when nothing was committed since the last call and that log holds at least 100,000
   * samples (a store gone quiet checkpoints while it costs nothing); cheap when neither. The parts
   * are written one a turn of the event loop (`between`), the store working meanwhile; nothing is
   * cut (maintenance cuts). Settles once the checkpoint is committed, or dropped for a head state
   * written meanwhile (a compaction, deletion, retention, key rotation) or a cut.
   */
  checkpointIfDue(between?: () => Promise<void>): Promise<void>;
  /**
   * Maintenance in turns of the event loop (`between`), the store taking remote writes meanwhile:
   * cuts the head's complete buckets into chunk rows a series group a turn (compaction's BucketCut),
   * then checkpoints the head a part a turn when it cut, when its log is due one or when new series
   * wait to be persisted (before the store's first checkpoint in parts: one transaction), applies
   * retention as of `nowMs`, and returns the pages all that freed a few MB a turn.
   */
  maintain(between?: () => Promise<void>, nowMs?: number): Promise<void>;
  /**
   * Deletes the matching series' samples in [mint, maxt] for good; resolves to the samples deleted
   * once their old ciphertext is overwritten. The head is first cut into chunk rows a series group
   * a turn (`between`), so the one transaction that rewrites the series' rows and the head state
   * finds little in the head; then the freed pages go back a few MB a turn.
   */
  deleteSeries(matchers: readonly Matcher[], mint: number, maxt: number, between?: () => Promise<void>): Promise<number>;
  /** Deletes whole buckets that ended before nowMs - retentionMs; returns the samples deleted. */
  applyRetention(nowMs: number): number;
  /** A sealed blob row (null: none yet): metric metadata, exemplars; its content is the caller's encoding. */
  readBlob(name: BlobName): Buffer | null;
  writeBlob(name: BlobName, plain: Buffer): void;
  /** Replaces (null: deletes) several blob rows in one transaction. */
  writeBlobs(changes: readonly (readonly [BlobName, Buffer | null])[]): void;
  /**
   * Re-seals every row not sealed with keys.current, a transaction of rows a turn of the event loop
   * (`between`; the store keeps working meanwhile); resumable (rows already done are skipped).
   */
  reencrypt(onProgress?: (done: number, total: number) => void, between?: () => Promise<void>): Promise<void>;
  close(): void;
}

const DEFAULT_BUCKET_MS = 2 * 3600_000;
const DEFAULT_SERIES_PER_PART = 256;
const NO_PARTS = { first: 0, count: 0 };
/** Pages (4 KiB) a turn of maintenance returns to the file system: ~30 ms of page moves at most. */
const VACUUM_PAGES = 1024;

/**
 * Opens (or creates) a workspace's store. Throws StoreDamaged (naming workspace, file and item) when
 * the file is damaged: a row altered or missing, SQLite corruption, a damaged write-ahead log.
 */
export function openTsdb(opts: TsdbOptions): Tsdb {
  const storage = new Storage(opts.path, opts.workspaceId, opts.keys, {
    bucketMs: opts.bucketMs ?? DEFAULT_BUCKET_MS,
    seriesPerPart: opts.seriesPerPart ?? DEFAULT_SERIES_PER_PART,
  }, { nativeBinding: opts.sqliteNativeBinding, quickCheck: opts.quickCheck ?? true });
  let st: TsdbState;
  try {
    st = {
      storage,
      head: new Head(),
      outOfOrderWindowMs: opts.outOfOrderWindowMs ?? 0,
      maxSeries: opts.maxSeries ?? 0,
      ...(opts.headPartBytes ? { headPartBytes: opts.headPartBytes } : {}),
      ...(opts.cutScanSeries ? { cutScanSeries: opts.cutScanSeries } : {}),
      nextLogSeq: storage.maxLogSeq() + 1,
      nextPage: storage.maxPage() + 1,
      pageIds: new Map(),
      logSamplesSinceCheckpoint: 0,
      headSamplesAtCheckpoint: 0,
      cutBucket: -CUT_ALL,
      coveredSeq: 0,
      headParts: NO_PARTS,
      batchCounter: 0,
    };
    load(st);
  } catch (e) {
    storage.close();
    throw e;
  }
  let closed = false;
  /** Runs `step` once a turn until it is done (true) or the work was dropped or the store closed (false). */
  const inTurns = async (step: () => boolean, dropped: () => boolean, between: () => Promise<void>): Promise<boolean> => {
    for (;;) {
      await between();
      if (closed || dropped()) return false;
      if (!step()) return true;
    }
  };
  /** A checkpoint a part a turn, recording a cut in turns that came before (`cut`); false when it was dropped. */
  const checkpointInTurns = async (s: TsdbState, between: () => Promise<void>, cut?: { bucket: number; logUpTo: number }): Promise<boolean> => {
    // The parts unsynced: the head state's synced commit makes them durable with it (transactionUnsynced).
    const cp = storage.transactionUnsynced(() => new HeadCheckpoint(s, cut));
    if (!(await inTurns(() => storage.transactionUnsynced(() => cp.writePart()), () => cp.dropped, between))) return false;
    storage.transaction(() => cp.commit());
    return true;
  };
  /** Returns the freed pages to the file system a few MB a turn, then folds the WAL (unless the store closed). */
  const vacuumInTurns = async (between: () => Promise<void>): Promise<void> => {
    if (await inTurns(() => storage.vacuumSome(VACUUM_PAGES), () => false, between)) storage.shrink();
  };
  /** nextLogSeq at the last checkpointIfDue: unchanged at the next means nothing was committed between. */
  let logSeqAtLastCheck = -1;
  const live = (): TsdbState => {
    if (closed) throw new Error(`the store of workspace ${opts.workspaceId} is closed`);
    return st;
  };
  return {
    workspaceId: opts.workspaceId,
    appender: () => new HeadAppender(live()),
    querier: () => new HeadQuerier(live()),
    committed: () => committedLog(live()),
    stats() {
      return { series: st.head.size, samples: storage.chunkSamples() + headSamples(live().head), bytesOnDisk: storage.bytesOnDisk() };
    },
    compact: (o) => void compact(live(), o),
    async checkpointIfDue(between = nextTurn) {
      const s = live();
      const quiet = s.nextLogSeq === logSeqAtLastCheck;
      logSeqAtLastCheck = s.nextLogSeq;
      if (s.checkpoint || s.cut) return; // one under way
      if (!checkpointDue(s) && !(quiet && quietCheckpointDue(s))) return;
      await checkpointInTurns(s, between);
    },
    async maintain(between = nextTurn, nowMs = Date.now()) {
      const s = live();
      if (s.cut || s.checkpoint) return; // one under way
      let changed = true;
      if (s.headParts.count === 0) compact(s, { shrink: false }); // its pages go back in turns below
      else {
        const cut = BucketCut.start(s);
        if (!(await inTurns(() => cut.step(), () => cut.dropped, between))) return;
        if (cut.recorded || checkpointDue(s) || !allPersisted(s.head)) {
          if (!(await checkpointInTurns(s, between, cut.recorded))) return;
        } else changed = false;
      }
      if (opts.retentionMs !== undefined && applyRetention(s, nowMs - opts.retentionMs, { shrink: false, afterCut: true }) > 0) changed = true;
      if (!changed) return void storage.shrinkIfOwed();
      // What the cut, the checkpoint and retention freed (old parts, log records, rows) goes back a few MB a turn, then the WAL is folded.
      await vacuumInTurns(between);
    },
    async deleteSeries(matchers, mint, maxt, between = nextTurn) {
      const s = live();
      if (mint > maxt || selectSeries(s.head, matchers).length === 0) return 0;
      const cut = BucketCut.start(s, 'deletion'); // takes the place of maintenance under way
      await inTurns(() => cut.step(), () => cut.dropped, between);
      const deleted = deleteSeries(live(), matchers, mint, maxt, false);
      await vacuumInTurns(between);
      return deleted;
    },
    applyRetention(nowMs) {
      if (opts.retentionMs === undefined) return 0;
      return applyRetention(live(), nowMs - opts.retentionMs);
    },
    readBlob: (name) => live().storage.blob(name),
    writeBlob: (name, plain) => live().storage.putBlob(name, plain),
    writeBlobs: (changes) => live().storage.putBlobs(changes),
    async reencrypt(onProgress, between) {
      await reencrypt(live(), onProgress, between);
      storeReleased(storage.path); // query workers drop the retired key with their connection
    },
    close() {
      if (closed) return;
      closed = true;
      st.checkpoint = st.cut = undefined;
      storage.close();
      storeReleased(storage.path);
    },
  };
}

export interface VerifyOptions {
  readonly path: string;
  readonly workspaceId: string;
  readonly keys: DataKeys | null;
  readonly sqliteNativeBinding?: string;
}

export interface VerifyReport {
  readonly series: number;
  readonly chunkRows: number;
  readonly samples: number;
}

/**
 * Checks a store file end to end without changing it (the file may be open and written by the
 * serving store meanwhile: one read transaction sees one state): SQLite's quick_check, the
 * manifest, and every row decrypted and decoded, chunk rows included. Throws StoreDamaged.
 */
export function verifyTsdb(opts: VerifyOptions): VerifyReport {
  const storage = new Storage(opts.path, opts.workspaceId, opts.keys, { bucketMs: DEFAULT_BUCKET_MS, seriesPerPart: DEFAULT_SERIES_PER_PART }, { nativeBinding: opts.sqliteNativeBinding, readonly: true });
  try {
    storage.db.exec('BEGIN');
    storage.quickCheck();
    const st: TsdbState = { storage, head: new Head(), outOfOrderWindowMs: Infinity, maxSeries: 0, nextLogSeq: 0, nextPage: 0, pageIds: new Map(), logSamplesSinceCheckpoint: 0, headSamplesAtCheckpoint: 0, cutBucket: -CUT_ALL, coveredSeq: 0, headParts: NO_PARTS, batchCounter: 0 };
    load(st);
    const { layout } = storage;
    let chunkRows = 0;
    let samples = 0;
    const parts = new Set(storage.chunkKeys().map((k) => k.part));
    for (const part of parts) {
      for (const row of storage.chunksOfPart(part, -CUT_ALL, CUT_ALL)) {
        const item = items.chunk(row.bucket, part, layout);
        storage.decode(item, () => {
          const chunkRow = new ChunkRow(storage.open(item, row), row.bucket * layout.bucketMs);
          let n = 0;
          for (const id of chunkRow.ids()) n += chunkRow.decode(id)!.timestamps.length + (chunkRow.histograms(id)?.timestamps.length ?? 0);
          if (n !== row.samples) throw new RangeError(`it holds ${n} samples, its count says ${row.samples}`);
        });
        chunkRows++;
        samples += row.samples;
      }
    }
    return { series: st.head.size, chunkRows, samples };
  } finally {
    storage.close();
  }
}

/**
 * Decrypts the series index and replays the log. Every row must be there and readable: a missing
 * or altered one is StoreDamaged, never a store that silently holds fewer series.
 */
function load(st: TsdbState): void {
  st.head.replay(() => readStore(st));
}

function readStore(st: TsdbState): void {
  const { storage, head } = st;
  storage.checkChunkList();
  for (const row of storage.pages()) {
    const item = items.page(row.page);
    const entries = storage.decode(item, () => decodeSeriesPage(storage.open(item, row)));
    noteSeriesPage(st, row.page, entries);
    for (const e of entries) {
      if (head.get(e.id)) {
        storage.decode(item, () => {
          throw new RangeError(`series id ${e.id} appears twice`);
        });
      }
      head.add(e.id, e.labels).persisted = true;
    }
  }
  for (const s of head.all()) s.logged = true;
  const hsRow = storage.headState();
  const hsItem = hsRow && items.headState(hsRow.seq);
  const hs = hsRow && storage.decode(hsItem!, () => decodeHeadState(storage.open(hsItem!, hsRow)));
  let statesApplied = !hs;
  if (hs) (st.cutBucket = hs.cutBucket), (st.coveredSeq = hs.coveredSeq);
  const applyStates = (): void => {
    statesApplied = true;
    if (hs!.samples) storage.decode(hsItem!, () => restoreHeadSamples(head, hs!.samples!));
    const apply = (states: readonly SeriesState[]): void => {
      for (const s of states) {
        const series = head.get(s.id);
        if (!series) continue;
        series.minT = Math.min(series.minT, s.minT);
        if (s.lastT >= series.lastT) {
          series.lastT = s.lastT;
          series.lastV = s.lastV;
        }
      }
    };
    if (hs!.parts !== undefined) {
      // A part at a time: each is decrypted, and its series adopt their lists from it. The last
      // `stateParts` (version 4) hold the series' states, so they come after every sample.
      st.headParts = { first: hs!.firstPart ?? 0, count: hs!.parts };
      const samplesEnd = st.headParts.first + hs!.parts - (hs!.stateParts ?? 0);
      for (const { part } of storage.headPartKeys(hsRow!.seq, st.headParts.first, hs!.parts)) {
        const item = items.headPart(hsRow!.seq, part);
        const row = storage.headPart(hsRow!.seq, part);
        if (part < samplesEnd) storage.decode(item, () => restoreHeadSamples(head, { base: 0, row: storage.open(item, row) }));
        else apply(storage.decode(item, () => decodeStatesPart(storage.open(item, row))));
      }
    }
    apply(hs!.states);
  };
  const bucketMs = storage.layout.bucketMs;
  const covered = hs && holdsSamples(hs) ? hs.coveredSeq : 0;
  for (const row of storage.logRows(covered)) {
    // A checkpoint holds every head sample of the records it covers: those are not even read.
    if (row.seq <= covered) continue;
    if (!statesApplied && row.seq > hs!.coveredSeq) applyStates();
    const item = items.log(row.seq);
    const rec = storage.decode(item, () => decodeBatch(storage.open(item, { keyId: row.keyId, data: row.data! })));
    for (const d of rec.defs) if (!head.get(d.id)) head.add(d.id, d.labels).logged = true;
    const { ids, timestamps, values, count } = rec.samples;
    const hr = rec.histograms;
    if (statesApplied) st.logSamplesSinceCheckpoint += count + hr.count;
    if (statesApplied || hs!.cutBucket <= -CUT_ALL) {
      applyBatch(st, rec.samples, hr);
      continue;
    }
    // Written before the last compaction: samples below the cut are in chunk rows already.
    const from = hs!.cutBucket * bucketMs;
    const keptBefore = hr.count > 0 ? new Float64Array(count + 1) : null; // floats kept among the first i
    let n = 0;
    for (let i = 0; i < count; i++) {
      if (keptBefore) keptBefore[i] = n;
      if (timestamps[i]! < from) continue;
      ids[n] = ids[i]!;
      timestamps[n] = timestamps[i]!;
      values[n++] = values[i]!;
    }
    if (keptBefore) keptBefore[count] = n;
    const hKeep = [...hr.values.keys()].filter((i) => hr.timestamps[i]! >= from);
    applyBatch(
      st,
      { ids, timestamps, values, count: n },
      { ids: hKeep.map((i) => hr.ids[i]!), timestamps: hKeep.map((i) => hr.timestamps[i]!), values: hKeep.map((i) => hr.values[i]!), at: hKeep.map((i) => keptBefore![hr.at[i]!]!), count: hKeep.length },
    );
  }
  if (!statesApplied) applyStates();
  // The next checkpoint falls due as if this process had written the last one (else at the minimum,
  // a copy of the whole head soon after every restart).
  if (hs && holdsSamples(hs)) st.headSamplesAtCheckpoint = Math.max(0, headSamples(head) - st.logSamplesSinceCheckpoint);
}

function headSamples(head: Head): number {
  let n = 0;
  for (const s of head.all()) n += s.count + headHistogramCount(s);
  return n;
}
