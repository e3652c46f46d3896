// GET|POST …/api/v1/<endpoint>: gathers the parameters (query string, plus a form body for POST, as
// Prometheus accepts) and answers with the Prometheus HTTP API of the workspace's store.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WorkspaceStore } from '../core/appliance';
import { readBody } from './body';
import { HttpError, sendJson } from './errors';
import { handlePromApi } from '../query/api';

/** Form bodies are small: a PromQL expression and a few parameters. */
export const MAX_QUERY_BODY_BYTES = 1024 * 1024;

export function queryHandler(store: (workspaceId: string) => WorkspaceStore): (req: IncomingMessage, res: ServerResponse, workspaceId: string, apiPath: string, url: URL) => Promise<void> {
  return async (req, res, workspaceId, apiPath, url) => {
    const params = new URLSearchParams(url.searchParams);
    if (req.method === 'POST') {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const body = await readBody(req, res, MAX_QUERY_BODY_BYTES);
      if (body.length > 0) {
        if (type !== 'application/x-www-form-urlencoded') throw new HttpError(415, 'POST parameters must be sent as application/x-www-form-urlencoded');
        for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.append(k, v);
      }
    }
    const result = await handlePromApi(apiPath, params, store(workspaceId).querier());
    sendJson(res, result.status, result.body);
  };
}
