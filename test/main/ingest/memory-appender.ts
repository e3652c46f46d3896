// A tiny in-memory Appender for ingestion tests (the real store is tested against in
// store.test.ts): in-order per series, duplicates refused when the value differs, nothing
// visible before commit.
import { labelsKey, type Labels } from '../../../shared/labels';
import { AppendError, type Appender, type SeriesRef } from '../../../main/tsdb/types';
import type { FloatHistogram } from '../../../main/tsdb/histogram';

export interface StoredSeries {
  labels: Labels;
  t: number[];
  /** Values as raw bits, to check NaN payloads. */
  bits: bigint[];
  /** Native-histogram samples (no order checks: the store's own tests cover those). */
  histograms: { t: number; h: FloatHistogram }[];
}

export class MemoryAppender implements Appender {
  readonly series: StoredSeries[] = [null as unknown as StoredSeries]; // ref 0 means "look up"
  private readonly byKey = new Map<string, SeriesRef>();
  private pending: { ref: SeriesRef; t: number; bits: bigint }[] = [];
  commits = 0;
  rollbacks = 0;
  lookups = 0;
  private readonly scratch = new DataView(new ArrayBuffer(8));

  append(ref: SeriesRef, labels: Labels, t: number, v: number): SeriesRef {
    if (ref === 0) {
      this.lookups++;
      const key = labelsKey(labels);
      ref = this.byKey.get(key) ?? 0;
      if (ref === 0) {
        ref = this.series.length;
        this.series.push({ labels, t: [], bits: [], histograms: [] });
        this.byKey.set(key, ref);
      }
    }
    const s = this.series[ref]!;
    // Bits straight away: V8 may canonicalize NaN payloads stored in plain double arrays.
    this.scratch.setFloat64(0, v, true);
    const bits = this.scratch.getBigUint64(0, true);
    const lastPending = this.pending.findLast((p) => p.ref === ref);
    const lastT = lastPending ? lastPending.t : s.t.at(-1);
    if (lastT !== undefined && t < lastT) throw new AppendError('out_of_order', `out of order sample at ${t}, last was ${lastT}`);
    if (lastT !== undefined && t === lastT) {
      const lastBits = lastPending ? lastPending.bits : s.bits.at(-1);
      if (lastBits !== bits) throw new AppendError('duplicate', `duplicate sample at ${t} with a different value`);
      return ref;
    }
    this.pending.push({ ref, t, bits });
    return ref;
  }

  private pendingH: { ref: SeriesRef; t: number; h: FloatHistogram }[] = [];

  appendHistogram(ref: SeriesRef, labels: Labels, t: number, h: FloatHistogram): SeriesRef {
    if (ref === 0) {
      const key = labelsKey(labels);
      ref = this.byKey.get(key) ?? 0;
      if (ref === 0) {
        ref = this.series.length;
        this.series.push({ labels, t: [], bits: [], histograms: [] });
        this.byKey.set(key, ref);
      }
    }
    this.pendingH.push({ ref, t, h });
    return ref;
  }

  commit(): void {
    for (const { ref, t, h } of this.pendingH) this.series[ref]!.histograms.push({ t, h });
    this.pendingH = [];
    for (const { ref, t, bits } of this.pending) {
      const s = this.series[ref]!;
      s.t.push(t);
      s.bits.push(bits);
    }
    this.pending = [];
    this.commits++;
  }

  rollback(): void {
    this.pending = [];
    this.pendingH = [];
    this.rollbacks++;
  }

  value(s: StoredSeries, i: number): number {
    this.scratch.setBigUint64(0, s.bits[i]!, true);
    return this.scratch.getFloat64(0, true);
  }

  find(name: string): StoredSeries | undefined {
    return this.series.find((s) => s?.labels.some((l) => l.name === '__name__' && l.value === name));
  }
}
