// Appending: samples are checked against the series' last sample as they arrive, kept pending,
// and on commit() written as one sealed log record (durable: SQLite WAL + synchronous=FULL)
// before they enter the head.
import type { Labels } from '../../shared/labels';
import { ByteWriter } from './bytes';
import { deferPacks, type MemSeries } from './head';
import { items } from './storage';
import type { TsdbState } from './state';
import { AppendError, type Appender, type SeriesRef } from './types';
import { encodeBatch, type HistogramBatch, type SampleBatch } from './wal-record';
import { bucketOf } from './state';
import type { FloatHistogram } from './histogram';
import { HISTOGRAM_LAST_V, pushHistogram } from './head-histograms';
import { sameHistogram } from './histogram-record';

const bits = new Float64Array(2);
const bitWords = new BigUint64Array(bits.buffer);

/** Same value as Prometheus compares them: by bit pattern. */
function sameValue(a: number, b: number): boolean {
  bits[0] = a;
  bits[1] = b;
  return bitWords[0] === bitWords[1];
}

export function validateLabels(labels: Labels): void {
  if (labels.length === 0) throw new AppendError('invalid_labels', 'a series needs at least one label');
  let prev = '';
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l.name === '') throw new AppendError('invalid_labels', 'label names must not be empty');
    if (l.value === '') throw new AppendError('invalid_labels', `label ${l.name} has an empty value (omit the label instead)`);
    // Text decoded from UTF-8 never holds a lone surrogate; one here would not be valid UTF-8 on the wire (and could forge a series key).
    if (!l.name.isWellFormed() || !l.value.isWellFormed()) throw new AppendError('invalid_labels', `label ${JSON.stringify(l.name)} is not valid UTF-8 text`);
    if (i > 0 && l.name <= prev) throw new AppendError('invalid_labels', `labels must be sorted by name with unique names (${prev}, ${l.name})`);
    prev = l.name;
  }
}

export class HeadAppender implements Appender {
  private ids: Int32Array = new Int32Array(1024);
  private ts: Float64Array = new Float64Array(1024);
  private vs: Float64Array = new Float64Array(1024);
  private count = 0;
  private maxT = -Infinity;
  private created: MemSeries[] = [];
  /** Series whose labels are not yet in the log or a page: their definitions go with the batch. */
  private unlogged = new Set<MemSeries>();
  private batch: number;
  private readonly record = new ByteWriter(64 * 1024);
  private hIds: number[] = [];
  private hTs: number[] = [];
  private hVals: FloatHistogram[] = [];
  private hAt: number[] = [];
  /** The pending histogram of a series at its pending timestamp (duplicate checks within the batch). */
  private pendingH = new Map<number, { t: number; h: FloatHistogram }>();

  constructor(private readonly st: TsdbState) {
    this.batch = ++st.batchCounter;
  }

  append(ref: SeriesRef, labels: Labels, t: number, v: number): SeriesRef {
    if (!Number.isSafeInteger(t)) throw new RangeError(`sample timestamp must be an integer number of milliseconds, got ${t}`);
    let s = ref > 0 ? this.st.head.get(ref) : undefined;
    if (s === undefined) s = this.lookup(labels);
    const pending = s.pendingBatch === this.batch;
    const lastT = pending ? this.pendingT(s) : s.lastT;
    if (t <= lastT) {
      const lastV = pending ? this.pendingV(s) : s.lastV;
      if (t === lastT) {
        if (sameValue(v, lastV)) return s.id;
        throw new AppendError('duplicate', `a different value for an existing timestamp ${t}`);
      }
      if (t < lastT - this.st.outOfOrderWindowMs) {
        throw new AppendError('out_of_order', `sample at ${t} is older than the series' last sample at ${lastT}`);
      }
    } else {
      s.pendingBatch = this.batch;
      s.pendingAt = this.count;
    }
    if (this.count === this.ids.length) this.grow();
    const i = this.count++;
    this.ids[i] = s.id;
    this.ts[i] = t;
    this.vs[i] = v;
    if (t > this.maxT) this.maxT = t;
    if (!s.logged) this.unlogged.add(s);
    return s.id;
  }

  appendHistogram(ref: SeriesRef, labels: Labels, t: number, h: FloatHistogram): SeriesRef {
    if (!Number.isSafeInteger(t)) throw new RangeError(`sample timestamp must be an integer number of milliseconds, got ${t}`);
    let s = ref > 0 ? this.st.head.get(ref) : undefined;
    if (s === undefined) s = this.lookup(labels);
    const pending = s.pendingBatch === this.batch;
    const lastT = pending ? this.pendingT(s) : s.lastT;
    if (t <= lastT) {
      if (t === lastT) {
        const lastV = pending ? this.pendingV(s) : s.lastV;
        const p = this.pendingH.get(s.id);
        const lastH = pending ? (p?.t === t ? p.h : undefined) : s.hist?.at(t);
        if (lastH ? sameHistogram(h, lastH) : Number.isNaN(lastV) && !pending) return s.id;
        throw new AppendError('duplicate', lastH ? `a different histogram for an existing timestamp ${t}` : `a histogram for timestamp ${t}, which has a float sample`);
      }
      if (t < lastT - this.st.outOfOrderWindowMs) {
        throw new AppendError('out_of_order', `sample at ${t} is older than the series' last sample at ${lastT}`);
      }
    } else {
      s.pendingBatch = this.batch;
      s.pendingAt = -1 - this.hIds.length;
      this.pendingH.set(s.id, { t, h });
    }
    this.hIds.push(s.id);
    this.hTs.push(t);
    this.hVals.push(h);
    this.hAt.push(this.count);
    if (t > this.maxT) this.maxT = t;
    if (!s.logged) this.unlogged.add(s);
    return s.id;
  }

  /** The series' newest sample of this batch (pendingAt: a float's index, or -1 - a histogram's). */
  private pendingT(s: MemSeries): number {
    return s.pendingAt >= 0 ? this.ts[s.pendingAt]! : this.hTs[-1 - s.pendingAt]!;
  }

  private pendingV(s: MemSeries): number {
    return s.pendingAt >= 0 ? this.vs[s.pendingAt]! : HISTOGRAM_LAST_V;
  }

  labelsOf(ref: SeriesRef): Labels | undefined {
    return this.st.head.get(ref)?.labels;
  }

  private lookup(labels: Labels): MemSeries {
    const head = this.st.head;
    const found = head.getByLabels(labels);
    if (found) return found;
    validateLabels(labels);
    if (this.st.maxSeries > 0 && head.size >= this.st.maxSeries) {
      throw new AppendError('series_limit', `the workspace already has ${head.size} series (limit ${this.st.maxSeries})`);
    }
    const s = head.add(head.nextId, labels);
    this.created.push(s);
    return s;
  }

  private grow(): void {
    const n = this.ids.length * 2;
    const resize = (a: Float64Array): Float64Array => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    const ids = new Int32Array(n);
    ids.set(this.ids);
    this.ids = ids;
    this.ts = resize(this.ts);
    this.vs = resize(this.vs);
  }

  commit(): void {
    this.write(true);
  }

  /**
   * Commits like commit(), but resolves only once the log record is fsynced, and the fsync runs
   * off the event loop (Storage.syncLog); the samples are in the head (queryable) at once. Until
   * it resolves nobody may be told they are durable.
   */
  commitAsync(): Promise<void> {
    return this.write(false) ?? Promise.resolve();
  }

  /**
   * Writes the pending samples as one log record (and into the head); null when there were none.
   * Unsynced (`sync` false), the log's fsync starts before the head takes the samples, so the
   * two overlap: the fsync's promise is returned.
   */
  private write(sync: boolean): Promise<void> | null {
    let durable: Promise<void> | null = null;
    const { head, storage } = this.st;
    const hCount = this.hIds.length;
    const wrote = this.count > 0 || hCount > 0;
    if (wrote) {
      // Another appender may have logged a shared new series meanwhile, or it may be gone.
      const defs = [...this.unlogged].filter((s) => !s.logged && head.get(s.id) === s);
      const histograms = { ids: this.hIds, timestamps: this.hTs, values: this.hVals, at: this.hAt, count: hCount };
      const plain = encodeBatch(this.record, defs, { ids: this.ids, timestamps: this.ts, values: this.vs, count: this.count }, histograms);
      const seq = this.st.nextLogSeq++;
      const row = storage.seal(items.log(seq), plain);
      const put = () => storage.putLog(seq, bucketOf(this.maxT, storage.layout.bucketMs), row);
      if (sync) storage.transaction(put);
      else {
        storage.transactionUnsynced(put);
        durable = storage.syncLog();
        durable.catch(() => {}); // the caller's to handle; not unhandled should the head throw first
      }
      for (const s of defs) s.logged = true;
      this.st.logSamplesSinceCheckpoint += this.count + hCount;
      const apply = () => applyBatch(this.st, { ids: this.ids, timestamps: this.ts, values: this.vs, count: this.count }, histograms);
      // A live commit's packs wait for idle moments (head.ts deferPacks).
      if (durable) deferPacks(apply);
      else apply();
    }
    this.reset();
    return durable;
  }

  rollback(): void {
    for (const s of this.created) if (!s.logged && s.count === 0 && !s.hist?.count && s.lastT === -Infinity) this.st.head.remove(s);
    this.reset();
  }

  private reset(): void {
    this.count = 0;
    this.maxT = -Infinity;
    this.created = [];
    this.unlogged.clear();
    this.hIds = [];
    this.hTs = [];
    this.hVals = [];
    this.hAt = [];
    this.pendingH.clear();
    this.batch = ++this.st.batchCounter;
    if (this.ids.length > 64 * 1024) {
      this.ids = new Int32Array(1024);
      this.ts = new Float64Array(1024);
      this.vs = new Float64Array(1024);
    }
  }
}

/** Adds committed (or replayed) samples to the head, applying the same order rules as append. */
export function applySamples(st: TsdbState, ids: ArrayLike<number>, ts: ArrayLike<number>, vs: ArrayLike<number>, count: number, from = 0): void {
  const head = st.head;
  const window = st.outOfOrderWindowMs;
  for (let i = from; i < count; i++) {
    const s = head.get(ids[i]!);
    if (!s) continue;
    const t = ts[i]!;
    if (t <= s.lastT && (t === s.lastT || t < s.lastT - window)) continue;
    s.push(t, vs[i]!);
  }
}

/** Adds committed (or replayed) histogram samples to the head, with the same order rules. */
export function applyHistograms(st: TsdbState, ids: ArrayLike<number>, ts: ArrayLike<number>, hs: readonly FloatHistogram[], count: number, from = 0): void {
  const window = st.outOfOrderWindowMs;
  for (let i = from; i < count; i++) {
    const s = st.head.get(ids[i]!);
    if (!s) continue;
    const t = ts[i]!;
    if (t <= s.lastT && (t === s.lastT || t < s.lastT - window)) continue;
    pushHistogram(s, t, hs[i]!);
  }
}

/** Adds a batch's floats and histograms to the head in the order they were appended. */
export function applyBatch(st: TsdbState, floats: SampleBatch, h: HistogramBatch): void {
  let f = 0;
  for (let k = 0; k < h.count; k++) {
    const upTo = h.at[k]!;
    if (upTo > f) applySamples(st, floats.ids, floats.timestamps, floats.values, upTo, f);
    f = Math.max(f, upTo);
    applyHistograms(st, h.ids, h.timestamps, h.values, k + 1, k);
  }
  applySamples(st, floats.ids, floats.timestamps, floats.values, floats.count, f);
}
