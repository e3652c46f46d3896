// Real receivers for the tests: Debian's Prometheus 2.42 (remote-write receiver, TLS through
// --web.config.file) and VictoriaMetrics 1.79 (-tls), each on a free loopback port with its own
// data folder, stopped by its own PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import type { TlsFixture } from './tls-fixture';
import { freePort } from '../../local-peers';

export interface RealReceiver {
  base: URL;
  writeUrl: URL;
  proc: ChildProcess;
  log: () => string;
  stop(): Promise<void>;
}

export function httpsGet(url: URL, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { ca, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function launch(cmd: string, args: string[]): { proc: ChildProcess; log: () => string } {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (c: Buffer): void => {
    out = (out + c.toString('utf8')).slice(-20_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  return { proc, log: () => out };
}

async function waitReady(url: URL, ca: string, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`receiver exited with ${proc.exitCode}: ${log()}`);
    try {
      if ((await httpsGet(url, ca)).status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`receiver not ready at ${url.href}: ${log()}`);
}

function stopper(proc: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.pid === undefined) return resolve();
      proc.once('exit', () => resolve());
      process.kill(proc.pid, 'SIGTERM');
      setTimeout(() => {
        if (proc.exitCode === null && proc.pid !== undefined) process.kill(proc.pid, 'SIGKILL');
      }, 10_000).unref();
    });
}

export const HAVE_PROMETHEUS = existsSync('/usr/bin/prometheus');
export const HAVE_VICTORIA = existsSync('/usr/bin/victoria-metrics');

/** Prometheus with the remote-write receiver over TLS; `config` is its prometheus.yml. */
export async function startPrometheus(
  tls: TlsFixture,
  name: string,
  config: (port: number) => string = () => 'global:\n  scrape_interval: 15s\n',
  /** A fixed port (a restart on the same data folder keeps its address); default a free one. */
  fixedPort?: number,
  /** More flags, e.g. --enable-feature=native-histograms. */
  extraArgs: readonly string[] = [],
): Promise<RealReceiver> {
  const dir = join(tls.dir, name);
  mkdirSync(dir, { recursive: true });
  const port = fixedPort ?? (await freePort());
  writeFileSync(join(dir, 'prometheus.yml'), config(port));
  writeFileSync(join(dir, 'web.yml'), `tls_server_config:\n  cert_file: ${tls.certFile}\n  key_file: ${tls.keyFile}\n`);
  const { proc, log } = launch('/usr/bin/prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    `--web.config.file=${join(dir, 'web.yml')}`,
    '--web.enable-remote-write-receiver',
    '--log.level=warn',
    ...extraArgs,
  ]);
  const base = new URL(`https://localhost:${port}`);
  await waitReady(new URL('/-/ready', base), tls.caPem, proc, log);
  return { base, writeUrl: new URL('/api/v1/write', base), proc, log, stop: stopper(proc) };
}

export async function startVictoriaMetrics(tls: TlsFixture, name: string): Promise<RealReceiver> {
  const dir = join(tls.dir, name);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const { proc, log } = launch('/usr/bin/victoria-metrics', [
    `-httpListenAddr=127.0.0.1:${port}`,
    `-storageDataPath=${join(dir, 'data')}`,
    '-tls',
    `-tlsCertFile=${tls.certFile}`,
    `-tlsKeyFile=${tls.keyFile}`,
    '-search.latencyOffset=0s',
    '-search.disableCache',
    '-retentionPeriod=100y',
    '-loggerLevel=ERROR',
  ]);
  const base = new URL(`https://localhost:${port}`);
  await waitReady(new URL('/health', base), tls.caPem, proc, log);
  return { base, writeUrl: new URL('/api/v1/write', base), proc, log, stop: stopper(proc) };
}

/** The `result` of an instant query (`timeSeconds`) at a real receiver, in Prometheus's JSON shape. */
export async function instantQueryResult<T = { metric: Record<string, string>; value: [number, string] }>(r: RealReceiver, ca: string, query: string, timeSeconds: number): Promise<T[]> {
  const u = new URL('/api/v1/query', r.base);
  u.searchParams.set('query', query);
  u.searchParams.set('time', String(timeSeconds));
  const res = await httpsGet(u, ca);
  if (res.status !== 200) throw new Error(`query ${query}: HTTP ${res.status} ${res.body}`);
  return (JSON.parse(res.body) as { data: { result: T[] } }).data.result;
}

/** An instant query's vector result as labels-key → value. */
export async function instantQuery(r: RealReceiver, ca: string, query: string, timeSeconds: number): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const s of await instantQueryResult(r, ca, query, timeSeconds)) {
    const key = Object.keys(s.metric)
      .sort()
      .map((k) => `${k}=${s.metric[k]}`)
      .join(',');
    out.set(key, s.value[1]);
  }
  return out;
}

export { freePort };
