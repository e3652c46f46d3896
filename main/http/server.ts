// The HTTPS listener: TLS only (1.2 minimum, 1.3 preferred, AEAD suites with forward secrecy),
// optional client certificates from the local CA, timeouts against slow clients, automatic
// renewal of the server certificate while running, and a graceful close.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SecureContextOptions } from 'node:tls';
import type { Appliance } from '../core/appliance';
import type { Tenant } from '../core/tenant';
import { ControlError } from '../control/types';
import { fingerprintSha256 } from '../tls/certificates';
import { LocalCa, readCaCertPem, type ServerIdentity } from '../tls/local-ca';
import { HttpError, sendError, sendJson } from './errors';
import { deleteSeriesHandler, queryHandler, requestParams, type QueryLimits } from './query';
import { QueryPool } from './query-pool';
import { remoteWrite } from './remote-write';
import { Router } from './router';
import { apiRoutes } from './routes';
import { alertmanagersData, alertsData, rulesData, type NotifierTargetsOf, type RuleGroupsOf } from './rules-api';
import { METRICS_CONTENT_TYPE, workspaceMetrics } from './metrics';
import { QueryMetrics } from './query-metrics';
import type { ForwardDestinationStatus } from '../../shared/api';
import { httpsOnlyListener } from './https-only';
import type { ServerHandle } from './types';
import { StoreError } from '../tsdb/errors';

/** What the server needs of an open appliance. */
export type ServedAppliance = Pick<Appliance, 'dataDir' | 'tlsKeys' | 'control' | 'tenant' | 'activity'>;

export interface ServerOptions {
  readonly host?: string;
  /** 0 picks a free port. Default 9443. */
  readonly port?: number;
  /** A user-supplied certificate chain and key (PEM) instead of the local CA's. */
  readonly tls?: { readonly certPem: string; readonly keyPem: string };
  readonly log?: (line: string) => void;
  readonly now?: () => Date;
  /** How often to check whether the server certificate is due for renewal. Default 6 h. */
  readonly renewCheckMs?: number;
  /** Time allowed for the request headers (slow-loris). Default 10 s. */
  readonly headersTimeoutMs?: number;
  /** Time allowed for a whole request. Default 60 s. */
  readonly requestTimeoutMs?: number;
  /** Time a close() waits for in-flight requests before cutting connections. Default 30 s. */
  readonly closeGraceMs?: number;
  /** Worker threads for PromQL (main/http/query-pool); 0 evaluates on this thread. Default: the cores beside this one. Unused when queryPool is given. */
  readonly queryThreads?: number;
  /** A query pool owned by the caller (main/host shares it with rule evaluation; the server does not close it); null evaluates on this thread. */
  readonly queryPool?: QueryPool | null;
  /** Every query's samples limit and timeout (`ampule serve --query.max-samples`, `--query.timeout`). */
  readonly queryLimits?: QueryLimits;
  /** A workspace's running rule groups, for /api/v1/rules and /api/v1/alerts (none without rule evaluation). */
  readonly ruleGroups?: RuleGroupsOf;
  /** A workspace's notification targets and their delivery status, for /api/v1/alertmanagers. */
  readonly notifierTargets?: NotifierTargetsOf;
  /** Each forwarding destination's status, for /metrics. */
  readonly forwardStatus?: (workspaceId: string) => readonly ForwardDestinationStatus[];
}

// TLS 1.3 suites first, then TLS 1.2 ECDHE + AEAD only.
export const CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-RSA-AES128-GCM-SHA256',
].join(':');

function secureContext(certPem: string, keyPem: string, clientCaPem: string | null): SecureContextOptions {
  return { cert: certPem, key: keyPem, minVersion: 'TLSv1.2', ciphers: CIPHERS, honorCipherOrder: true, ...(clientCaPem ? { ca: clientCaPem } : {}) };
}

/** The route of a request, for the log: no workspace id, nothing token-shaped, bounded length. */
function logSafePath(path: string): string {
  return path.replace(/^\/workspaces\/[^/]+/, '/workspaces/…').replace(/amp_[A-Za-z0-9_-]*/g, 'amp_…').slice(0, 100);
}

function describeError(e: unknown): string {
  // The name and the stack frames only: a message may quote stored data (labels, values).
  if (!(e instanceof Error)) return typeof e;
  const frames = (e.stack ?? '').split('\n').slice(1, 6).map((f) => f.trim()).join(' | ');
  return `${e.name} ${frames}`.trim();
}

export async function startServer(appliance: ServedAppliance, opts: ServerOptions = {}): Promise<ServerHandle> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const now = opts.now ?? (() => new Date());
  const host = opts.host ?? '127.0.0.1';
  const headersTimeoutMs = opts.headersTimeoutMs ?? 10_000;

  let identity: ServerIdentity | null = null;
  let localCa: LocalCa | null = null;
  let contextOptions: SecureContextOptions;
  let caFingerprint: string | null;
  if (opts.tls) {
    // Client certificates are still checked against the local CA when one exists.
    const clientCa = readCaCertPem(appliance.dataDir);
    contextOptions = secureContext(opts.tls.certPem, opts.tls.keyPem, clientCa);
    caFingerprint = clientCa ? fingerprintSha256(clientCa) : null;
  } else {
    localCa = new LocalCa(appliance.dataDir, appliance.tlsKeys);
    identity = await localCa.serverIdentity(now());
    contextOptions = secureContext(identity.certPem, identity.keyPem, identity.caCertPem);
    caFingerprint = identity.caFingerprint;
  }

  const queryPool = opts.queryPool !== undefined ? opts.queryPool : opts.queryThreads === 0 ? null : new QueryPool(opts.queryThreads);
  const ownPool = opts.queryPool === undefined ? queryPool : null;
  const tenant = (ws: string): Tenant => {
    try {
      return appliance.tenant(ws);
    } catch (e) {
      if (e instanceof ControlError && e.kind === 'not_found') throw new HttpError(404, 'workspace not found');
      // A damaged store names workspace, file and item (never stored data): the caller sees why.
      if (e instanceof StoreError) throw new HttpError(500, e.message);
      throw e;
    }
  };
  const queryMetrics = new QueryMetrics();
  const promQuery = queryHandler(tenant, queryPool, opts.queryLimits ?? {}, queryMetrics);
  const router = new Router(
    apiRoutes(
      appliance.control,
      {
        remoteWrite: (req, res, ws) => remoteWrite(req, res, tenant(ws)),
        query: async (req, res, ws, apiPath, url) => {
          if (apiPath !== 'rules' && apiPath !== 'alerts' && apiPath !== 'alertmanagers') return promQuery(req, res, ws, apiPath, url);
          const params = await requestParams(req, res, url);
          tenant(ws); // 404 for a workspace that is gone
          if (apiPath === 'alertmanagers') return sendJson(res, 200, { status: 'success', data: alertmanagersData(opts.notifierTargets?.(ws) ?? []) });
          const groups = opts.ruleGroups?.(ws) ?? [];
          sendJson(res, 200, { status: 'success', data: apiPath === 'rules' ? rulesData(groups, params) : alertsData(groups) });
        },
        deleteSeries: deleteSeriesHandler((ws) => tenant(ws).store, appliance.activity),
        metrics: async (_req, res, ws) => {
          const body = workspaceMetrics(tenant(ws), opts.forwardStatus?.(ws) ?? [], queryMetrics.of(ws));
          res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) }).end(body);
        },
      },
      (e, req, route, pathWorkspace) => {
        // Bad tokens are already logged by the control plane; the activity log aggregates floods.
        if (e.reason === 'token') return;
        appliance.activity.record({
          action: 'http.auth_failure',
          actor: req.socket.remoteAddress ?? 'unknown',
          outcome: 'failure',
          ...(pathWorkspace && /^ws-[0-9a-f-]{1,64}$/.test(pathWorkspace) ? { workspaceId: pathWorkspace } : {}),
          details: { status: e.status, route, reason: e.reason },
        });
      },
    ),
  );

  let closing = false;
  let inFlight = 0;
  let server: Server;
  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    if (closing) res.shouldKeepAlive = false;
    res.on('close', () => {
      inFlight--;
      if (closing) server.closeIdleConnections();
    });
    const path = (req.url ?? '/').split('?')[0]!;
    try {
      await router.handle(req, res, path);
    } catch (e) {
      if (e instanceof HttpError) sendError(res, e.status, e.message, e.headers, e.closeConnection);
      else {
        log(`ampule serve: internal error on ${req.method} ${logSafePath(path)}: ${describeError(e)}`);
        sendError(res, 500, 'internal server error; the server log has the details');
      }
    }
  };

  server = createServer(
    {
      ...contextOptions,
      requestCert: true,
      // Without a valid client certificate the request may still authenticate with a token.
      rejectUnauthorized: false,
      handshakeTimeout: 10_000,
      headersTimeout: headersTimeoutMs,
      requestTimeout: opts.requestTimeoutMs ?? 60_000,
      keepAliveTimeout: 65_000,
      connectionsCheckingInterval: Math.min(1000, headersTimeoutMs),
      maxHeaderSize: 16 * 1024,
    },
    (req, res) => void onRequest(req, res),
  );
  // Expect: 100-continue is answered only once the request is authenticated and fits (see readBody).
  server.on('checkContinue', (req, res) => void onRequest(req, res));
  server.on('tlsClientError', () => {}); // plain HTTP, scanners, aborted handshakes: nothing to log per connection
  const listener = httpsOnlyListener(server, headersTimeoutMs);
  listener.maxConnections = 4096;

  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') reject(new Error(`port ${opts.port ?? 9443} on ${host} is already in use: stop what uses it or choose another with --port`));
      else if (e.code === 'EACCES') reject(new Error(`not allowed to listen on port ${opts.port ?? 9443} on ${host}: choose a port above 1023 with --port`));
      else reject(e);
    };
    listener.once('error', onError);
    listener.listen(opts.port ?? 9443, host, () => {
      listener.off('error', onError);
      // The HTTPS server does not listen itself; this starts its header and request timeouts.
      server.emit('listening');
      resolve();
    });
  }).catch(async (e: unknown) => {
    await ownPool?.close();
    throw e;
  });
  const address = listener.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 9443);

  let renewing = false;
  const renewTimer = localCa
    ? setInterval(() => {
        if (renewing) return;
        renewing = true;
        localCa!
          .serverIdentity(now())
          .then((next) => {
            if (next.certPem !== identity!.certPem) {
              identity = next;
              server.setSecureContext(secureContext(next.certPem, next.keyPem, next.caCertPem));
              log(`ampule serve: renewed the server certificate, valid until ${next.notAfter.toISOString()}`);
            }
          })
          .catch((e) => log(`ampule serve: could not renew the server certificate: ${e instanceof Error ? e.message : String(e)}`))
          .finally(() => (renewing = false));
      }, opts.renewCheckMs ?? 6 * 3600_000).unref()
    : null;

  const urlHost = host === '127.0.0.1' || host === '::1' || host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return {
    port,
    url: `https://${urlHost}:${port}`,
    caFingerprint,
    mount: (prefix, handler) => router.mount(prefix, handler),
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        if (renewTimer) clearInterval(renewTimer);
        const force = setTimeout(() => server.closeAllConnections(), opts.closeGraceMs ?? 30_000).unref();
        // Resolves once every accepted connection is gone.
        listener.close(() => {
          clearTimeout(force);
          void (ownPool?.close() ?? Promise.resolve()).then(() => resolve());
        });
        // Stops the HTTPS server's timers and closes its idle keep-alive connections.
        server.close();
        if (inFlight === 0) server.closeAllConnections();
      }),
  };
}
