// The appliance's own routes: remote write and the Prometheus HTTP API, per workspace
// (/workspaces/{id}/api/v1/…, as AMP) or with the workspace taken from the credentials
// (/api/v1/…, as Mimir; X-Scope-OrgID, when sent, must name that same workspace).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuthError, authenticate, authorize, refuseCredentialsInUrl, type CredentialChecker, type Principal } from './auth';
import { HttpError, sendJson } from './errors';
import { DELETE_SERIES_PATH } from './query';
import type { HttpHandler } from './types';
import type { Scope } from '../control/types';

export interface ApiHandlers {
  remoteWrite(req: IncomingMessage, res: ServerResponse, workspaceId: string): Promise<void>;
  /** `apiPath` is what follows /api/v1/, e.g. 'query_range' or 'label/job/values'. */
  query(req: IncomingMessage, res: ServerResponse, workspaceId: string, apiPath: string, url: URL): Promise<void>;
  /** POST|PUT admin/tsdb/delete_series (admin scope); `actor` names the credential for the activity log. */
  deleteSeries(req: IncomingMessage, res: ServerResponse, workspaceId: string, url: URL, actor: string): Promise<void>;
  /** GET /metrics or /workspaces/{id}/metrics (admin scope): the workspace's own metrics in Prometheus's text format. */
  metrics?(req: IncomingMessage, res: ServerResponse, workspaceId: string): Promise<void>;
}

const WORKSPACE_PATH = /^\/workspaces\/([^/]+)\/api\/v1\/(.+)$/;
const SHARED_PATH = /^\/api\/v1\/(.+)$/;
const METRICS_PATH = /^(?:\/workspaces\/([^/]+))?\/metrics$/;

/** Called with every 401/403 so failures can be logged; never given the credential. */
export type AuthFailureListener = (e: AuthError, req: IncomingMessage, route: string, pathWorkspace: string | null) => void;

function allowMethods(req: IncomingMessage, methods: readonly string[]): void {
  if (!methods.includes(req.method ?? '')) throw new HttpError(405, `method ${req.method} not allowed here; use ${methods.join(' or ')}`, { Allow: methods.join(', ') }, true);
}

export function apiRoutes(control: CredentialChecker, handlers: ApiHandlers, onAuthFailure: AuthFailureListener): HttpHandler {
  return async (req, res, path) => {
    if (path === '/-/healthy' || path === '/-/ready') {
      sendJson(res, 200, { status: 'success' });
      return;
    }
    const rawUrl = req.url ?? '/';
    const url = new URL(rawUrl, 'https://localhost');
    refuseCredentialsInUrl(rawUrl, url);

    const m = METRICS_PATH.exec(path);
    if (m && handlers.metrics) {
      const pw = m[1] === undefined ? null : decodeURIComponent(m[1]);
      let principal: Principal;
      try {
        principal = authorize(authenticate(req, control), pw, 'admin');
      } catch (e) {
        if (e instanceof AuthError) {
          onAuthFailure(e, req, 'admin', pw);
          throw new HttpError(e.status, e.message, e.headers, req.method === 'POST');
        }
        throw e;
      }
      allowMethods(req, ['GET']);
      await handlers.metrics(req, res, principal.workspaceId);
      return;
    }

    let pathWorkspace: string | null = null;
    let apiPath: string;
    const ws = WORKSPACE_PATH.exec(path);
    const shared = ws ? null : SHARED_PATH.exec(path);
    if (ws) {
      pathWorkspace = decodeURIComponent(ws[1]!);
      apiPath = ws[2]!;
    } else if (shared) apiPath = shared[1]!;
    else throw new HttpError(404, `no such endpoint: ${path.slice(0, 200)}`);

    const isWrite = ws ? apiPath === 'remote_write' : apiPath === 'write';
    const isDelete = apiPath === DELETE_SERIES_PATH;
    const scope: Scope = isWrite ? 'remote_write' : isDelete ? 'admin' : 'query';
    const route = isWrite ? 'remote_write' : isDelete ? 'admin' : 'query';
    let principal: Principal;
    try {
      principal = authorize(authenticate(req, control), pathWorkspace, scope);
      const orgId = req.headers['x-scope-orgid'];
      if (!ws && orgId !== undefined && orgId !== principal.workspaceId) throw new AuthError(403, 'X-Scope-OrgID names another workspace than the credentials belong to', 'workspace');
    } catch (e) {
      if (e instanceof AuthError) {
        onAuthFailure(e, req, route, pathWorkspace);
        // The body was not read: do not keep a connection whose remaining bytes we never consumed.
        throw new HttpError(e.status, e.message, e.headers, req.method === 'POST');
      }
      throw e;
    }

    if (isWrite) {
      allowMethods(req, ['POST']);
      await handlers.remoteWrite(req, res, principal.workspaceId);
    } else if (isDelete) {
      allowMethods(req, ['POST', 'PUT']);
      await handlers.deleteSeries(req, res, principal.workspaceId, url, principal.actor);
    } else {
      allowMethods(req, ['GET', 'POST']);
      await handlers.query(req, res, principal.workspaceId, apiPath, url);
    }
  };
}
