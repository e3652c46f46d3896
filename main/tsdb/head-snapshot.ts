// A store read off the ingest thread (a query worker): the worker reads the sealed chunk rows
// through its own read-only connection (./snapshot-reader.ts); only what is not in rows yet comes
// from this thread, as a snapshot: the matching series (ids, labels, time spans; postings live
// here) and a copy of their head samples inside the window.
//
// Head and rows together are exactly the committed data: the snapshot is taken first, the rows are
// read after it in one read transaction. A sample that was in the head at the snapshot is either
// still there (in the snapshot) or was cut into a row since (then it is in both, and the merge
// keeps it once); a sample already in a row at the snapshot is still in that row. Samples that
// arrived after the snapshot and were cut before the row read lie after the series' last
// timestamp at the snapshot (the watermark), which the merge trims to; series created after the
// snapshot are not in it.
import type { Labels } from '../../shared/labels';
import { selectSeries } from './matchers';
import type { TsdbState } from './state';
import type { Matcher } from './types';

/** Which file a worker opens, and how. */
export interface StoreFile {
  readonly path: string;
  readonly workspaceId: string;
  /** False only for the plaintext stores benchmarks make. */
  readonly encrypted: boolean;
}

/** Series i's head samples are timestamps/values [offsets[i], offsets[i + 1]). */
export interface HeadSnapshot {
  readonly store: StoreFile;
  readonly labels: Labels[];
  readonly ids: Float64Array;
  readonly minT: Float64Array;
  /** The watermark: each series' newest timestamp when the snapshot was taken. */
  readonly lastT: Float64Array;
  readonly offsets: Uint32Array;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
}

/** What a store offers a query worker that reads it itself. */
export interface OffThreadReads {
  /** The matching series with any sample in [mint, maxt], and their head samples in it. */
  snapshot(matchers: readonly Matcher[], mint: number, maxt: number): HeadSnapshot;
  /** A copy of data key `id` (the worker opens rows with it; whoever holds the copy wipes it). */
  dataKey(id: number): Buffer;
}

export function offThreadReads(st: TsdbState): OffThreadReads {
  return {
    snapshot: (matchers, mint, maxt) => takeHeadSnapshot(st, matchers, mint, maxt),
    dataKey: (id) => st.storage.dataKey(id),
  };
}

export function takeHeadSnapshot(st: TsdbState, matchers: readonly Matcher[], mint: number, maxt: number): HeadSnapshot {
  const { storage } = st;
  const store = { path: storage.path, workspaceId: storage.workspaceId, encrypted: storage.encrypted };
  const series = mint > maxt ? [] : selectSeries(st.head, matchers).filter((s) => s.minT <= maxt && s.lastT >= mint);
  const windows = series.map((s) => s.window(mint, maxt));
  const offsets = new Uint32Array(series.length + 1);
  for (let i = 0; i < series.length; i++) offsets[i + 1] = offsets[i]! + windows[i]!.timestamps.length;
  const total = offsets[series.length]!;
  const timestamps = new Float64Array(total);
  const values = new Float64Array(total);
  windows.forEach((w, i) => {
    timestamps.set(w.timestamps, offsets[i]);
    values.set(w.values, offsets[i]);
  });
  return {
    store,
    labels: series.map((s) => s.labels),
    ids: Float64Array.from(series, (s) => s.id),
    minT: Float64Array.from(series, (s) => s.minT),
    lastT: Float64Array.from(series, (s) => s.lastT),
    offsets,
    timestamps,
    values,
  };
}

/** The snapshot's buffers, to move (not copy) to the worker. */
export function snapshotBuffers(s: HeadSnapshot): ArrayBuffer[] {
  return [s.ids, s.minT, s.lastT, s.offsets, s.timestamps, s.values].map((a) => a.buffer as ArrayBuffer);
}
