// What the forwarder sends: a batch of series, each with its samples in time order. Samples of a
// series sit in two growable arrays so a batch is filled and reused without allocating
// per sample. Values live in a Float64Array: a plain array may canonicalise NaN payloads, and the
// stale marker (0x7ff0000000000002) must leave bit-exact.
import type { Labels } from '../../shared/labels';
import type { FloatHistogram } from '../tsdb/histogram';

export interface BatchSeries {
  labels: Labels;
  /** Milliseconds since the epoch, parallel to `values`; `count` entries are in use. */
  timestamps: Float64Array;
  values: Float64Array;
  count: number;
  /** Native-histogram samples, parallel arrays in time order (sent after the floats, as Prometheus does). */
  histogramTimestamps: number[];
  histograms: FloatHistogram[];
}

export class Batch {
  readonly series: BatchSeries[] = [];
  /** Series in use; entries past it are kept for reuse. */
  length = 0;
  samples = 0;

  /** Starts a series; its samples follow with `sample`. */
  add(labels: Labels): BatchSeries {
    let s = this.series[this.length];
    if (s === undefined) {
      s = { labels, timestamps: new Float64Array(8), values: new Float64Array(8), count: 0, histogramTimestamps: [], histograms: [] };
      this.series.push(s);
    } else {
      s.labels = labels;
      s.count = 0;
      s.histogramTimestamps.length = 0;
      s.histograms.length = 0;
    }
    this.length++;
    return s;
  }

  sample(s: BatchSeries, t: number, v: number): void {
    if (s.count === s.values.length) {
      const n = 2 * s.count;
      const ts = new Float64Array(n);
      ts.set(s.timestamps);
      const vs = new Float64Array(n);
      vs.set(s.values);
      s.timestamps = ts;
      s.values = vs;
    }
    s.timestamps[s.count] = t;
    s.values[s.count] = v;
    s.count++;
    this.samples++;
  }

  histogram(s: BatchSeries, t: number, h: FloatHistogram): void {
    s.histogramTimestamps.push(t);
    s.histograms.push(h);
    this.samples++;
  }

  clear(): void {
    this.length = 0;
    this.samples = 0;
  }
}
