// What a validating scan of a remote-write body notes (rw1.ts, rw2.ts), so that emitting it to the
// sink, and reading its exemplars and metadata, do not walk every series' fields again: where each
// series lies, its float samples, and which series carry exemplars or metadata.
import type { RequestCounts } from './sink';

/**
 * Where each series of a scanned body lies, ROW numbers per series: its start and end; its labels
 * (1.0: the start and end of its label fields, how many and whether nothing else sits between them;
 * 2.0: where its label references start in `refs`, and how many); where its first sample or
 * histogram field starts (-1: none), how many of each it has and where its float samples start in
 * `times`/`values`/`starts` (every float sample of the body, in order); 2.0: where its (last)
 * Metadata message starts and ends (-1: none); how many exemplar fields it has.
 */
export class SeriesLayout {
  static readonly ROW = 13;
  rows = new Int32Array(64 * SeriesLayout.ROW);
  count = 0;
  times = new Float64Array(256);
  values = new Float64Array(256);
  /** 2.0's start timestamps (0: none). */
  starts = new Float64Array(256);
  samples = 0;
  /** 2.0: every series' label references into the symbol table, back to back. */
  refs = new Uint32Array(256);
  refCount = 0;

  /** Empties the layout for the next body. */
  reset(): void {
    this.count = this.samples = this.refCount = 0;
  }

  /** Keeps the next float sample. */
  sample(t: number, v: number, st = 0): void {
    const at = this.samples++;
    if (at === this.times.length) {
      this.times = grown(this.times);
      this.values = grown(this.values);
      this.starts = grown(this.starts);
    }
    this.times[at] = t;
    this.values[at] = v;
    this.starts[at] = st;
  }

  /** Keeps the next label reference. */
  ref(ref: number): void {
    if (this.refCount === this.refs.length) this.refs = grown(this.refs);
    this.refs[this.refCount++] = ref;
  }

  /**
   * A row for the next series with what both versions note (its fields from `start` to `end`, its
   * first data field, its samples from `sampleAt`, its histograms and exemplars), added to `counts`
   * too; returns the row's offset in `rows` for the version's own numbers.
   */
  add(counts: RequestCounts, start: number, end: number, first: number, samples: number, sampleAt: number, histograms: number, exemplars: number): number {
    counts.samples += samples;
    counts.histograms += histograms;
    counts.exemplars += exemplars;
    const at = this.count++ * SeriesLayout.ROW;
    if (at + SeriesLayout.ROW > this.rows.length) this.rows = grown(this.rows);
    const row = this.rows;
    row[at + L_START] = start;
    row[at + L_END] = end;
    row[at + L_FIRST] = first;
    row[at + L_SAMPLES] = samples;
    row[at + L_SAMPLE_AT] = sampleAt;
    row[at + L_HISTOGRAMS] = histograms;
    row[at + L_EXEMPLARS] = exemplars;
    return at;
  }
}

/** A copy of `a` twice as long. */
function grown<A extends Int32Array<ArrayBuffer> | Uint32Array<ArrayBuffer> | Float64Array<ArrayBuffer>>(a: A): A {
  const b = new (a.constructor as new (n: number) => A)(a.length * 2);
  b.set(a);
  return b;
}

export const L_START = 0;
export const L_END = 1;
/** 2.0: the first reference's index in `refs`. */
export const L_LABELS_START = 2;
export const L_LABELS_END = 3;
/** 2.0: the number of references (two a label). */
export const L_LABEL_COUNT = 4;
export const L_CONTIGUOUS = 5;
export const L_FIRST = 6;
export const L_SAMPLES = 7;
export const L_HISTOGRAMS = 8;
export const L_SAMPLE_AT = 9;
export const L_META_START = 10;
export const L_META_END = 11;
export const L_EXEMPLARS = 12;
