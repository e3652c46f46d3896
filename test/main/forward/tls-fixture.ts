// A CA and a localhost server certificate made for one test run (main/tls issues them), written
// to a temporary folder for receivers (Prometheus, VictoriaMetrics) that read files.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueServerCertificate, pkcs8ToPem } from '../../../main/tls/certificates';

export interface TlsFixture {
  dir: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  cleanup(): void;
}

export async function makeTls(): Promise<TlsFixture> {
  const now = new Date();
  const ca = await createCa(now, 'forward test CA');
  const server = await issueServerCertificate(ca, now);
  const dir = mkdtempSync(join(tmpdir(), 'ampule-forward-'));
  const keyPem = pkcs8ToPem(server.keyPkcs8);
  const f = { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server-key.pem') };
  writeFileSync(f.caFile, ca.certPem);
  writeFileSync(f.certFile, server.certPem);
  writeFileSync(f.keyFile, keyPem, { mode: 0o600 });
  return { dir, caPem: ca.certPem, certPem: server.certPem, keyPem, ...f, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Received {
  method: string;
  url: string;
  headers: [string, string][];
  body: Buffer;
  /** performance.now() when its connection was set up (a stopped sender's last request comes on an old one). */
  connected: number;
}

/** An HTTPS receiver on a free loopback port; `answer` decides each response. */
export async function startReceiver(
  tls: TlsFixture,
  answer: (req: Received, res: ServerResponse) => void,
): Promise<{ url: (path: string) => URL; received: Received[]; server: Server; close(): Promise<void> }> {
  const received: Received[] = [];
  const connectedAt = new WeakMap<object, number>();
  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req: IncomingMessage, res) => {
    const connected = connectedAt.get(req.socket) ?? performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: [string, string][] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
      const r = { method: req.method!, url: req.url!, headers, body: Buffer.concat(chunks), connected };
      received.push(r);
      answer(r, res);
    });
  });
  server.on('secureConnection', (socket) => connectedAt.set(socket, performance.now()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: (path) => new URL(`https://localhost:${port}${path}`),
    received,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function header(r: Received, name: string): string | undefined {
  return r.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}
