// A workspace for a real Prometheus to remote-write into, made through the CLI as a user would
// (the workspace, a remote_write+query token in a 0600 credentials file, and the exported CA), and
// that Prometheus (Debian's) configured as the README tells users.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { PROMETHEUS, freePort } from '../local-peers';
import { removeService, uniqueService } from '../main/crypto/keychain-env';
import { runCli, startServe, type ServeProcess } from '../main/http/cli-process';

/** One describe block's `ampule serve`: a scratch folder and a keychain service of its own, all gone after the block. */
export interface ServeFixture {
  /** Its keychain service (AMPULE_KEYCHAIN_SERVICE in env). */
  readonly service: string;
  readonly work: string;
  readonly dataDir: string;
  readonly env: NodeJS.ProcessEnv;
  /** Starts `ampule serve` on dataDir. */
  start(): Promise<ServeProcess>;
  /** Stops it (SIGTERM) and waits: its stores are closed, so the files can be read. */
  stop(): Promise<void>;
  /** Run after the block, before the server stops (a Prometheus, an exporter). */
  onCleanup(stop: () => void): void;
}

export function serveFixture(name: string): ServeFixture {
  const service = uniqueService();
  const work = mkdtempSync(join(tmpdir(), `ampule-e2e-${name}-`));
  const dataDir = join(work, 'data');
  const env = { ...process.env, AMPULE_KEYCHAIN_SERVICE: service };
  const cleanups: (() => void)[] = [];
  let serve: ServeProcess | undefined;
  const stop = async () => {
    if (!serve) return;
    serve.process.kill('SIGTERM');
    await serve.exited;
    serve = undefined;
  };
  afterAll(async () => {
    for (const c of cleanups) c();
    await stop();
    removeService(service);
    rmSync(work, { recursive: true, force: true });
  });
  return {
    service,
    work,
    dataDir,
    env,
    start: async () => (serve = await startServe(dataDir, env)),
    stop,
    onCleanup: (c) => cleanups.push(c),
  };
}

export interface SenderWorkspace {
  readonly ws: string;
  readonly token: string;
  /** For prometheus.yml's `authorization.credentials_file`. */
  readonly credentials: string;
  /** For prometheus.yml's `tls_config.ca_file`. */
  readonly caFile: string;
}

export async function senderWorkspace(work: string, dataDir: string, env: NodeJS.ProcessEnv, alias: string): Promise<SenderWorkspace> {
  const created = await runCli(['workspace', 'create', '--data-dir', dataDir, '--alias', alias, '--json'], env);
  expect(created.status).toBe(0);
  const ws = JSON.parse(created.stdout).workspaceId as string;
  const tok = await runCli(['token', 'create', '--data-dir', dataDir, '--workspace', ws, '--scope', 'remote_write,query', '--json'], env);
  expect(tok.status).toBe(0);
  const token = JSON.parse(tok.stdout).token as string;
  const credentials = join(work, 'ampule-token');
  writeFileSync(credentials, token + '\n', { mode: 0o600 });
  const caFile = join(work, 'ca.pem');
  expect((await runCli(['ca', 'export', '--data-dir', dataDir, '--out', caFile], env)).status).toBe(0);
  return { ws, token, credentials, caFile };
}

/** A running Prometheus that scrapes one target each second and remote-writes what it scrapes. */
export interface SendingPrometheus {
  readonly process: ChildProcess;
  /** host:port of its own HTTP API. */
  readonly instance: string;
  /** What it has written to stderr (for failure messages). */
  log(): string;
}

export interface SendingPrometheusOptions {
  /** Its files (prometheus.yml, its TSDB) go here. */
  readonly work: string;
  /** ampule serve's port. */
  readonly serverPort: number;
  readonly sender: SenderWorkspace;
  readonly job: string;
  /** host:port it scrapes; itself when absent. */
  readonly target?: string;
  /** More lines of the workspace's remote_write entry, e.g. `send_exemplars: true`. */
  readonly remoteWrite?: readonly string[];
  /** More remote_write entries, their lines whole. */
  readonly otherRemoteWrites?: readonly string[];
  /** Its --enable-feature list, e.g. `exemplar-storage`. */
  readonly features?: string;
}

export async function startSendingPrometheus(o: SendingPrometheusOptions): Promise<SendingPrometheus> {
  const instance = `127.0.0.1:${await freePort()}`;
  const config = join(o.work, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global: {scrape_interval: 1s, evaluation_interval: 1s}',
      'scrape_configs:',
      `  - job_name: ${o.job}`,
      `    static_configs: [{targets: ["${o.target ?? instance}"]}]`,
      'remote_write:',
      `  - url: https://localhost:${o.serverPort}/workspaces/${o.sender.ws}/api/v1/remote_write`,
      '    authorization:',
      `      credentials_file: ${o.sender.credentials}`,
      '    tls_config:',
      `      ca_file: ${o.sender.caFile}`,
      ...(o.remoteWrite ?? []).map((l) => `    ${l}`),
      '    queue_config: {batch_send_deadline: 1s}',
      ...(o.otherRemoteWrites ?? []),
      '',
    ].join('\n'),
  );
  const flags = [`--config.file=${config}`, `--storage.tsdb.path=${join(o.work, 'prom-data')}`, `--web.listen-address=${instance}`, ...(o.features ? [`--enable-feature=${o.features}`] : [])];
  const child = spawn(PROMETHEUS, flags, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (c: Buffer) => (log += c));
  return { process: child, instance, log: () => log };
}

/** GET of a plain-HTTP JSON API (Prometheus's own). */
export function getJson(url: string): Promise<{ status: number; body: { data?: unknown } }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as { data?: unknown } }));
    })
      .on('error', reject)
      .end();
  });
}
