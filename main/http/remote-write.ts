// POST …/remote_write: reads the body within the workspace's size limit, hands it to ingestion,
// and turns the result into the status and headers a remote-write sender acts on.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WorkspaceStore } from '../core/appliance';
import type { WorkspaceLimits } from '../control/types';
import type { Appender } from '../tsdb/types';
import { createIngestState, IngestError, ingestRemoteWrite, type IngestState } from '../ingest/remote-write';
import { checkDeclaredLength, readBody } from './body';
import { HttpError, sendError } from './errors';
import type { CompiledRules } from '../discovery/ingest-rules';
import type { Labels } from '../../shared/labels';

export interface RemoteWriteDeps {
  store(workspaceId: string): WorkspaceStore;
  limits(workspaceId: string): WorkspaceLimits;
  now(): number;
  /** The workspace's compiled ingest rules (main/discovery), or null. */
  rules?(workspaceId: string): CompiledRules | null;
  /** Incremental sensitive-data discovery of new series. */
  onNewSeries?(workspaceId: string, labels: Labels): void;
}

export function remoteWriteHandler(deps: RemoteWriteDeps): (req: IncomingMessage, res: ServerResponse, workspaceId: string) => Promise<void> {
  // Ingestion keeps per-store state (series cache, rate bucket) and one appender per store, so the
  // requests of one event-loop turn share a commit; a reopened store starts afresh.
  const perStore = new WeakMap<WorkspaceStore, { state: IngestState; appender: Appender }>();
  return async (req, res, workspaceId) => {
    const limits = deps.limits(workspaceId);
    checkDeclaredLength(req, limits.maxBodyBytes);
    const store = deps.store(workspaceId);
    const body = await readBody(req, res, limits.maxBodyBytes);
    let ingest = perStore.get(store);
    if (!ingest) perStore.set(store, (ingest = { state: createIngestState(), appender: store.appender() }));
    let result;
    try {
      result = await ingestRemoteWrite(
        { body, contentType: req.headers['content-type'], contentEncoding: req.headers['content-encoding'], version: header(req, 'x-prometheus-remote-write-version') },
        { appender: ingest.appender, limits, state: ingest.state, rules: deps.rules?.(workspaceId) ?? null, ...(deps.onNewSeries ? { onNewSeries: (l: Labels) => deps.onNewSeries!(workspaceId, l) } : {}) },
        deps.now(),
      );
    } catch (e) {
      if (e instanceof IngestError) throw new HttpError(e.status, e.message, e.retryAfterSeconds !== undefined ? { 'Retry-After': String(Math.ceil(e.retryAfterSeconds)) } : {});
      throw e;
    }
    const headers: Record<string, string> = {
      'X-Prometheus-Remote-Write-Samples-Written': String(result.samplesWritten),
      'X-Prometheus-Remote-Write-Histograms-Written': String(result.histogramsWritten),
      'X-Prometheus-Remote-Write-Exemplars-Written': String(result.exemplarsWritten),
    };
    if (result.status === 204) {
      res.writeHead(204, headers);
      res.end();
      return;
    }
    if (result.retryAfterSeconds !== undefined) headers['Retry-After'] = String(Math.ceil(result.retryAfterSeconds));
    sendError(res, result.status, result.message ?? 'request refused', headers);
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
