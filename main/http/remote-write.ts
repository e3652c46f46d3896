// POST …/remote_write: reads the body within the workspace's size limit, hands it to the tenant,
// and turns the result into the status and headers a remote-write sender acts on.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Tenant } from '../core/tenant';
import { readBody } from './body';
import { sendError } from './errors';

export async function remoteWrite(req: IncomingMessage, res: ServerResponse, tenant: Tenant): Promise<void> {
  const body = await readBody(req, res, tenant.limits.maxBodyBytes, 'maxBodyBytes');
  const result = await tenant.ingest({ body, contentType: req.headers['content-type'], contentEncoding: req.headers['content-encoding'], version: header(req, 'x-prometheus-remote-write-version') });
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
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
