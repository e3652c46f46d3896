// Real parts for the notification tests: a CA and a server certificate made with openssl, a
// bcrypt hash made by the system crypt(3) through perl (no new dependency), Debian's
// prometheus-alertmanager started with TLS (and optionally basic auth) on a free port, and a
// local TLS server that records what it is sent.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, request } from 'node:https';
import { join } from 'node:path';
import { freePort } from '../../local-peers';

export const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

export interface Pki {
  readonly caPem: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** A CA and a server certificate for 127.0.0.1/localhost signed by it. */
export function makePki(dir: string): Pki {
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-subj', '/CN=Ampule test CA', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf'));
  return { caPem: readFileSync(f('ca.pem'), 'utf8'), certFile: f('server.pem'), keyFile: f('server.key') };
}

/** bcrypt ($2b$, cost 10) through glibc's crypt(3), as Alertmanager's basic_auth_users expects. */
export function bcrypt(password: string): string {
  const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const salt = [...randomBytes(21)].map((b) => alphabet[b % 64]).join('') + '.';
  const hash = execFileSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, `$2b$10$${salt}`], { encoding: 'utf8' });
  if (!hash.startsWith('$2b$10$') || hash.length !== 60) throw new Error(`crypt(3) made no bcrypt hash: ${hash}`);
  return hash;
}

export interface RunningAlertmanager {
  readonly url: string;
  readonly log: () => string;
  stop(): Promise<void>;
}

/** Starts Debian's Alertmanager with TLS on `port`; resolves once /-/ready answers 200. */
export async function startAlertmanager(dir: string, port: number, pki: Pki, users: Record<string, string> = {}): Promise<RunningAlertmanager> {
  mkdirSync(join(dir, 'am-data'), { recursive: true });
  writeFileSync(join(dir, 'am.yml'), 'route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n');
  const userLines = Object.entries(users).map(([u, h]) => `  ${u}: "${h}"`).join('\n');
  writeFileSync(join(dir, 'web.yml'), `tls_server_config:\n  cert_file: ${pki.certFile}\n  key_file: ${pki.keyFile}\n${userLines ? `basic_auth_users:\n${userLines}\n` : ''}`);
  const proc: ChildProcess = spawn(ALERTMANAGER, [`--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'am-data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', `--web.config.file=${join(dir, 'web.yml')}`, '--log.level=info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const url = `https://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`alertmanager exited: ${log}`);
    const status = await get(url, '/-/ready', pki.caPem).then((r) => r.status, () => 0);
    if (status === 200 || status === 401) break;
    if (i > 100) throw new Error(`alertmanager not ready: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    log: () => log,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

export function get(base: string, path: string, ca: string, authorization?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { ca, headers: authorization ? { authorization } : {}, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
  status: { state: string };
}

/** Alertmanager's current (unresolved) alerts, read back through its API v2. */
export async function amAlerts(am: RunningAlertmanager, ca: string, authorization?: string): Promise<ApiAlert[]> {
  const r = await get(am.url, '/api/v2/alerts', ca, authorization);
  if (r.status !== 200) throw new Error(`GET /api/v2/alerts: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as ApiAlert[];
}

export interface Recorded {
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: unknown;
}

/** A local HTTPS server that records every POST and answers `status()` (200 by default). */
export async function recordingServer(pki: Pki, status: () => number = () => 200): Promise<{ url: string; posts: Recorded[]; close(): Promise<void> }> {
  const posts: Recorded[] = [];
  const server = createHttpsServer({ cert: readFileSync(pki.certFile), key: readFileSync(pki.keyFile) }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', authorization: req.headers.authorization, body: JSON.parse(body) as unknown });
      res.writeHead(status()).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `https://127.0.0.1:${(server.address() as { port: number }).port}`,
    posts,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export const haveAlertmanager = existsSync(ALERTMANAGER);

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export { freePort };
