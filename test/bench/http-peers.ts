// What the benchmarks that query over HTTP share: a free port, a peer's readiness, VictoriaMetrics
// started on plain HTTP, a remote-write post, and a query pool served over HTTP as `ampule serve`
// answers the API (on a query worker, compressed when asked; no TLS or auth, as the peers here have none).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { QueryPool } from '../../main/http/query-pool';
import { acceptedEncoding, sendApiAnswer } from '../../main/http/answer-encoding';
import type { Querier } from '../../main/tsdb/types';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function waitFor(url: string, what: string, proc: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error(`${what} did not become ready`);
}

/**
 * VictoriaMetrics (Debian's) with its data under `dir`; its series limits raised so that a listing
 * of every series of a large head is answered, not refused (-search.maxSeries is 30,000 by default).
 */
export async function startVictoriaMetrics(dir: string): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn('victoria-metrics', [
    `-storageDataPath=${join(dir, 'victoria')}`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=1', '-loggerLevel=ERROR',
    '-search.maxSeries=10000000', '-search.maxUniqueTimeseries=10000000',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/health`, 'VictoriaMetrics', proc);
  return { url, proc };
}

/** Stops a peer and resolves once it has exited: its files may go then (VictoriaMetrics writes caches while stopping). */
export function stopPeer(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill();
  });
}

/** Posts one remote write 1.0 body (snappy) to `url`'s /api/v1/write; throws unless 204. */
export async function remoteWrite(url: string, body: Uint8Array<ArrayBuffer>, who: string): Promise<void> {
  const res = await fetch(`${url}/api/v1/write`, {
    method: 'POST', body, headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
  });
  if (res.status !== 204) throw new Error(`${who} refused remote write: ${res.status} ${await res.text()}`);
}

/** Serves `pool` over HTTP for `querier`: /api/v1/<path>, GET or POST. */
export async function servePool(pool: QueryPool, querier: Querier): Promise<{ url: string; close(): void }> {
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const params = req.method === 'POST' ? new URLSearchParams(Buffer.concat(chunks).toString()) : url.searchParams;
      const encoding = acceptedEncoding(req.headers['accept-encoding']);
      void pool.run(url.pathname.replace(/^\/api\/v1\//, ''), params, querier, { encoding }).then((r) => sendApiAnswer(res, r.status, { body: r.json, encoding: r.encoding }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => void server.close() };
}
