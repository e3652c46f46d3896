// PromQL for the window: the Prometheus HTTP API (main/query/api) answers instant and range
// queries in the exact JSON Grafana reads; syntax checks become character ranges for inline errors.
import { ApiError, type MetricMetadataEntry, type PromResponse, type QueryIssue } from '../../shared/api';
import type { MetadataTable } from '../ingest/metadata';
import { handlePromApi, metricMetadata } from '../query/api';
import { ParseError, parseExpr } from '../query/parser';
import { QueryError } from '../query/values';
import type { Querier } from '../tsdb/types';

async function call(path: string, params: Record<string, string>, querier: Querier): Promise<PromResponse> {
  const r = await handlePromApi(path, new URLSearchParams(params), querier);
  return r.body as PromResponse;
}

export function runInstant(querier: Querier, query: string, timeSeconds: number): Promise<PromResponse> {
  return call('query', { query, time: String(timeSeconds) }, querier);
}

export function runRange(querier: Querier, query: string, start: number, end: number, step: number): Promise<PromResponse> {
  return call('query_range', { query, start: String(start), end: String(end), step: String(step) }, querier);
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
export async function readMetadata<T>(querier: Querier, path: string, match: string | undefined, limit?: number): Promise<T> {
  const params = new URLSearchParams();
  if (match !== undefined) params.append('match[]', match);
  if (limit !== undefined) params.set('limit', String(limit));
  const r = (await handlePromApi(path, params, querier)).body as { status: string; data?: T; error?: string };
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
