// What the store's parts share: the SQLite file, the head, the layout and options.
import type { Head } from './head';
import type { Storage } from './storage';

export interface TsdbState {
  readonly storage: Storage;
  readonly head: Head;
  /** Samples older than a series' last sample by at most this much are still accepted. */
  readonly outOfOrderWindowMs: number;
  /** 0 = no limit. */
  readonly maxSeries: number;
  /** Bytes of a head state part (head-checkpoint's PART_BYTES unless set, by tests). */
  readonly headPartBytes?: number;
  /** Series a cut in turns looks at in a turn while it plans (compaction's SCAN_PER_TURN unless set, by tests). */
  readonly cutScanSeries?: number;
  /** Sequence number for the next log record. */
  nextLogSeq: number;
  /** Id for the next series page. */
  nextPage: number;
  /**
   * Each series page's lowest and highest series id when it was written (./series-index), so that
   * removing series reads only the pages that may hold them: reading every page cost a one-series
   * deletion at 100,000 series 95–109 ms of its transaction.
   */
  readonly pageIds: Map<number, { readonly min: number; readonly max: number }>;
  /** Samples logged since the last head checkpoint (what a restart would replay). */
  logSamplesSinceCheckpoint: number;
  /** Head samples the last checkpoint held (0 before one). */
  headSamplesAtCheckpoint: number;
  /** The bucket the last head state's cut reached (compaction's -CUT_ALL before any). */
  cutBucket: number;
  /** The last log record the last checkpoint covers (0 before one). */
  coveredSeq: number;
  /** The last checkpoint's parts: numbers [first, first + count). */
  headParts: { readonly first: number; readonly count: number };
  /**
   * The head checkpoint being written in turns (head-checkpoint's HeadCheckpoint), until it commits
   * or a later head state takes its place; only its identity is kept here.
   */
  checkpoint?: object | undefined;
  /** A compaction's cut being written in turns (compaction's BucketCut), until it is done or a compaction takes its place. */
  cut?: object | undefined;
  /** Sequence of appender batches; lets a series tell whether its pending fields are current. */
  batchCounter: number;
}

export function bucketOf(t: number, bucketMs: number): number {
  return Math.floor(t / bucketMs);
}

/** A turn of the event loop: what work in turns (a checkpoint, a cut, a key rotation) waits for between its steps. */
export const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));
