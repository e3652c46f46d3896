// Our typed PromQL syntax tree, produced from the lezer tree by parser.ts.
import type { Matcher } from '../tsdb/types';

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

/** Offsets into the query text (0-based, end exclusive), for annotation positions. */
export interface PosRange {
  readonly start: number;
  readonly end: number;
}

export type AtPreprocessor = 'start' | 'end';

/** `@` and `offset` as Prometheus keeps them on selectors and subqueries. */
export interface TimeModifiers {
  /** Fixed evaluation time in ms from `@ <t>`, or null. */
  at: number | null;
  atPreprocessor: AtPreprocessor | null;
  /** ms; positive looks back in time. */
  offset: number;
  /** An offset using step()/range(): `offset` is set from it per query (resolveDurations). */
  offsetExpr?: DurationExpr;
}

/**
 * A duration expression using step() or range() (Prometheus 3 promql-duration-expr), kept as
 * written and computed per query: seconds from the query's step and range in seconds.
 */
export interface DurationExpr {
  text: string;
  pos: PosRange;
  seconds: (step: number, range: number) => number;
}

export interface NumberLiteral {
  kind: 'number';
  value: number;
  pos: PosRange;
}

export interface StringLiteral {
  kind: 'string';
  value: string;
  pos: PosRange;
}

export interface VectorSelector extends TimeModifiers {
  kind: 'vector';
  name: string;
  matchers: Matcher[];
  pos: PosRange;
  /** Prometheus 3's extended range selectors (`anchored`, `smoothed`; see extended-range.ts). */
  anchored?: boolean;
  smoothed?: boolean;
}

export interface MatrixSelector {
  kind: 'matrix';
  vector: VectorSelector;
  /** ms */
  range: number;
  rangeExpr?: DurationExpr;
  pos: PosRange;
}

export interface SubqueryExpr extends TimeModifiers {
  kind: 'subquery';
  expr: Expr;
  /** ms */
  range: number;
  rangeExpr?: DurationExpr;
  /** ms; 0 = the engine's default resolution. */
  step: number;
  stepExpr?: DurationExpr;
  pos: PosRange;
}

export interface Call {
  kind: 'call';
  func: string;
  args: Expr[];
  pos: PosRange;
}

export type AggregateOp =
  | 'sum' | 'avg' | 'min' | 'max' | 'count' | 'group' | 'stddev' | 'stdvar'
  | 'topk' | 'bottomk' | 'quantile' | 'count_values' | 'limitk' | 'limit_ratio';

export interface AggregateExpr {
  kind: 'aggregate';
  op: AggregateOp;
  expr: Expr;
  param: Expr | null;
  grouping: string[];
  without: boolean;
  pos: PosRange;
}

export type BinaryOp =
  | '+' | '-' | '*' | '/' | '%' | '^' | 'atan2'
  | '==' | '!=' | '>' | '<' | '>=' | '<='
  | 'and' | 'or' | 'unless'
  /** Native-histogram trims: keep the observations below / above the scalar. */
  | '</' | '>/';

export type Cardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';

export interface VectorMatching {
  card: Cardinality;
  /** true for on(...), false for ignoring(...) (the default, with no labels). */
  on: boolean;
  labels: string[];
  /** Labels named in group_left(...)/group_right(...). */
  include: string[];
  /** Whether the query spelled out on/ignoring (for the printer). */
  explicit: boolean;
  /** fill_left(v)/fill_right(v) (experimental): value used for a missing left/right sample. */
  fillLeft: number | null;
  fillRight: number | null;
}

export interface BinaryExpr {
  kind: 'binary';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  returnBool: boolean;
  /** Only when both sides are instant vectors. */
  matching: VectorMatching | null;
  pos: PosRange;
}

export interface UnaryExpr {
  kind: 'unary';
  op: '-' | '+';
  expr: Expr;
  pos: PosRange;
}

export interface ParenExpr {
  kind: 'paren';
  expr: Expr;
  pos: PosRange;
}

export type Expr =
  | NumberLiteral | StringLiteral | VectorSelector | MatrixSelector | SubqueryExpr
  | Call | AggregateExpr | BinaryExpr | UnaryExpr | ParenExpr;

export const COMPARISON_OPS: ReadonlySet<BinaryOp> = new Set(['==', '!=', '>', '<', '>=', '<=']);
export const SET_OPS: ReadonlySet<BinaryOp> = new Set(['and', 'or', 'unless']);

export function exprType(e: Expr): ValueType {
  switch (e.kind) {
    case 'number': return 'scalar';
    case 'string': return 'string';
    case 'vector': return 'vector';
    case 'matrix': return 'matrix';
    case 'subquery': return 'matrix';
    case 'call': return FUNCTIONS[e.func]!.returnType;
    case 'aggregate': return 'vector';
    case 'binary':
      return exprType(e.lhs) === 'scalar' && exprType(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'unary': return exprType(e.expr);
    case 'paren': return exprType(e.expr);
  }
}

export interface FunctionDef {
  argTypes: ValueType[];
  /** 0: fixed arity; n>0: up to n optional trailing args of the last type; -1: any number. */
  variadic: number;
  returnType: ValueType;
}

const V: ValueType = 'vector', M: ValueType = 'matrix', S: ValueType = 'scalar', STR: ValueType = 'string';
const f = (argTypes: ValueType[], returnType: ValueType = V, variadic = 0): FunctionDef => ({ argTypes, variadic, returnType });

export const FUNCTIONS: Record<string, FunctionDef> = {
  abs: f([V]), absent: f([V]), absent_over_time: f([M]), acos: f([V]), acosh: f([V]), asin: f([V]),
  asinh: f([V]), atan: f([V]), atanh: f([V]), avg_over_time: f([M]), ceil: f([V]), changes: f([M]),
  clamp: f([V, S, S]), clamp_max: f([V, S]), clamp_min: f([V, S]), cos: f([V]), cosh: f([V]),
  count_over_time: f([M]), days_in_month: f([V], V, 1), day_of_month: f([V], V, 1),
  day_of_week: f([V], V, 1), day_of_year: f([V], V, 1), deg: f([V]), end: f([], S), delta: f([M]),
  deriv: f([M]), exp: f([V]), first_over_time: f([M]), floor: f([V]), histogram_avg: f([V]),
  histogram_count: f([V]), histogram_sum: f([V]), histogram_stddev: f([V]), histogram_stdvar: f([V]),
  histogram_fraction: f([S, S, V]), histogram_quantile: f([S, V]),
  histogram_quantiles: f([V, STR, S, S], V, 9), double_exponential_smoothing: f([M, S, S]),
  hour: f([V], V, 1), idelta: f([M]), increase: f([M]), info: f([V, V], V, 1), irate: f([M]),
  label_replace: f([V, STR, STR, STR, STR]), label_join: f([V, STR, STR, STR], V, -1),
  max_of: f([S, S], S), last_over_time: f([M]), min_of: f([S, S], S), ln: f([V]), log10: f([V]),
  log2: f([V]), mad_over_time: f([M]), max_over_time: f([M]), min_over_time: f([M]),
  ts_of_first_over_time: f([M]), ts_of_max_over_time: f([M]), ts_of_min_over_time: f([M]),
  ts_of_last_over_time: f([M]), minute: f([V], V, 1), month: f([V], V, 1), pi: f([], S),
  predict_linear: f([M, S]), present_over_time: f([M]), quantile_over_time: f([S, M]), rad: f([V]),
  range: f([], S), rate: f([M]), resets: f([M]), round: f([V, S], V, 1), scalar: f([V], S),
  sgn: f([V]), sin: f([V]), sinh: f([V]), sort: f([V]), sort_desc: f([V]),
  sort_by_label: f([V, STR], V, -1), sort_by_label_desc: f([V, STR], V, -1), sqrt: f([V]),
  start: f([], S), start_timestamp: f([V]), step: f([], S), stddev_over_time: f([M]),
  stdvar_over_time: f([M]), sum_over_time: f([M]), tan: f([V]), tanh: f([V]), time: f([], S),
  timestamp: f([V]), vector: f([S]), year: f([V], V, 1),
};
