// GET|POST …/api/v1/<endpoint>: gathers the parameters (query string, plus a form body for POST, as
// Prometheus accepts) and answers with the Prometheus HTTP API of the workspace's store; and the
// admin endpoint POST|PUT …/api/v1/admin/tsdb/delete_series (admin scope).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WorkspaceStore } from '../core/workspace-store';
import type { ActivityLog } from '../audit/activity-log';
import type { Tenant } from '../core/tenant';
import { readBody } from './body';
import { HttpError } from './errors';
import { acceptedEncoding, encodeAnswer, sendApiAnswer } from './answer-encoding';
import { handlePromApi, metricMetadata, queryExemplars, withQuerySlot, type PromApiOptions } from '../query/api';
import { promApiJson } from '../query/api-json';
import { QueryPool, QueryPoolError } from './query-pool';
import { queryTypeOf, type QueryMetrics } from './query-metrics';
import { DeleteRequestError, deleteSeriesRequest } from '../retention/delete-series';

/** Form bodies are small: a PromQL expression and a few parameters. */
export const MAX_QUERY_BODY_BYTES = 1024 * 1024;

/** The query string plus, for POST and PUT, a form-encoded body. */
export async function requestParams(req: IncomingMessage, res: ServerResponse, url: URL): Promise<URLSearchParams> {
  const params = new URLSearchParams(url.searchParams);
  if (req.method === 'POST' || req.method === 'PUT') {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const body = await readBody(req, res, MAX_QUERY_BODY_BYTES);
    if (body.length > 0) {
      if (type !== 'application/x-www-form-urlencoded') throw new HttpError(415, `${req.method} parameters must be sent as application/x-www-form-urlencoded`);
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.append(k, v);
    }
  }
  return params;
}

/** Applied to every query: Prometheus's --query.max-samples and --query.timeout. */
export type QueryLimits = Pick<PromApiOptions, 'maxSamples' | 'timeoutMs'>;

/**
 * The Prometheus HTTP API of a workspace: on `pool`'s worker threads when given (a client that
 * goes away stops its query), else on this thread. Instant and range queries are counted in `metrics`.
 */
export function queryHandler(
  tenant: (workspaceId: string) => Pick<Tenant, 'querier' | 'queries' | 'metadata' | 'exemplars'>,
  pool: QueryPool | null,
  limits: QueryLimits = {},
  metrics?: QueryMetrics,
): (req: IncomingMessage, res: ServerResponse, workspaceId: string, apiPath: string, url: URL) => Promise<void> {
  /** Answers the request; the HTTP status sent (0 when the client went away first). */
  const serve = async (req: IncomingMessage, res: ServerResponse, workspaceId: string, apiPath: string, url: URL): Promise<number> => {
    const params = await requestParams(req, res, url);
    const encoding = acceptedEncoding(req.headers['accept-encoding']);
    const answer = (status: number, json: Uint8Array | string): number => {
      sendApiAnswer(res, status, encodeAnswer(typeof json === 'string' ? Buffer.from(json) : json, encoding));
      return status;
    };
    const t = tenant(workspaceId);
    // Metadata and exemplars live with the ingester on this thread, not in the store the pool reads.
    const endpoint = apiPath.replace(/^\/+|\/+$/g, '');
    if (endpoint === 'metadata' || endpoint === 'query_exemplars') {
      const result = endpoint === 'metadata'
        ? metricMetadata(params, (metric) => t.metadata.entries(metric))
        : queryExemplars(params, (start, end, match) => t.exemplars.select(start, end, match));
      return answer(result.status, JSON.stringify(result.body));
    }
    const q = t.querier();
    const onThisThread = async (): Promise<number> => {
      const result = await handlePromApi(apiPath, params, q, { ...limits, limiter: t.queries });
      return answer(result.status, promApiJson(result));
    };
    if (!pool || pool.unavailable !== null) return onThisThread();
    const gone = new AbortController();
    const onClose = () => {
      if (!res.writableEnded) gone.abort();
    };
    res.once('close', onClose);
    try {
      const result = await withQuerySlot(apiPath, { ...limits, limiter: t.queries }, (timeoutMs) => pool.run(apiPath, params, q, { signal: gone.signal, limits: { ...limits, timeoutMs }, encoding }));
      if (!('json' in result)) return answer(result.status, JSON.stringify(result.body));
      sendApiAnswer(res, result.status, { body: result.json, encoding: result.encoding });
      return result.status;
    } catch (e) {
      if (e instanceof QueryPoolError && e.reason === 'unavailable') return onThisThread();
      if (e instanceof QueryPoolError && e.reason === 'aborted') {
        res.destroy();
        return 0;
      }
      if (e instanceof QueryPoolError) throw new HttpError(503, `the query could not be evaluated (${e.message}); retry`, { 'Retry-After': '1' });
      throw e;
    } finally {
      res.off('close', onClose);
    }
  };
  return async (req, res, workspaceId, apiPath, url) => {
    const type = metrics ? queryTypeOf(apiPath) : null;
    if (type === null) return void (await serve(req, res, workspaceId, apiPath, url));
    const began = performance.now();
    let status = 0;
    try {
      status = await serve(req, res, workspaceId, apiPath, url);
    } finally {
      // An exception (bad parameters, a 503) is a failure too; the router still answers it.
      metrics!.observe(workspaceId, type, (performance.now() - began) / 1000, status === 200);
    }
  };
}

export const DELETE_SERIES_PATH = 'admin/tsdb/delete_series';

export function deleteSeriesHandler(
  store: (workspaceId: string) => WorkspaceStore,
  activity: ActivityLog,
): (req: IncomingMessage, res: ServerResponse, workspaceId: string, url: URL, actor: string) => Promise<void> {
  return async (req, res, workspaceId, url, actor) => {
    const params = await requestParams(req, res, url);
    try {
      await deleteSeriesRequest(params, store(workspaceId), activity, actor);
    } catch (e) {
      if (e instanceof DeleteRequestError) throw new HttpError(400, e.message);
      throw e;
    }
    res.writeHead(204, { 'Cache-Control': 'no-store' });
    res.end();
  };
}
