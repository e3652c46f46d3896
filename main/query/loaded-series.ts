// A selector's series as the evaluator reads them: staleness markers located, float and histogram
// points on one timeline, lazily decoded series taking turns in shared arrays.
import type { Labels } from '../../shared/labels';
import type { FloatHistogram } from '../tsdb/histogram';
import type { CodedSamples, SeriesData } from '../tsdb/types';

/** One loaded series with its stale markers located, ready for binary search. */
export interface LoadedSeries {
  readonly metric: Labels;
  ts: Float64Array;
  fs: Float64Array;
  /** Per sample: 1 when it is a staleness marker; null when the series has none. */
  stale: Uint8Array | null;
  /** The samples without staleness markers (what range selections see). */
  rts: Float64Array;
  rfs: Float64Array;
  /** Native histograms parallel to ts (undefined at float points); null when the series has none. */
  hs: (FloatHistogram | undefined)[] | null;
  /** hs without staleness markers, parallel to rts. */
  rhs: (FloatHistogram | undefined)[] | null;
  /** True when rfs is known never to decrease (from how the store coded it): counter functions skip looking for resets. */
  readonly rising?: boolean;
  /** The last window [cursorLo, cursorHi) selected, ending at cursorRef (range selections use rts). */
  cursorRef: number;
  cursorLo: number;
  cursorHi: number;
  /** Lets the samples go until they are read again (decoded anew); the range fast path calls it after each series. */
  release?(): void;
  /** The samples still coded (a lazy select's), for a helper thread to decode (split-rows.ts). */
  coded?(): CodedSamples;
}

/**
 * Arrays one selector's lazy series take turns to decode into: held by at most one series at a
 * time (from its first read to its release()), so reused memory is never shared by two live series.
 */
export interface SamplePool {
  timestamps: Float64Array;
  values: Float64Array;
  holder: LazySeries | null;
}

/** A float-only series from a lazy select: decoded on first read, kept until release(). */
export class LazySeries implements LoadedSeries {
  readonly hs = null;
  readonly rhs = null;
  cursorRef = -Infinity;
  cursorLo = 0;
  cursorHi = 0;
  private loaded: LoadedSeries | null = null;

  constructor(
    /** A lazy select's series (samples and coded present). */
    private readonly source: SeriesData,
    private readonly pool: SamplePool,
  ) {}

  get metric(): Labels {
    return this.source.labels;
  }

  coded(): CodedSamples {
    return this.source.coded!();
  }

  private get data(): LoadedSeries {
    if (this.loaded) return this.loaded;
    const pool = this.pool;
    let d;
    if (pool.holder === null) {
      d = this.source.samples!(pool);
      // Decoded into new arrays (the pool was too small): they become the pool.
      if (d.timestamps.buffer !== pool.timestamps.buffer) (pool.timestamps = new Float64Array(d.timestamps.buffer)), (pool.values = new Float64Array(d.values.buffer));
      pool.holder = this;
    } else d = this.source.samples!();
    return (this.loaded = loadSeries(this.metric, d.timestamps, d.values, d.nanFree, d.rising));
  }

  get ts(): Float64Array {
    return this.data.ts;
  }

  get fs(): Float64Array {
    return this.data.fs;
  }

  get stale(): Uint8Array | null {
    return this.data.stale;
  }

  get rts(): Float64Array {
    return this.data.rts;
  }

  get rfs(): Float64Array {
    return this.data.rfs;
  }

  get rising(): boolean {
    return this.data.rising === true;
  }

  release(): void {
    this.loaded = null;
    if (this.pool.holder === this) this.pool.holder = null;
  }
}

const STALE_HI = 0x7ff00000, STALE_LO = 2;

/** Whether a histogram sample is a staleness marker (its sum carries the stale NaN). */
function isStaleHistogram(h: FloatHistogram): boolean {
  if (!Number.isNaN(h.sum)) return false;
  const w = new Uint32Array(new Float64Array([h.sum]).buffer);
  return w[1] === STALE_HI && w[0] === STALE_LO;
}

/** A store series with native histograms: floats and histograms on one timeline (a histogram wins a tie). */
export function loadMixedSeries(d: SeriesData): LoadedSeries {
  const hd = d.histograms!;
  const n = d.timestamps.length + hd.timestamps.length;
  const ts = new Float64Array(n), fs = new Float64Array(n);
  const hs: (FloatHistogram | undefined)[] = new Array(n);
  let i = 0, j = 0, k = 0;
  while (i < d.timestamps.length || j < hd.timestamps.length) {
    const ft = i < d.timestamps.length ? d.timestamps[i]! : Infinity, ht = j < hd.timestamps.length ? hd.timestamps[j]! : Infinity;
    if (ht <= ft) {
      ts[k] = ht;
      hs[k++] = hd.values[j++]!;
      if (ht === ft) i++;
    } else {
      ts[k] = ft;
      fs[k++] = d.values[i++]!;
    }
  }
  const base = loadSeries(d.labels, ts.subarray(0, k), fs.subarray(0, k));
  hs.length = k;
  for (let x = 0; x < k; x++) {
    const h = hs[x];
    if (h && isStaleHistogram(h)) {
      hs[x] = undefined;
      base.stale ??= new Uint8Array(k);
      base.stale[x] = 1;
    }
  }
  base.hs = hs;
  if (!base.stale) {
    base.rts = base.ts;
    base.rfs = base.fs;
    base.rhs = hs;
    return base;
  }
  const keep: number[] = [];
  for (let x = 0; x < k; x++) if (!base.stale[x]) keep.push(x);
  base.rts = Float64Array.from(keep, (x) => base.ts[x]!);
  base.rfs = Float64Array.from(keep, (x) => base.fs[x]!);
  base.rhs = keep.map((x) => hs[x]);
  return base;
}

/**
 * A series' samples as the evaluator reads them (staleness markers found and set apart, unless
 * `nanFree` says there are none); `rising`: the store knows the values never decrease (and hold no NaN).
 */
export function loadSeries(metric: Labels, ts: Float64Array, fs: Float64Array, nanFree = false, rising = false): LoadedSeries {
  let words: Uint32Array | null = null;
  let stale: Uint8Array | null = null;
  let count = 0;
  for (let i = 0, n = nanFree ? 0 : fs.length; i < n; i++) {
    // NaN is rare: one float comparison per sample, the bit pattern only for a NaN.
    const f = fs[i]!;
    if (f === f) continue;
    words ??= new Uint32Array(fs.buffer, fs.byteOffset, fs.length * 2);
    if (words[2 * i + 1] === STALE_HI && words[2 * i] === STALE_LO) {
      stale ??= new Uint8Array(fs.length);
      stale[i] = 1;
      count++;
    }
  }
  if (!stale) return { metric, ts, fs, stale, rts: ts, rfs: fs, hs: null, rhs: null, cursorRef: -Infinity, cursorLo: 0, cursorHi: 0, rising };
  const rts = new Float64Array(fs.length - count), rfs = new Float64Array(fs.length - count);
  for (let i = 0, j = 0; i < fs.length; i++) {
    if (!stale[i]) {
      rts[j] = ts[i]!;
      rfs[j++] = fs[i]!;
    }
  }
  return { metric, ts, fs, stale, rts, rfs, hs: null, rhs: null, cursorRef: -Infinity, cursorLo: 0, cursorHi: 0, rising: false };
}
