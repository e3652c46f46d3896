// PromQL for the window: the engine's results in the Prometheus HTTP API's JSON shapes (the same
// ones Grafana reads), and syntax checks as character ranges for inline errors.
import type { PromData, PromResponse, QueryIssue } from '../../shared/api';
import { labelsToRecord } from '../../shared/labels';
import { instantQuery, rangeQuery, type QueryValue } from '../query/engine';
import { ParseError, parseExpr } from '../query/parser';
import { QueryError } from '../query/values';
import type { Querier } from '../tsdb/types';

/** Prometheus writes sample values as strings: NaN, +Inf, -Inf, shortest round-trip decimals. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function toPromData(value: QueryValue): PromData {
  switch (value.type) {
    case 'scalar':
      return { resultType: 'scalar', result: [value.t / 1000, formatValue(value.v)] };
    case 'string':
      return { resultType: 'string', result: [value.t / 1000, value.v] };
    case 'vector':
      return { resultType: 'vector', result: value.samples.map((s) => ({ metric: labelsToRecord(s.metric), value: [s.t / 1000, formatValue(s.f)] as const })) };
    case 'matrix':
      return {
        resultType: 'matrix',
        result: value.series.map((s) => ({ metric: labelsToRecord(s.metric), values: s.ts.map((t, i) => [t / 1000, formatValue(s.fs[i]!)] as const) })),
      };
  }
}

function run(f: () => { value: QueryValue; annotations: { warnings: string[] } }): PromResponse {
  try {
    const r = f();
    return { status: 'success', data: toPromData(r.value), ...(r.annotations.warnings.length ? { warnings: r.annotations.warnings } : {}) };
  } catch (e) {
    if (e instanceof ParseError) return { status: 'error', errorType: 'bad_data', error: e.describe() };
    if (e instanceof QueryError) return { status: 'error', errorType: e.kind, error: e.message };
    throw e;
  }
}

export function runInstant(querier: Querier, query: string, timeSeconds: number): PromResponse {
  return run(() => instantQuery(querier, query, Math.round(timeSeconds * 1000)));
}

/** Refuses ranges that would produce more than 11,000 points per series, as Prometheus does. */
export function runRange(querier: Querier, query: string, start: number, end: number, step: number): PromResponse {
  if (end < start) return { status: 'error', errorType: 'bad_data', error: 'end timestamp must not be before start time' };
  if ((end - start) / step > 11_000) return { status: 'error', errorType: 'bad_data', error: 'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)' };
  return run(() => rangeQuery(querier, query, Math.round(start * 1000), Math.round(end * 1000), Math.round(step * 1000)));
}

export function checkSyntax(query: string): QueryIssue[] {
  if (!query.trim()) return [];
  try {
    parseExpr(query);
    return [];
  } catch (e) {
    if (e instanceof ParseError) return [{ from: e.pos.start, to: Math.max(e.pos.end, e.pos.start + 1), message: e.message }];
    if (e instanceof QueryError) return [{ from: 0, to: query.length, message: e.message }];
    throw e;
  }
}
