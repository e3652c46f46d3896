// PromQL for the window: the Prometheus HTTP API (main/query/api) answers instant and range
// queries in the exact JSON Grafana reads, on the host's query threads as the HTTP API's are (a
// chart's query does not hold remote write); syntax checks become character ranges for inline errors.
import { ApiError, type MetricMetadataEntry, type PromResponse, type QueryIssue } from '../../shared/api';
import { QueryPoolError, type QueryPool } from '../http/query-pool';
import type { MetadataTable } from '../ingest/metadata';
import { handlePromApi, metricMetadata } from '../query/api';
import { ParseError, parseExpr } from '../query/parser';
import { QueryError } from '../query/values';
import type { Querier } from '../tsdb/types';

/** Where the window's queries run: the host's query threads, or none (then this thread). */
export type QueryThreads = Pick<QueryPool, 'run' | 'unavailable'> | null;

/** An API answer's body, from a query thread when there is one that runs. */
async function call(path: string, params: URLSearchParams, querier: Querier, threads: QueryThreads): Promise<unknown> {
  if (threads && threads.unavailable === null) {
    try {
      const { json } = await threads.run(path, params, querier, { ahead: true }); // ahead of dashboards' queries: on a worker of its own when theirs hold every one
      return JSON.parse(new TextDecoder().decode(json));
    } catch (e) {
      if (!(e instanceof QueryPoolError)) throw e;
      if (e.reason !== 'unavailable') throw new ApiError('unavailable', `the query could not be evaluated (${e.message}); try again`);
    }
  }
  return (await handlePromApi(path, params, querier)).body;
}

export async function runInstant(querier: Querier, query: string, timeSeconds: number, threads: QueryThreads): Promise<PromResponse> {
  return (await call('query', new URLSearchParams({ query, time: String(timeSeconds) }), querier, threads)) as PromResponse;
}

export async function runRange(querier: Querier, query: string, start: number, end: number, step: number, threads: QueryThreads): Promise<PromResponse> {
  return (await call('query_range', new URLSearchParams({ query, start: String(start), end: String(end), step: String(step) }), querier, threads)) as PromResponse;
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

/**
 * The metadata endpoints (labels, label values, series) for the editor's completion, through the
 * same Prometheus API code as Grafana's requests; a bad selector is an 'invalid' error.
 */
export async function readMetadata<T>(querier: Querier, threads: QueryThreads, path: string, match: string | undefined, limit?: number): Promise<T> {
  const params = new URLSearchParams();
  if (match !== undefined) params.append('match[]', match);
  if (limit !== undefined) params.set('limit', String(limit));
  const r = (await call(path, params, querier, threads)) as { status: string; data?: T; error?: string };
  if (r.status !== 'success') throw new ApiError('invalid', r.error ?? 'the selector was refused', 'match');
  return r.data as T;
}

/** A workspace's metric metadata through the same code as GET /api/v1/metadata. */
export function metricMetadataOf(table: MetadataTable, metric: string | undefined): Record<string, MetricMetadataEntry[]> {
  const params = new URLSearchParams(metric === undefined ? {} : { metric });
  const r = metricMetadata(params, (m) => table.entries(m)).body as { status: string; data?: Record<string, MetricMetadataEntry[]>; error?: string };
  if (r.status !== 'success') throw new ApiError('invalid', r.error ?? 'metadata request refused', 'metric');
  return r.data!;
}
