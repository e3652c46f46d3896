// A store read off the ingest thread (a query worker): the worker reads the sealed chunk rows
// through its own read-only connection (./snapshot-reader.ts); only what is not in rows yet comes
// from this thread, as a snapshot: the matching series (ids, labels, time spans; postings live
// here) and a copy of their head samples (floats and native histograms). Float samples are copied
// as the head keeps them, compressed (./head's chunk lists), and decoded by the worker: this
// thread neither decodes nor copies 16 bytes a sample.
//
// Head and rows together are exactly the committed data: the snapshot is taken first, the rows are
// read after it in one read transaction. A sample that was in the head at the snapshot is either
// still there (in the snapshot) or was cut into a row since (then it is in both, and the merge
// keeps it once); a sample already in a row at the snapshot is still in that row. Samples that
// arrived after the snapshot and were cut before the row read lie after the series' last
// timestamp at the snapshot (the watermark), which the merge trims to; series created after the
// snapshot are not in it. That argument holds per series, so a large snapshot is taken in parts
// (up to 512 KiB and 1,024 series each) between which the ingest thread answers remote write, with every series'
// watermark taken at the first part; each part's rows are read after that part (while the next
// one is taken here).
import { PAD_BYTES } from './bitstream';
import { decodeList, listChunks, listSpan, type Head, type MemSeries } from './head';
import type { FloatHistogram } from './histogram';
import { headHistogramWindow, type HeadHistogramSamples } from './histogram-read';
import type { HeadChunk } from './one-chunk';
import { labelSetBuffers, packLabelSets, type PackedLabelSets } from './label-sets-wire';
import { selectSeries, seriesSelection } from './matchers';
import { lowerBound } from './sorted';
import type { TsdbState } from './state';
import type { FloatSamples, Matcher } from './types';

/** Which file a worker opens, and how. */
export interface StoreFile {
  readonly path: string;
  readonly workspaceId: string;
  /** Which opening of the file (a store closed and opened again, or deleted and made anew, gets another). */
  readonly opening: number;
  /** False only for the plaintext stores benchmarks make. */
  readonly encrypted: boolean;
}

/**
 * Part of a snapshot: series i's head samples are the chunk list lists[listOffsets[i],
 * listOffsets[i + 1]) followed by timestamps/values [offsets[i], offsets[i + 1]), any of them
 * outside the window (decodeSnapshotPart decodes and trims them).
 */
export interface HeadSnapshot {
  readonly store: StoreFile;
  /** More parts follow (SnapshotCursor.next). */
  readonly more: boolean;
  /** Each series' labels, left out where the worker holds them already (LabelsSent). */
  readonly labels: PackedLabelSets;
  /** The LabelsSent generation the sets left out refer to (-1: every set is given). */
  readonly labelsGeneration: number;
  readonly ids: Float64Array;
  readonly minT: Float64Array;
  /** The watermark: each series' newest timestamp when the snapshot was taken. */
  readonly lastT: Float64Array;
  readonly listOffsets: Uint32Array;
  /** Padded at the end for the decoder's peeks. */
  readonly lists: Uint8Array;
  readonly offsets: Uint32Array;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  /** Series i's head histogram samples are histogramTimestamps/histograms [histogramOffsets[i], histogramOffsets[i + 1]); the histograms are cloned, the arrays moved. */
  readonly histogramOffsets: Uint32Array;
  readonly histogramTimestamps: Float64Array;
  readonly histograms: FloatHistogram[];
}

/**
 * Bytes of head samples copied per part at most (unless one series alone has more), and series per
 * part: a part takes the ingest thread 1–2 ms (10,000 series: 10 parts), so remote write waits little.
 */
const PART_BYTES = 1 << 19;
const PART_SERIES = 1024;

/** The parts of one snapshot, in series order. */
export interface SnapshotCursor {
  next(): HeadSnapshot;
}

/**
 * The series whose labels one worker holds for one opening of a store, as the ingest thread has
 * sent them: a snapshot sends their labels no more (making a key of them cost this thread ~1 µs a
 * series, 100 ms a chart over 100,000 series, and the worker its parse). The worker names the
 * generation it holds with each snapshot it asks for; another one (it started over, or holds none)
 * means a new LabelsSent.
 */
export interface LabelsSent {
  readonly generation: number;
  has(id: number): boolean;
  add(id: number): void;
}

/** A LabelsSent as one bit a series id. */
export class LabelsSentBits implements LabelsSent {
  private bits = new Uint8Array(1024);

  constructor(readonly generation: number) {}

  has(id: number): boolean {
    return ((this.bits[id >>> 3] ?? 0) & (1 << (id & 7))) !== 0;
  }

  add(id: number): void {
    if (id >>> 3 >= this.bits.length) {
      const more = new Uint8Array(Math.max(2 * this.bits.length, (id >>> 3) + 1));
      more.set(this.bits);
      this.bits = more;
    }
    this.bits[id >>> 3]! |= 1 << (id & 7);
  }
}

/** What a store offers a query worker that reads it itself. */
export interface OffThreadReads {
  /** Which file and opening the snapshots are of. */
  readonly file: StoreFile;
  /**
   * The matching series with any sample in [mint, maxt], and their head samples in it, in parts;
   * without the labels of the series in `sent`, to which it adds those it sends.
   */
  snapshot(matchers: readonly Matcher[], mint: number, maxt: number, sent?: LabelsSent): SnapshotCursor;
  /**
   * What the series, label names and label values endpoints read, in parts, unsorted (the worker
   * sorts): of the series matching `matchers` (all series when null), see Listing.
   */
  listing(matchers: readonly Matcher[] | null, what: Listing): ListingCursor;
  /** A copy of data key `id` (the worker opens rows with it; whoever holds the copy wipes it). */
  dataKey(id: number): Buffer;
}

/**
 * `labels`: each series' label names and values (with mint and maxt, of series with a sample in
 * them only); `names`: their label names; `values`: their values of label `name`. Names and values
 * are distinct within a part, not across parts.
 */
export type Listing = { readonly of: 'labels'; readonly mint?: number; readonly maxt?: number } | { readonly of: 'names' } | { readonly of: 'values'; readonly name: string };

/** Part of a listing. */
export interface ListingPart {
  /** The names or values (none for `labels`). */
  readonly items: string[];
  /** For `labels`: each series' labels. */
  readonly sets?: PackedLabelSets;
  /** More parts follow (ListingCursor.next). */
  readonly more: boolean;
}

export interface ListingCursor {
  next(): ListingPart;
}

/**
 * Series (or postings) a listing part looks at: copying out a part's strings takes the ingest
 * thread 1–2 ms. In one call, `{__name__=~".+"}` over 100,000 series held it 218–266 ms (sorting
 * and cloning label sets).
 */
const LISTING_PART = 4096;

const releaseListeners = new Set<(path: string) => void>();

/**
 * Calls `listener` with a store's path when the store closes or its rows were sealed again under a
 * new data key: a query pool then has its workers close their connections to it and drop its keys
 * and cached rows. Returns the unsubscribe.
 */
export function onStoreReleased(listener: (path: string) => void): () => void {
  releaseListeners.add(listener);
  return () => releaseListeners.delete(listener);
}

export function storeReleased(path: string): void {
  for (const l of releaseListeners) l(path);
}

export function offThreadReads(st: TsdbState): OffThreadReads {
  return {
    file: storeFile(st),
    snapshot: (matchers, mint, maxt, sent) => takeHeadSnapshot(st, matchers, mint, maxt, sent),
    listing: (matchers, what) => listSeries(st.head, matchers, what),
    dataKey: (id) => st.storage.dataKey(id),
  };
}

function listSeries(head: Head, matchers: readonly Matcher[] | null, what: Listing): ListingCursor {
  if (!matchers && what.of !== 'labels') {
    // Straight from the postings, a live view: what is added between parts may be listed, what is removed may not.
    const source = what.of === 'names' ? head.labelNames() : (head.postingsOf(what.name)?.keys() ?? [].values());
    let ahead = source.next();
    return {
      next() {
        const items: string[] = [];
        for (; !ahead.done && items.length < LISTING_PART; ahead = source.next()) items.push(ahead.value);
        return { items, more: !ahead.done };
      },
    };
  }
  const selection = seriesSelection(head, matchers ?? []);
  const inSpan = what.of === 'labels' && what.mint !== undefined && what.maxt !== undefined ? { mint: what.mint, maxt: what.maxt } : null;
  return {
    next() {
      let part = selection.take(LISTING_PART);
      if (inSpan) part = part.filter((s) => s.minT <= inSpan.maxt && s.lastT >= inSpan.mint);
      const more = !selection.done;
      if (what.of === 'labels') return { items: [], sets: packLabelSets(part.map((s) => s.labels)), more };
      // Interned strings: no copy is made here, and a part's distinct ones are few.
      const found = new Set<string>();
      for (const s of part) {
        for (const l of s.labels) {
          if (what.of === 'names') found.add(l.name);
          else if (l.name === what.name) found.add(l.value);
        }
      }
      return { items: [...found], more };
    },
  };
}

function storeFile({ storage }: TsdbState): StoreFile {
  return { path: storage.path, workspaceId: storage.workspaceId, opening: storage.opening, encrypted: storage.encrypted };
}

export function takeHeadSnapshot(st: TsdbState, matchers: readonly Matcher[], mint: number, maxt: number, sent?: LabelsSent): SnapshotCursor {
  const store = storeFile(st);
  const series = mint > maxt ? [] : selectSeries(st.head, matchers).filter((s) => s.minT <= maxt && s.lastT >= mint);
  // Watermarks as of the first part: later parts leave out what arrived since, so that the query
  // sees each committed batch whole or not at all, as one snapshot would.
  const lastT = Float64Array.from(series, (s) => s.lastT);
  let at = 0;
  return {
    next() {
      const first = at;
      const part: MemSeries[] = [];
      const kept: { list: Uint8Array; timestamps: Float64Array; values: Float64Array }[] = [];
      const histWindows: HeadHistogramSamples[] = [];
      let total = 0;
      while (at < series.length && part.length < PART_SERIES && (total < PART_BYTES || part.length === 0)) {
        const s = series[at++]!;
        const until = Math.min(maxt, lastT[at - 1]!);
        // Only the chunks that may hold samples in the window are copied (an instant query's are the
        // last one or two). An unsorted head (out-of-order arrivals) is sorted and decoded here, in the window.
        const whole = s.kept();
        const span = whole && listSpan(whole.list, 0, whole.list.length, mint, until);
        const k = whole && span ? { list: whole.list.subarray(span.from, span.to), timestamps: whole.timestamps, values: whole.values } : { list: EMPTY, ...s.window(mint, until) };
        const hw = headHistogramWindow(s, mint, until);
        const n = k.list.length + 16 * (k.timestamps.length + hw.timestamps.length);
        if (part.length > 0 && total + n > PART_BYTES) {
          at--;
          break;
        }
        part.push(s);
        kept.push(k);
        histWindows.push(hw);
        total += n;
      }
      const listOffsets = new Uint32Array(part.length + 1);
      kept.forEach((k, i) => (listOffsets[i + 1] = listOffsets[i]! + k.list.length));
      const lists = new Uint8Array(listOffsets[part.length]! + PAD_BYTES);
      kept.forEach((k, i) => lists.set(k.list, listOffsets[i]));
      const offsets = new Uint32Array(part.length + 1);
      const timestamps = new Float64Array(kept.reduce((n, w) => n + w.timestamps.length, 0));
      const values = new Float64Array(timestamps.length);
      kept.forEach((w, i) => {
        timestamps.set(w.timestamps, offsets[i]);
        values.set(w.values, offsets[i]);
        offsets[i + 1] = offsets[i]! + w.timestamps.length;
      });
      const histogramOffsets = new Uint32Array(part.length + 1);
      const histogramTimestamps = new Float64Array(histWindows.reduce((n, w) => n + w.timestamps.length, 0));
      const histograms: FloatHistogram[] = [];
      histWindows.forEach((w, i) => {
        histogramTimestamps.set(w.timestamps, histogramOffsets[i]);
        for (const h of w.values) histograms.push(h);
        histogramOffsets[i + 1] = histogramOffsets[i]! + w.timestamps.length;
      });
      return {
        store,
        more: at < series.length,
        labels: packLabelSets(
          part.map((s) => {
            if (sent?.has(s.id)) return null;
            sent?.add(s.id);
            return s.labels;
          }),
        ),
        labelsGeneration: sent?.generation ?? -1,
        ids: Float64Array.from(part, (s) => s.id),
        minT: Float64Array.from(part, (s) => s.minT),
        lastT: lastT.slice(first, first + part.length),
        listOffsets,
        lists,
        offsets,
        timestamps,
        values,
        histogramOffsets,
        histogramTimestamps,
        histograms,
      };
    },
  };
}

/** The snapshot's buffers, to move (not copy) to the worker. */
export function snapshotBuffers(s: HeadSnapshot): ArrayBuffer[] {
  return [s.ids, s.minT, s.lastT, s.listOffsets, s.lists, s.offsets, s.timestamps, s.values, s.histogramOffsets, s.histogramTimestamps].map((a) => a.buffer as ArrayBuffer).concat(labelSetBuffers(s.labels));
}

/**
 * Series i's head samples in [mint, until] still coded, for a lazy read (decoded only when the
 * query reads the series, maybe on another thread): the list's chunks that reach into the window,
 * and the samples after them that lie inside it.
 */
export function snapshotHeadCoded(p: HeadSnapshot, i: number, mint: number, until: number): { chunks: HeadChunk[]; tail: FloatSamples } {
  const span = listSpan(p.lists, p.listOffsets[i]!, p.listOffsets[i + 1]!, mint, until);
  const chunks: HeadChunk[] = [];
  if (span.count > 0) listChunks(p.lists, span.from, span.to, chunks);
  const ts = p.timestamps.subarray(p.offsets[i]!, p.offsets[i + 1]!);
  const lo = lowerBound(ts, mint);
  const hi = Math.max(lo, lowerBound(ts, until, true));
  return { chunks, tail: { timestamps: ts.subarray(lo, hi), values: p.values.subarray(p.offsets[i]! + lo, p.offsets[i]! + hi) } };
}

/** Each series' chunks that reach into [mint, maxt], and where its samples start in the part's decoded arrays (`starts[n]`: how many in all). */
export function snapshotPartSpans(p: HeadSnapshot, mint: number, maxt: number): { of: { from: number; to: number; count: number }[]; starts: Uint32Array } {
  const n = p.ids.length;
  const of = Array.from({ length: n }, (_, i) => listSpan(p.lists, p.listOffsets[i]!, p.listOffsets[i + 1]!, mint, maxt));
  const starts = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) starts[i + 1] = starts[i]! + of[i]!.count + p.offsets[i + 1]! - p.offsets[i]!;
  return { of, starts };
}

/**
 * A part's head float samples, decoded on the worker into one pair of arrays (one allocation a
 * part, not one a series), skipping chunks wholly before `mint` or after `maxt`; returns series
 * i's samples in [mint, min(maxt, untilOf(i))].
 */
export function decodeSnapshotPart(p: HeadSnapshot, mint: number, maxt: number, spans = snapshotPartSpans(p, mint, maxt)): (i: number, until: number) => { timestamps: Float64Array; values: Float64Array } {
  const n = p.ids.length;
  const starts = spans.starts;
  const ts = new Float64Array(starts[n]!);
  const vs = new Float64Array(ts.length);
  for (let i = 0; i < n; i++) {
    const at = starts[i]! + decodeList(p.lists, spans.of[i]!.from, spans.of[i]!.to, ts, vs, starts[i]!);
    ts.set(p.timestamps.subarray(p.offsets[i]!, p.offsets[i + 1]!), at);
    vs.set(p.values.subarray(p.offsets[i]!, p.offsets[i + 1]!), at);
  }
  return (i, until) => {
    const lo = lowerBound(ts, mint, false, starts[i + 1]!, starts[i]!);
    const hi = Math.max(lo, lowerBound(ts, Math.min(maxt, until), true, starts[i + 1]!, starts[i]!));
    return { timestamps: ts.subarray(lo, hi), values: vs.subarray(lo, hi) };
  };
}

const EMPTY = new Uint8Array(0);
