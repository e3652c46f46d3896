// Values flowing through the evaluator, and the query errors it raises.
import type { Labels } from '../../shared/labels';
import { METRIC_NAME, labelsKey } from '../../shared/labels';

/** One element of an instant vector. `t` is the sample's own timestamp for raw selector output. */
export interface Sample {
  metric: Labels;
  f: number;
  t: number;
  /** Delayed __name__ removal: the name is dropped when the query finishes. */
  dropName: boolean;
}

/** One series of a range vector (at one evaluation step). */
export interface Series {
  metric: Labels;
  ts: ArrayLike<number>;
  fs: ArrayLike<number>;
  dropName: boolean;
}

export interface MatrixValue {
  type: 'matrix';
  series: Series[];
  /** The selected window (rangeStart, rangeEnd] in ms, for extrapolating functions. */
  rangeStart: number;
  rangeEnd: number;
}

export type Value =
  | { type: 'scalar'; v: number }
  | { type: 'string'; v: string }
  | { type: 'vector'; v: Sample[] }
  | MatrixValue;

export type QueryErrorKind = 'execution' | 'timeout' | 'canceled' | 'bad_data';

export class QueryError extends Error {
  constructor(
    message: string,
    readonly kind: QueryErrorKind = 'execution',
  ) {
    super(message);
    this.name = 'QueryError';
  }
}

export const TOO_MANY_SAMPLES = 'query processing would load too many samples into memory in query execution';

export function dropMetricName(l: Labels): Labels {
  return l.some((x) => x.name === METRIC_NAME) ? l.filter((x) => x.name !== METRIC_NAME) : l;
}

/** Applies pending name drops and rejects duplicate label sets (Prometheus's final cleanup). */
export function finishVector(v: Sample[]): Sample[] {
  const seen = new Set<string>();
  for (const s of v) {
    if (s.dropName) {
      s.metric = dropMetricName(s.metric);
      s.dropName = false;
    }
    const k = labelsKey(s.metric);
    if (seen.has(k)) throw new QueryError('vector cannot contain metrics with the same labelset');
    seen.add(k);
  }
  return v;
}
