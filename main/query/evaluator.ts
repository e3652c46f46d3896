// What the operators (aggregate.ts, binary.ts, functions.ts, range-eval.ts…) see of the evaluator
// that calls them (engine.ts's QueryEvaluator), and what the evaluator hands a helper thread
// (split-rows.ts): types only, so the operators and the evaluator need not import each other.
import type { PackedSeries } from '../tsdb/packed-series';
import type { Expr, TimeModifiers, VectorSelector } from './ast';
import type { LoadedSeries } from './loaded-series';
import type { Sample, Value } from './values';

/** The evaluator of one query, as its operators call it back (engine.ts's QueryEvaluator says what each member is). */
export interface Evaluator {
  readonly start: number;
  readonly end: number;
  readonly interval: number;
  readonly lookback: number;
  readonly maxSamples: number;
  readonly delayedNameRemoval: boolean;
  readonly helper: RowsHelper | null;
  readonly deadline: number;
  readonly isRange: boolean;
  warn(msg: string, e: Expr): void;
  info(msg: string, e: Expr): void;
  eval(e: Expr, t: number): Value;
  refTime(m: TimeModifiers, t: number): number;
  loadedSeries(vs: VectorSelector): LoadedSeries[];
  selectVector(vs: VectorSelector, t: number): Sample[];
  checkClock(): void;
  checkDeadline(where: string): void;
}

export interface RowsTask {
  readonly spec: RangeSpec;
  readonly series: PackedSeries;
  /** One byte per packed series: set (Atomics) by the thread that takes it. */
  readonly taken: SharedArrayBuffer;
  /** Epoch ms: the query's deadline. */
  readonly deadline: number;
}

/** The helper's answer: rows for packed series [from, count) (rows index packed series). */
export interface HelperRows {
  readonly rows: RangeRows;
  readonly from: number;
}

export interface RowsHelper {
  /** Fewest series a range call selects before it offers some to the helper. */
  readonly minSeries: number;
  /**
   * Starts a task on the helper (made only if the helper takes it); null when it cannot take one
   * now (still loading). wait() blocks until the helper's rows are back; 'timeout' when the
   * deadline passed first, null when the helper failed (the caller then computes the rest itself).
   */
  start(task: () => RowsTask): { wait(): HelperRows | 'timeout' | null } | null;
}

/** A range function over one selector's series, all the Evaluator it needs: plain data, so a helper thread can compute it too. */
export interface RangeSpec {
  readonly func: string;
  /** The first step's window end (offset applied). */
  readonly first: number;
  readonly interval: number;
  readonly range: number;
  readonly steps: number;
  readonly overlapping: boolean;
}

/** rangeRows' output (range-eval.ts): row i of values/present holds series i's steps. */
export interface RangeRows {
  readonly values: Float64Array;
  readonly present: Uint8Array;
  /** Samples in all series' windows at each step (the samples limit). */
  readonly windowTotals: Float64Array;
  /** 1 where series i answered some step (rate & co. then check its name looks like a counter). */
  readonly answered: Uint8Array;
}
