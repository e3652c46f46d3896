// One large range call (rate(x[5m]) over thousands of series) on two threads: the query's thread
// hands the last two thirds of the series, still coded (tsdb/packed-series.ts), to a helper thread
// and computes from the first series up meanwhile; the helper computes from the last one down, and
// they meet wherever their speeds make them meet (each takes a series by flagging it, atomically).
// Each series is decoded and computed by the same code either way (mergeSamples, rangeRows), and
// its rows go back in their place, so the answer is the one a single thread gives, bit for bit.
// The thread plumbing is the caller's (http/query-pool.ts); the task, its answer and the helper as
// the evaluator is given it are types of evaluator.ts.
import { labelsFromRecord } from '../../shared/labels';
import { packedCount, unpackSamples } from '../tsdb/packed-series';
import type { HelperRows, RowsTask } from './evaluator';
import { loadSeries } from './loaded-series';
import { newRangeRows, rangeRows, take } from './range-eval';

/** The query's deadline passed while a helper computed rows. */
export class RowsTimeout extends Error {}

const NO_LABELS = labelsFromRecord({});

/** The helper's side: takes series from the last down and computes their rows until it meets the other thread; throws RowsTimeout past the deadline. */
export function computeRows(task: RowsTask): HelperRows {
  const n = packedCount(task.series);
  const out = newRangeRows(n, task.spec.steps);
  const pool: { timestamps: Float64Array; values: Float64Array } = { timestamps: new Float64Array(0), values: new Float64Array(0) };
  let sinceClock = 0;
  const tick = () => {
    if (++sinceClock < 64) return;
    sinceClock = 0;
    if (Date.now() > task.deadline) throw new RowsTimeout('the query deadline passed');
  };
  // One series at a time, decoded into the same arrays while they are large enough (kernels read no labels).
  const series = (i: number) => {
    const d = unpackSamples(task.series, i, pool);
    if (d.timestamps.buffer !== pool.timestamps.buffer) (pool.timestamps = new Float64Array(d.timestamps.buffer)), (pool.values = new Float64Array(d.values.buffer));
    return loadSeries(NO_LABELS, d.timestamps, d.values, d.nanFree, d.rising);
  };
  const taken = new Uint8Array(task.taken);
  let from = n;
  while (from > 0 && take(taken, from - 1)) {
    from--;
    rangeRows(series, from, from + 1, task.spec, out, tick);
  }
  return { rows: out, from };
}
