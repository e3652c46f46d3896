// A workspace's encrypted time-series store: one SQLite file, opened with the workspace's data keys.
// On open the series index is decrypted into memory and the log is replayed into the head.
import { applySamples, HeadAppender } from './appender';
import { compact, CUT_ALL, type CompactOptions } from './compaction';
import { deleteSeries } from './delete-series';
import { Head } from './head';
import { HeadQuerier } from './querier';
import { reencrypt } from './reencrypt';
import { applyRetention } from './retention';
import { decodeSeriesPage } from './series-page';
import type { TsdbState } from './state';
import { items, Storage, type DataKeys } from './storage';
import type { Appender, Matcher, Querier } from './types';
import { decodeBatch, decodeHeadState } from './wal-record';

export type { DataKeys } from './storage';
export type { CompactOptions } from './compaction';

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
  stats(): TsdbStats;
  /** Cuts complete buckets of the head into chunk rows and drops fully cut log records (all: every bucket). */
  compact(opts?: CompactOptions): void;
  /** Deletes the matching series' samples in [mint, maxt] for good; returns the samples deleted. */
  deleteSeries(matchers: readonly Matcher[], mint: number, maxt: number): number;
  /** Deletes whole buckets that ended before nowMs - retentionMs; returns the samples deleted. */
  applyRetention(nowMs: number): number;
  /** Re-seals every row not sealed with keys.current; resumable (rows already done are skipped). */
  reencrypt(onProgress?: (done: number, total: number) => void): void;
  /** Rows found unreadable while opening (their data is skipped), each naming the workspace and item. */
  damaged(): readonly string[];
  close(): void;
}

const DEFAULT_BUCKET_MS = 2 * 3600_000;
const DEFAULT_SERIES_PER_PART = 256;

export function openTsdb(opts: TsdbOptions): Tsdb {
  const storage = new Storage(opts.path, opts.workspaceId, opts.keys, {
    bucketMs: opts.bucketMs ?? DEFAULT_BUCKET_MS,
    seriesPerPart: opts.seriesPerPart ?? DEFAULT_SERIES_PER_PART,
  }, opts.sqliteNativeBinding);
  const st: TsdbState = {
    storage,
    head: new Head(),
    outOfOrderWindowMs: opts.outOfOrderWindowMs ?? 0,
    maxSeries: opts.maxSeries ?? 0,
    nextLogSeq: storage.maxLogSeq() + 1,
    nextPage: storage.maxPage() + 1,
    batchCounter: 0,
  };
  const damaged: string[] = [];
  try {
    load(st, damaged);
  } catch (e) {
    storage.close();
    throw e;
  }
  let closed = false;
  const live = (): TsdbState => {
    if (closed) throw new Error(`the store of workspace ${opts.workspaceId} is closed`);
    return st;
  };
  return {
    workspaceId: opts.workspaceId,
    appender: () => new HeadAppender(live()),
    querier: () => new HeadQuerier(live()),
    stats() {
      let head = 0;
      for (const s of live().head.all()) head += s.count;
      return { series: st.head.size, samples: storage.chunkSamples() + head, bytesOnDisk: storage.bytesOnDisk() };
    },
    compact: (o) => void compact(live(), o),
    deleteSeries: (matchers, mint, maxt) => deleteSeries(live(), matchers, mint, maxt),
    applyRetention(nowMs) {
      if (opts.retentionMs === undefined) return 0;
      return applyRetention(live(), nowMs - opts.retentionMs);
    },
    reencrypt: (onProgress) => reencrypt(live(), onProgress),
    damaged: () => damaged,
    close() {
      if (closed) return;
      closed = true;
      storage.close();
    },
  };
}

/** Decrypts the series index and replays the log; unreadable rows are reported, not fatal. */
function load(st: TsdbState, damaged: string[]): void {
  const { storage, head } = st;
  const readable = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (e) {
      damaged.push((e as Error).message);
      return undefined;
    }
  };
  for (const row of storage.pages()) {
    const entries = readable(() => decodeSeriesPage(storage.open(items.page(row.page), row)));
    for (const e of entries ?? []) head.add(e.id, e.labels).persisted = true;
  }
  for (const s of head.all()) s.logged = true;
  const hsRow = storage.headState();
  // Without a readable head state every log sample is replayed: samples already in chunk rows
  // then exist twice, which reads and compacts to the same data.
  const hs = hsRow && readable(() => decodeHeadState(storage.open(items.headState(hsRow.seq), hsRow)));
  let statesApplied = !hs;
  const applyStates = (): void => {
    statesApplied = true;
    for (const s of hs!.states) {
      const series = head.get(s.id);
      if (!series) continue;
      series.minT = Math.min(series.minT, s.minT);
      if (s.lastT >= series.lastT) {
        series.lastT = s.lastT;
        series.lastV = s.lastV;
      }
    }
  };
  const bucketMs = storage.layout.bucketMs;
  for (const row of storage.logRows()) {
    if (!statesApplied && row.seq > hs!.coveredSeq) applyStates();
    const rec = readable(() => decodeBatch(storage.open(items.log(row.seq), row)));
    if (!rec) continue;
    for (const d of rec.defs) if (!head.get(d.id)) head.add(d.id, d.labels).logged = true;
    const { ids, timestamps, values, count } = rec.samples;
    if (statesApplied || hs!.cutBucket <= -CUT_ALL) {
      applySamples(st, ids, timestamps, values, count);
      continue;
    }
    // Written before the last compaction: samples below the cut are in chunk rows already.
    const from = hs!.cutBucket * bucketMs;
    let n = 0;
    for (let i = 0; i < count; i++) {
      if (timestamps[i]! < from) continue;
      ids[n] = ids[i]!;
      timestamps[n] = timestamps[i]!;
      values[n++] = values[i]!;
    }
    applySamples(st, ids, timestamps, values, n);
  }
  if (!statesApplied) applyStates();
}
