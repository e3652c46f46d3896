// A real server for the HTTP tests: a temp data directory, the real keychain (a unique service),
// two workspaces with tokens, the HTTPS listener on a free port, and a client that trusts its CA.
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import { openAppliance } from '../../../main/core/open-appliance';
import type { Appliance } from '../../../main/core/appliance';
import type { Scope } from '../../../main/control/types';
import type { ServerOptions } from '../../../main/http/server';
import { startHost, type Host, type HostOptions } from '../../../main/host/host';
import type { ServerHandle } from '../../../main/http/types';
import { readCaCertPem } from '../../../main/tls/local-ca';
import { removeService, uniqueService } from '../crypto/keychain-env';

export { keychainSkipNote, noKeychainReason } from '../crypto/keychain-env';

export interface Harness {
  readonly dataDir: string;
  readonly appliance: Appliance;
  /** The composition root serve and the desktop core use (no admin channel: tests run in a worker thread). */
  readonly host: Host;
  readonly server: ServerHandle;
  readonly caPem: string;
  readonly wsA: string;
  readonly wsB: string;
  token(ws: string, scopes: Scope[], expiresAt?: Date): string;
  close(): Promise<void>;
}

/** `rules`: rule evaluation is off unless a test asks for it. */
export async function startHarness(opts: ServerOptions = {}, rules: HostOptions['rules'] = false): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ampule-http-'));
  const service = uniqueService();
  const appliance = await openAppliance({ dataDir, keychainService: service });
  const wsA = appliance.control.createWorkspace({ alias: 'alpha' }).workspaceId;
  const wsB = appliance.control.createWorkspace({ alias: 'beta' }).workspaceId;
  const host = await startHost(appliance, { listen: { port: 0, log: () => {}, ...opts }, commands: null, rules });
  const server = host.server!;
  return {
    dataDir,
    appliance,
    host,
    server,
    caPem: readCaCertPem(dataDir)!,
    wsA,
    wsB,
    token: (ws, scopes, expiresAt) => appliance.control.createToken(ws, { scopes, ...(expiresAt ? { expiresAt } : {}) }).token,
    async close() {
      await host.close();
      appliance.close();
      removeService(service);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body as it came, before any decoding (a compressed answer stays compressed). */
  readonly body: Buffer;
  readonly text: string;
  json(): { status?: string; errorType?: string; error?: string; data?: unknown };
}

export interface RequestSpec {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string | number>;
  readonly body?: Buffer | string;
  /** Client certificate for mutual TLS. */
  readonly cert?: string;
  readonly key?: string;
}

export function send(h: Pick<Harness, 'server' | 'caPem'>, spec: RequestSpec): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: 'localhost',
        port: h.server.port,
        method: spec.method ?? 'GET',
        path: spec.path,
        headers: spec.headers ?? {},
        ca: h.caPem,
        agent: false,
        ...(spec.cert ? { cert: spec.cert, key: spec.key } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          resolve({ status: res.statusCode!, headers: res.headers, body, text, json: () => JSON.parse(text) });
        });
      },
    );
    req.on('error', reject);
    req.end(spec.body);
  });
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
