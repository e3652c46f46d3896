// The worker side of an off-thread read (see ./head-snapshot.ts): a read-only connection of its own
// to the workspace's file (WAL: it never blocks the writer), the rows decrypted and decoded here,
// merged with the head snapshot the ingest thread sent.
import type { Labels } from '../../shared/labels';
import { createCipher } from '../crypto/cipher';
import type { Cipher } from '../crypto/types';
import { decodeSnapshotPart, snapshotHeadCoded, snapshotPartSpans, type HeadSnapshot, type StoreFile } from './head-snapshot';
import { mergeHistograms } from './histogram-read';
import { unpackLabelSets } from './label-sets-wire';
import { lazySeries, mergeSamples, readRows, type RowSeries } from './querier';
import { SeriesOrder } from './series-order';
import { Storage, type DataKeys } from './storage';
import type { SelectHints, SeriesData } from './types';

/**
 * Label sets a reader keeps between queries; past this many it starts over. Above the series a
 * broad query selects: at 50,000, a query over 100,000 series parsed every key again each time
 * (and the query's caches keyed by label object missed), 1.6× its time.
 */
const LABEL_CACHE_ENTRIES = 250_000;

/**
 * Head samples a series has at most, on average over a snapshot part, for a lazy select to decode
 * the part at once, and samples a select decodes so at most (64 MiB): a chart over 100,000 head
 * series of 40 samples made ~10 objects and views a series to keep them coded, one at a time.
 */
const SHORT_SERIES = 128;
const EAGER_SAMPLES = 4 << 20;

/**
 * A snapshot part left out the labels of a series this reader does not hold (the part that carried
 * them was never read: its query ended first). The query is asked again with every label set.
 */
export class LabelsForgotten extends Error {}

export class SnapshotReader {
  private readonly storage: Storage;
  /**
   * Label sets by series id (an id names one label set for the whole opening: ids are never
   * reused), kept between queries: a dashboard selects the same series again and again, and each
   * query made every set anew (for one instant query over 3,000 series of 5 labels: 3,000 arrays
   * and 30,000 strings), garbage the worker then collected.
   */
  private readonly labels = new Map<number, Labels>();
  /** Which LabelsSent generation (./head-snapshot.ts) `labels` holds; -1: none. */
  private labelsGeneration = -1;
  /** The label order of the ids in `labels`, for sorting selects (dropped with them). */
  private readonly order = new SeriesOrder((id) => this.labels.get(id)!);
  /** Samples a lazy select decodes whole parts of, at most (EAGER_SAMPLES; tests set less). */
  private readonly eagerSamples: number;

  /**
   * `dataKey(id)` fetches a copy of data key `id` from the ingest thread (asked only when a row
   * sealed with it is read); that copy is wiped once the cipher holds its own.
   */
  constructor(
    readonly file: StoreFile,
    dataKey: (id: number) => Uint8Array,
    { nativeBinding, eagerSamples = EAGER_SAMPLES }: { nativeBinding?: string; eagerSamples?: number } = {},
  ) {
    this.eagerSamples = eagerSamples;
    const ciphers = new Map<number, Cipher>();
    const keys: DataKeys = {
      current: 0, // never seals
      get(id) {
        let c = ciphers.get(id);
        if (!c) {
          const raw = dataKey(id);
          try {
            c = createCipher(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)); // the cipher keeps its own copy
          } finally {
            raw.fill(0);
          }
          ciphers.set(id, c);
        }
        return c;
      },
    };
    // The layout given here is not used: a read-only open takes the file's own.
    this.storage = new Storage(file.path, file.workspaceId, file.encrypted ? keys : null, { bucketMs: 1, seriesPerPart: 1 }, { readonly: true, ...(nativeBinding ? { nativeBinding } : {}) });
  }

  /**
   * The snapshot's series with their samples in [mint, maxt]: each part's rows read after that part
   * arrived (head first, then rows, per series: ./head-snapshot.ts), merged with its head samples.
   * `parts` may still be taking the next part on the ingest thread while this one is read.
   */
  select(parts: Iterable<HeadSnapshot>, mint: number, maxt: number, hints?: SelectHints): SeriesData[] {
    const check = hints?.check;
    const storage = this.storage;
    const out: SeriesData[] = [];
    const outIds: number[] = [];
    let decodedWhole = 0; // samples of parts decoded whole so far
    for (const p of parts) {
      const n = p.ids.length;
      if (n === 0) continue;
      if (p.labelsGeneration !== this.labelsGeneration) {
        this.forgetLabels();
        this.labelsGeneration = p.labelsGeneration;
      }
      const series: RowSeries[] = [];
      for (let i = 0; i < n; i++) series.push({ id: p.ids[i]!, minT: p.minT[i]!, lastT: p.lastT[i]! });
      const rows = storage.read(() => {
        storage.refreshManifest();
        return readRows(storage, series, mint, maxt, check);
      });
      // Head samples are decoded here only for series read at once; lazy ones decode their own.
      let headSamples: ReturnType<typeof decodeSnapshotPart> | null = null;
      const labels = this.labelsOf(p);
      // A lazy select reads a part of short series at once all the same (up to EAGER_SAMPLES in all):
      // series by series, the objects that keep them coded cost more than their samples.
      let wholePart = false;
      if (hints?.lazy && decodedWhole < this.eagerSamples) {
        const spans = snapshotPartSpans(p, mint, maxt);
        const samples = spans.starts[n]!;
        if (samples <= SHORT_SERIES * n) {
          headSamples = decodeSnapshotPart(p, mint, maxt, spans);
          decodedWhole += samples;
          wholePart = true;
        }
      }
      for (let i = 0; i < n; i++) {
        check?.();
        const id = p.ids[i]!;
        const until = Math.min(maxt, p.lastT[i]!);
        const inRows = rows.get(id);
        const h0 = p.histogramOffsets[i]!;
        const h1 = p.histogramOffsets[i + 1]!;
        if (hints?.lazy && h1 === h0 && !(wholePart && !inRows) && !inRows?.some((r) => r.histogramCount(id) > 0)) {
          const { chunks, tail } = snapshotHeadCoded(p, i, mint, until);
          const lazy = lazySeries(labels[i]!, inRows ?? [], storage.layout.bucketMs, id, tail, mint, until, p.lastT[i]!, chunks);
          if (lazy) (out.push(lazy), outIds.push(id));
          continue;
        }
        const head = (headSamples ??= decodeSnapshotPart(p, mint, maxt))(i, until);
        // Only in the head: the snapshot's own arrays (this thread's copy) serve as they are.
        const data = inRows ? mergeSamples(inRows, id, head, mint, until) : head;
        const headHistograms = h1 > h0 ? { timestamps: p.histogramTimestamps.subarray(h0, h1), values: p.histograms.slice(h0, h1) } : undefined;
        const histograms = mergeHistograms(inRows ?? [], id, headHistograms, mint, until);
        if (histograms) out.push({ labels: labels[i]!, timestamps: data.timestamps, values: data.values, histograms });
        else if (data.timestamps.length > 0) out.push({ labels: labels[i]!, timestamps: data.timestamps, values: data.values });
        else continue;
        outIds.push(id);
      }
    }
    return this.order.sort(out, outIds);
  }

  /**
   * The LabelsSent generation of the label sets held, for the next snapshot asked for (-1: none).
   * Past LABEL_CACHE_ENTRIES they are dropped here, between queries, never while a query's parts
   * may leave out label sets held.
   */
  labelsHeld(): number {
    if (this.labels.size >= LABEL_CACHE_ENTRIES) this.forgetLabels();
    return this.labelsGeneration;
  }

  forgetLabels(): void {
    this.labels.clear();
    this.order.clear();
    this.labelsGeneration = -1;
  }

  /** The part's label sets: those it carries, kept by id, and those it leaves out, as held. */
  private labelsOf(p: HeadSnapshot): Labels[] {
    // A part's strings and pairs come shared among its sets (./label-sets-wire.ts); sharing them
    // across parts too (a Map of every string) cost the first chart over 100,000 series 80 ms and
    // saved a few thousand short strings.
    const given = unpackLabelSets(p.labels);
    return given.map((set, i) => {
      const id = p.ids[i]!;
      // A set held is the one handed out before (the query's caches are keyed by the object).
      const held = this.labels.get(id);
      if (held) return held;
      if (!set) throw new LabelsForgotten(`the labels of series ${id} were left out of a snapshot part, and are not held`);
      this.labels.set(id, set);
      return set;
    });
  }

  close(): void {
    this.storage.close();
  }
}
