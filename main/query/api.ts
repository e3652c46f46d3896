// The Prometheus HTTP API (/api/v1/…) as a pure function over a Querier: request path and
// parameters in, status code and Prometheus's exact JSON shape out. The HTTP layer only wires it.
import type { Labels } from '../../shared/labels';
import { getLabel, labelsToRecord } from '../../shared/labels';
import type { Matcher, Querier } from '../tsdb/types';
import { type EngineOptions, type QueryResult, type QueryValue, instantQuery, rangeQuery } from './engine';
import { parseDuration } from './durations';
import type { QueryLimiter } from './limits';
import { ParseError, parseExpr } from './parser';
import { printExpr } from './printer';
import { storeMatcher } from './regex';
import { formatFloatF } from './numeric';
import { isValidLabelName } from './strings';
import { histogramJSON } from './histogram/json';
import { QueryError } from './values';
import type { MetricMetadata } from '../ingest/metadata';
import type { SeriesExemplars } from '../ingest/exemplars';
import { compileMatcher } from '../tsdb/matchers';
import type { Expr, VectorSelector } from './ast';
import type { RowsHelper } from './evaluator';

export type ErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'not_found' | 'internal';

export interface PromApiResponse {
  status: number;
  body: object;
}

export interface PromApiOptions {
  /** Clock for requests without `time` (ms). */
  now?: () => number;
  /** Query timeout when the request gives none (ms); default 2m. */
  timeoutMs?: number;
  /** Most samples a query may hold at once; default 50,000,000 (Prometheus's --query.max-samples). */
  maxSamples?: number;
  /** Most points one query answer may carry; default MAX_RESULT_POINTS. */
  maxResultPoints?: number;
  /** The workspace's concurrency gate for query and query_range (Prometheus's --query.max-concurrency). */
  limiter?: QueryLimiter;
  /** ms; default 5m. */
  lookbackDelta?: number;
  /** Reported by status/buildinfo. */
  version?: string;
  /** The workspace's metric metadata for /metadata (none: an empty answer). */
  metadata?: MetadataSource;
  /** The workspace's exemplars for /query_exemplars (none: an empty answer). */
  exemplars?: ExemplarSource;
  /** Shares large range calls with a helper thread (a query worker's; see query/split-rows.ts). */
  helper?: RowsHelper;
}

const STATUS: Record<ErrorType, number> = { bad_data: 400, execution: 422, timeout: 503, canceled: 499, not_found: 404, internal: 500 };
const MAX_POINTS = 11_000;
export const DEFAULT_TIMEOUT_MS = 120_000;
// The widest range a JavaScript Date holds (ms); stands in for Prometheus's min/max time.
const MIN_TIME = -8.64e15;
const MAX_TIME = 8.64e15;

class ApiError extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
  ) {
    super(message);
  }
}

const fail = (type: ErrorType, error: string): PromApiResponse => ({ status: STATUS[type], body: { status: 'error', errorType: type, error } });
const ok = (data: unknown, extra: Record<string, unknown> = {}): PromApiResponse => ({ status: 200, body: { status: 'success', data, ...extra } });

/** A workspace's metadata: every metric's entries, or the named metric's. */
export type MetadataSource = (metric?: string) => Iterable<[string, readonly MetricMetadata[]]>;

/**
 * GET /api/v1/metadata as Prometheus answers it (web/api/v1 metricMetadata): `{metric: [{type,
 * help, unit}]}`, `metric` selects one, `limit` bounds the metrics (0: none), `limit_per_metric`
 * the entries of each (0 or negative: all).
 */
export function metricMetadata(params: URLSearchParams, source: MetadataSource): PromApiResponse {
  const int = (name: string): number => {
    const s = params.get(name);
    if (s === null || s === '') return -1;
    const n = Number(s);
    if (!/^[+-]?\d+$/.test(s) || !Number.isSafeInteger(n)) throw new ApiError('bad_data', `${name} must be a number`);
    return n;
  };
  try {
    const limit = int('limit');
    const perMetric = int('limit_per_metric');
    const metric = params.get('metric') ?? '';
    const out: Record<string, MetricMetadata[]> = {};
    let n = 0;
    for (const [name, list] of source(metric === '' ? undefined : metric)) {
      if (limit >= 0 && n >= limit) break;
      out[name] = (perMetric > 0 ? list.slice(0, perMetric) : list).map(({ type, help, unit }) => ({ type, help, unit }));
      n++;
    }
    return ok(out);
  } catch (e) {
    if (e instanceof ApiError) return fail(e.type, e.message);
    throw e;
  }
}

/** A workspace's exemplars in [start, end] of the series `match` accepts. */
export type ExemplarSource = (start: number, end: number, match: (labels: Labels) => boolean) => SeriesExemplars[];

/**
 * GET /api/v1/query_exemplars as Prometheus answers it: the exemplars in [start, end] of the
 * series any vector selector of `query` selects, `[{seriesLabels, exemplars: [{labels, value,
 * timestamp}]}]` (value a string, timestamp in seconds).
 */
export function queryExemplars(params: URLSearchParams, source: ExemplarSource): PromApiResponse {
  try {
    const expr = parseExpr(requireQuery(params));
    const [start, end] = timeRange(params);
    if (end < start) throw new ApiError('bad_data', 'end timestamp must not be before start timestamp');
    const sets = vectorSelectors(expr).map((vs) => vs.matchers.map((m) => compileMatcher(storeMatcher(m))));
    const match = (labels: Labels) => sets.some((set) => set.every((c) => c.matches(getLabel(labels, c.matcher.name))));
    const data = source(start, end, match).map((s) => ({
      seriesLabels: labelsToRecord(s.seriesLabels),
      exemplars: s.exemplars.map((e) => ({ labels: labelsToRecord(e.labels), value: formatFloatF(e.value), timestamp: e.t / 1000 })),
    }));
    return ok(data);
  } catch (e) {
    if (e instanceof ApiError) return fail(e.type, e.message);
    if (e instanceof ParseError) return fail('bad_data', `invalid parameter "query": ${e.describe()}`);
    throw e;
  }
}

/** Every vector selector of an expression (Prometheus's parser.ExtractSelectors). */
function vectorSelectors(e: Expr, out: VectorSelector[] = []): VectorSelector[] {
  if (e.kind === 'vector') {
    out.push(e);
    return out;
  }
  for (const v of Object.values(e) as unknown[]) {
    for (const child of Array.isArray(v) ? v : [v]) {
      if (child !== null && typeof child === 'object' && 'kind' in child) vectorSelectors(child as Expr, out);
    }
  }
  return out;
}

/**
 * Handles `path` (below /api/v1/, e.g. "query" or "label/job/values") with GET query / POST form
 * parameters. Never throws for bad input: errors come back in Prometheus's error format.
 */
export async function handlePromApi(path: string, params: URLSearchParams, querier: Querier, opts: PromApiOptions = {}): Promise<PromApiResponse> {
  const endpoint = path.replace(/^\/+|\/+$/g, '');
  return withQuerySlot(endpoint, opts, (timeoutMs) => answer(endpoint, params, querier, { ...opts, timeoutMs }));
}

/**
 * Runs `run` once `opts.limiter` (the workspace's concurrency gate, for query and query_range
 * only) admits it, with the time left of the query's timeout: time spent queued counts toward
 * it, as in Prometheus.
 */
export async function withQuerySlot<T = PromApiResponse>(path: string, opts: Pick<PromApiOptions, 'limiter' | 'timeoutMs'>, run: (timeoutMs: number) => Promise<T>): Promise<T | PromApiResponse> {
  const endpoint = path.replace(/^\/+|\/+$/g, '');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const limiter = endpoint === 'query' || endpoint === 'query_range' ? opts.limiter : undefined;
  if (!limiter) return run(timeoutMs);
  const queuedAt = Date.now();
  if (!(await limiter.acquire(timeoutMs))) return fail('timeout', 'query timed out in query queue');
  try {
    return await run(Math.max(1, timeoutMs - (Date.now() - queuedAt)));
  } finally {
    limiter.release();
  }
}

async function answer(endpoint: string, params: URLSearchParams, querier: Querier, opts: PromApiOptions): Promise<PromApiResponse> {
  try {
    return route(endpoint, params, querier, opts);
  } catch (e) {
    if (e instanceof ApiError) return fail(e.type, e.message);
    if (e instanceof ParseError) return fail('bad_data', `invalid parameter "query": ${e.describe()}`);
    if (e instanceof QueryError) return fail(e.kind === 'bad_data' ? 'bad_data' : e.kind, e.message);
    // Deeply nested input exhausts the stack in the recursive parser/evaluator.
    if (e instanceof RangeError && /call stack/.test(e.message)) return fail('bad_data', 'invalid parameter "query": expression nested too deeply');
    return fail('internal', (e as Error).message);
  }
}

function route(path: string, params: URLSearchParams, querier: Querier, opts: PromApiOptions): PromApiResponse {
  const now = opts.now ?? Date.now;
  switch (path) {
    case 'query': return query(params, querier, opts, now());
    case 'query_range': return queryRange(params, querier, opts);
    case 'series': {
      const sets = matchSets(params, true);
      const [start, end] = timeRange(params);
      // One selector's series are distinct already; several are merged, each series once.
      let found = sets.length === 1 ? querier.series(sets[0]!, start, end) : [];
      if (sets.length > 1) {
        const seen = new Map<string, Labels>();
        for (const ms of sets) for (const l of querier.series(ms, start, end)) seen.set(JSON.stringify(l), l);
        found = [...seen.values()];
      }
      return listedSeries(found, params);
    }
    case 'labels': {
      const sets = matchSets(params, false);
      return limited(union(sets.length === 0 ? [querier.labelNames()] : sets.map((ms) => querier.labelNames(ms))), params);
    }
    case 'metadata': return metricMetadata(params, opts.metadata ?? (() => []));
    case 'query_exemplars': return queryExemplars(params, opts.exemplars ?? (() => []));
    case 'status/buildinfo':
      return ok({
        version: opts.version ?? '3.0.0', revision: 'ampule', branch: 'ampule', buildUser: 'ampule', buildDate: '', goVersion: 'n/a',
      });
    case 'format_query': return ok(printExpr(parseExpr(requireQuery(params))));
    case 'parse_query': return ok(parseExpr(requireQuery(params)));
    default: {
      const m = /^label\/([^/]+)\/values$/.exec(path);
      if (m) {
        let name = decodeURIComponent(m[1]!);
        // Prometheus's escaping for names that are not legacy identifiers: U__<hex-escaped>.
        if (name.startsWith('U__')) name = name.slice(3).replace(/_([0-9a-fA-F]+)_/g, (_, h: string) => String.fromCodePoint(parseInt(h, 16))).replace(/__/g, '_');
        if (!isValidLabelName(name)) throw new ApiError('bad_data', `invalid label name: ${JSON.stringify(name)}`);
        const sets = matchSets(params, false);
        return limited(union(sets.length === 0 ? [querier.labelValues(name)] : sets.map((ms) => querier.labelValues(name, ms))), params);
      }
      throw new ApiError('not_found', `unknown API endpoint /api/v1/${path}`);
    }
  }
}

/** The union of distinct, sorted lists, sorted (one list is its own: 100,000 values added to a Set and sorted again took a label values answer ~40 ms). */
function union(lists: string[][]): string[] {
  return lists.length === 1 ? lists[0]! : sortedDistinct(lists.flat());
}

/** `items` sorted, each once (in place: sorted, then each run of equal items kept once; no Set hashing every item). */
export function sortedDistinct(items: string[]): string[] {
  items.sort();
  let n = 0;
  for (let i = 0; i < items.length; i++) if (n === 0 || items[i] !== items[n - 1]) items[n++] = items[i]!;
  items.length = n;
  return items;
}

/** Applies the optional `limit` parameter, with Prometheus's truncation warning. */
function limited(items: unknown[], params: URLSearchParams): PromApiResponse {
  const l = limit(items, params);
  return ok(l.items, l.extra);
}

/** `items` cut to the request's `limit`, and the warning Prometheus adds when it cuts. */
function limit<T>(items: T[], params: URLSearchParams): { items: T[]; extra: Record<string, unknown> } {
  const raw = params.get('limit');
  if (raw === null || raw === '') return { items, extra: {} };
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new ApiError('bad_data', `invalid parameter "limit": cannot parse ${JSON.stringify(raw)}: invalid syntax`);
  if (n === 0 || items.length <= n) return { items, extra: {} };
  return { items: items.slice(0, n), extra: { warnings: ['results truncated due to limit'] } };
}

const seriesListings = new WeakMap<PromApiResponse, { readonly sets: readonly Labels[]; readonly extra: Record<string, unknown> }>();

/** The label sets a series listing answered, for its JSON to be written from them (./api-json.ts). */
export function seriesListingOf(r: PromApiResponse): { readonly sets: readonly Labels[]; readonly extra: Record<string, unknown> } | undefined {
  return seriesListings.get(r);
}

/** A series listing: its body made only when read as an object (the window reads it; the API writes JSON from the sets). */
function listedSeries(found: Labels[], params: URLSearchParams): PromApiResponse {
  const { items, extra } = limit(found, params);
  let body: object | undefined;
  const r: PromApiResponse = {
    status: 200,
    get body() {
      return (body ??= ok(items.map(labelsToRecord), extra).body);
    },
  };
  seriesListings.set(r, { sets: items, extra });
  return r;
}

function requireQuery(params: URLSearchParams): string {
  const q = params.get('query');
  if (q === null || q === '') throw new ApiError('bad_data', 'invalid parameter "query": unknown position: parse error: no expression found in input');
  return q;
}

function engineOptions(params: URLSearchParams, opts: PromApiOptions): EngineOptions {
  let timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const t = params.get('timeout');
  if (t !== null && t !== '') {
    const d = parseDurationParam(t, 'timeout');
    if (d <= 0) throw new ApiError('bad_data', `invalid parameter "timeout": timeout must be positive`);
    timeoutMs = Math.min(timeoutMs, d);
  }
  let lookbackDelta = opts.lookbackDelta;
  const lb = params.get('lookback_delta');
  if (lb !== null && lb !== '') lookbackDelta = parseDurationParam(lb, 'lookback_delta');
  return { timeoutMs, maxSamples: opts.maxSamples, lookbackDelta, helper: opts.helper };
}

function query(params: URLSearchParams, querier: Querier, opts: PromApiOptions, now: number): PromApiResponse {
  const q = requireQuery(params);
  const t = params.has('time') && params.get('time') !== '' ? parseTime(params.get('time')!, 'time') : now;
  return result(instantQuery(querier, q, t, engineOptions(params, opts)), opts.maxResultPoints);
}

function queryRange(params: URLSearchParams, querier: Querier, opts: PromApiOptions): PromApiResponse {
  const q = requireQuery(params);
  const start = parseTime(params.get('start') ?? '', 'start');
  const end = parseTime(params.get('end') ?? '', 'end');
  if (end < start) throw new ApiError('bad_data', 'invalid parameter "end": end timestamp must not be before start time');
  const step = parseDurationParam(params.get('step') ?? '', 'step');
  if (step <= 0) throw new ApiError('bad_data', 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
  if ((end - start) / step > MAX_POINTS) {
    throw new ApiError('bad_data', 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
  }
  return result(rangeQuery(querier, q, start, end, step, engineOptions(params, opts)), opts.maxResultPoints);
}

/**
 * Most points one answer may carry: about 35 bytes of JSON each, so 10 M points stay well under
 * the longest string JavaScript can build (~512 MiB). Prometheus streams its JSON and has no such
 * bound; its samples limit (50 M) is far above what a single JSON answer can hold here.
 */
export const MAX_RESULT_POINTS = 10_000_000;

function result(r: QueryResult, maxPoints = MAX_RESULT_POINTS): PromApiResponse {
  const points = r.value.type === 'matrix'
    ? r.value.series.reduce((n, s) => n + s.ts.length + (s.hts?.length ?? 0), 0)
    : r.value.type === 'vector' ? r.value.samples.length : 1;
  if (points > maxPoints) {
    throw new ApiError('execution', `query result too large to send: ${points} points, at most ${maxPoints}; narrow the selection or the time range`);
  }
  const extra: Record<string, unknown> = {};
  if (r.annotations.warnings.length) extra['warnings'] = r.annotations.warnings;
  if (r.annotations.infos.length) extra['infos'] = r.annotations.infos;
  return answered(r.value, extra);
}

/** The value and extra fields a query's response is formatted from (api-json.ts writes its JSON from them). */
const answers = new WeakMap<PromApiResponse, { readonly value: QueryValue; readonly extra: Record<string, unknown> }>();

export function answerOf(r: PromApiResponse): { readonly value: QueryValue; readonly extra: Record<string, unknown> } | undefined {
  return answers.get(r);
}

/** A query's success: its body formatted only when read as an object (the window's charts read it; the API writes JSON from the value). */
function answered(value: QueryValue, extra: Record<string, unknown>): PromApiResponse {
  let body: object | undefined;
  const r: PromApiResponse = {
    status: 200,
    get body() {
      return (body ??= ok(formatValue(value), extra).body);
    },
  };
  answers.set(r, { value, extra });
  return r;
}

/** Prometheus's JSON for query results. */
export function formatValue(v: QueryValue): { resultType: string; result: unknown } {
  switch (v.type) {
    case 'scalar': return { resultType: 'scalar', result: [v.t / 1000, formatFloatF(v.v)] };
    case 'string': return { resultType: 'string', result: [v.t / 1000, v.v] };
    case 'vector':
      return {
        resultType: 'vector',
        result: v.samples.map((s) =>
          s.h
            ? { metric: labelsToRecord(s.metric), histogram: [s.t / 1000, histogramJSON(s.h, formatFloatF)] }
            : { metric: labelsToRecord(s.metric), value: [s.t / 1000, formatFloatF(s.f)] },
        ),
      };
    case 'matrix':
      return {
        resultType: 'matrix',
        result: v.series.map((s) => {
          const out: Record<string, unknown> = { metric: labelsToRecord(s.metric) };
          // As Prometheus: "values" for float points, "histograms" for histogram points, each only when present.
          if (s.ts.length || !s.hts?.length) out['values'] = s.ts.map((t, i) => [t / 1000, formatFloatF(s.fs[i]!)]);
          if (s.hts?.length) out['histograms'] = s.hts.map((t, i) => [t / 1000, histogramJSON(s.hs![i]!, formatFloatF)]);
          return out;
        }),
      };
  }
}

/** Prometheus's parseTime: unix seconds (with decimals) or RFC3339; ms. */
export function parseTime(s: string, param: string): number {
  const bad = (): never => {
    throw new ApiError('bad_data', `invalid parameter ${JSON.stringify(param)}: cannot parse ${JSON.stringify(s)} to a valid timestamp`);
  };
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
    const secs = Number(s);
    const ms = Math.round(secs * 1000);
    if (!Number.isFinite(ms) || ms > MAX_TIME || ms < MIN_TIME) bad();
    return ms;
  }
  // Prometheus's own min/max time strings (client libraries send them).
  if (s === '-292273086-05-16T16:47:06Z') return MIN_TIME;
  if (s === '292277025-08-18T07:12:54.999999999Z') return MAX_TIME;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s)) bad();
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) bad();
  return ms;
}

/** Prometheus's parseDuration for parameters: float seconds or a duration like 15s / 1m30s; ms. */
export function parseDurationParam(s: string, param: string): number {
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
    const ms = Math.round(Number(s) * 1000);
    if (Number.isFinite(ms)) return ms;
  }
  const d = parseDuration(s);
  if (d === null) throw new ApiError('bad_data', `invalid parameter ${JSON.stringify(param)}: cannot parse ${JSON.stringify(s)} to a valid duration`);
  return d;
}

function timeRange(params: URLSearchParams): [number, number] {
  const s = params.get('start'), e = params.get('end');
  return [s ? parseTime(s, 'start') : MIN_TIME, e ? parseTime(e, 'end') : MAX_TIME];
}

/** match[] selectors, each a vector selector. */
function matchSets(params: URLSearchParams, required: boolean): Matcher[][] {
  const raw = params.getAll('match[]');
  if (required && raw.length === 0) throw new ApiError('bad_data', 'no match[] parameter provided');
  return raw.map((text) => {
    let e;
    try {
      e = parseExpr(text);
    } catch (err) {
      if (err instanceof ParseError) throw new ApiError('bad_data', `invalid parameter "match[]": ${err.describe()}`);
      throw err;
    }
    if (e.kind !== 'vector') throw new ApiError('bad_data', 'invalid parameter "match[]": match[] must contain vector selectors only');
    return e.matchers.map(storeMatcher);
  });
}
