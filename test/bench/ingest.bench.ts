// Remote-write ingest benchmark (`npm run bench:ingest`). Not a test: it prints figures.
//
// 1. Decode: Ingester.ingest into a no-op Appender (snappy + protobuf decode + validation +
//    series cache) against snappyjs decompression alone, same bodies, CPU time of this process.
// 2. End to end over TLS: the very same remote-write 1.0 bodies, shaped like real scrapes, sent
//    with several keep-alive connections to `ampule serve`, to Debian's Prometheus 2.42
//    (--web.enable-remote-write-receiver) and to Debian's VictoriaMetrics, one after the other on
//    127.0.0.1. Series are sharded over connections like Prometheus's queue manager does, so each
//    series arrives in order. Prints samples/s, the server's CPU seconds, Ampule's ratio to each,
//    and resident memory per active series.
//
// Sizes and knobs (flags, or the environment variable in brackets):
//   --series 10000,100000 [BENCH_SERIES]   one measurement per size, peers restarted empty for each
//   --samples 2000000 [BENCH_SAMPLES]      samples per size (rounds = samples / series; round 1 creates the series)
//   --per-request 2000 [BENCH_PER_REQUEST] --connections 4 [BENCH_CONNECTIONS] --sharding prometheus|blocks (see requestPlan)
//   --targets decode,ampule,ampule-2.0,prometheus,victoria-metrics [BENCH_TARGETS]; `thread` (not by
//   default) adds the same bodies through Ingester.ingest into a real encrypted store in a process of
//   its own, no HTTP, TLS or client (ingest-thread.ts): what the ingest thread can do at best here
//   --values linear|varied: each series' value a constant step a scrape, or a varying one (see VALUES)
//   (ampule-2.0: the same data as remote write 2.0 bodies, symbols per request as Prometheus 3 sends
//   them; neither peer here takes 2.0, so its ratios are against their 1.0 figures)
//   --baseline DIR: also measure the Ampule of another checkout (e.g. /work/main), "before" beside "after"
//   --repeat N: N runs per target, taking turns, medians reported
//   BENCH_PROFILE_DIR=DIR: CPU profile of ampule serve; BENCH_NODE_FLAGS: more node flags for it
//   (e.g. --perf-basic-prof, to read `perf record -p` of it with JavaScript names).
// A small run: `npm run bench:ingest -- --series 10000 --samples 500000`.
// All peers listen on TLS (VictoriaMetrics -tls, Prometheus --web.config.file with tls_server_config), none
// is rate limited: Ampule's workspace gets its ingestion rate, burst and active-series limits raised
// with `ampule limits set` first, as a user would (the defaults, AMP's, would throttle at 170 k/s).
// Durability differs: Ampule answers 204 only after its log is committed (fsync); Prometheus and
// VictoriaMetrics acknowledge before an fsync.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { build, type BuildOptions } from 'esbuild';
import { uncompress } from 'snappyjs';
import { DEFAULT_LIMITS } from '../../main/ingest/limits';
import { Ingester } from '../../main/ingest/remote-write';
import type { Appender } from '../../main/tsdb/types';
import { encodeV2, ProtoWriter, snappy, V1_TYPE, V2_TYPE, type SeriesInput } from '../main/ingest/encode';
import { numberArg, stringArg } from './args';

const SIZES = (stringArg('series') ?? process.env.BENCH_SERIES ?? '10000,100000').split(',').map(Number);
const SAMPLES = numberArg('samples', Number(process.env.BENCH_SAMPLES ?? 2_000_000));
const PER_REQUEST = numberArg('per-request', Number(process.env.BENCH_PER_REQUEST ?? 2000));
const CONNECTIONS = numberArg('connections', Number(process.env.BENCH_CONNECTIONS ?? 4));
/** How samples are cut into requests and spread over the connections (requestPlan). */
const SHARDING = stringArg('sharding') ?? 'prometheus';
if (SHARDING !== 'prometheus' && SHARDING !== 'blocks') throw new Error(`--sharding: prometheus or blocks, not ${SHARDING}`);
const TARGETS = new Set((stringArg('targets') ?? process.env.BENCH_TARGETS ?? 'decode,ampule,ampule-2.0,prometheus,victoria-metrics').split(','));
const BASELINE = stringArg('baseline');
/** Runs per target and size, taking turns; figures are the medians (a shared machine is noisy). */
const REPEAT = numberArg('repeat', 1);
/** Limits for the bench workspace: no throttling, room for every series. */
const UNTHROTTLED = ['--ingestion-rate', '1000000000', '--ingestion-burst', '1000000000', '--active-series', '100000000'];
let SERIES = SIZES[0]!;
let ROUNDS = 1;
const STEP_MS = 15_000;
const ROOT = resolve(import.meta.dirname, '../..');

const METRICS = [
  'node_cpu_seconds_total', 'node_network_receive_bytes_total', 'node_network_transmit_bytes_total', 'node_disk_read_bytes_total',
  'node_disk_written_bytes_total', 'node_filesystem_avail_bytes', 'node_filesystem_size_bytes', 'node_memory_MemAvailable_bytes',
  'node_load1', 'node_context_switches_total', 'http_requests_total', 'http_request_duration_seconds_bucket',
  'process_resident_memory_bytes', 'go_goroutines', 'go_gc_duration_seconds', 'up', 'scrape_duration_seconds',
  'node_intr_total', 'node_procs_running', 'node_time_seconds',
];
const MODES = ['idle', 'user', 'system', 'iowait', 'steal'];

/** Series i: 20 metrics × 5 modes per instance, 100 series per instance. */
function seriesLabels(i: number): [string, string][] {
  const inst = Math.floor(i / 100);
  return [
    ['__name__', METRICS[i % METRICS.length]!],
    ['instance', `10.1.${inst >> 8}.${inst & 255}:9100`],
    ['job', 'node'],
    ['mode', MODES[Math.floor(i / METRICS.length) % MODES.length]!],
    ['region', 'eu-west-1'],
  ];
}

/**
 * How values move from scrape to scrape (`--values`): `linear` (each series a constant step: the
 * codings' cheapest case, and every figure in the log before 2026-12-08) or `varied` (a counter
 * whose step varies, in hundredths, as CPU seconds and byte counters do: each chunk plans and
 * writes real prefix codes).
 */
const VALUES = stringArg('values') ?? 'linear';
if (VALUES !== 'linear' && VALUES !== 'varied') throw new Error(`--values: linear or varied, not ${VALUES}`);

/** Series i's value in round `round`. */
const sampleValue = VALUES === 'linear'
  ? (i: number, round: number): number => i * 0.5 + round * (i % 7)
  : (i: number, round: number): number => (i * 50 + round * (i % 7) * 100 + ((Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(round + 1, 0x85ebca6b)) >>> 24)) / 100;

/**
 * The samples each connection sends, as Prometheus's queue manager shards them: connection k owns
 * the series i ≡ k (mod connections) and sends their samples scrape after scrape, PER_REQUEST a
 * request (one request may hold the end of one scrape and the start of the next), so every
 * connection carries the same load. `--sharding blocks`, the scheme before 2026-12-06, sends
 * each scrape as blocks of PER_REQUEST consecutive series, block b on connection b mod
 * connections: with 10,000 series, 2,000 a request and 4 connections, connection 0 carried two
 * blocks a scrape and the others one, and the run lasted as long as connection 0.
 * Returns requests[connection][k] as lists of (series, round).
 */
function requestPlan(): { series: Int32Array; rounds: Int32Array }[][] {
  const plan: { series: Int32Array; rounds: Int32Array }[][] = Array.from({ length: CONNECTIONS }, () => []);
  const add = (shard: number, n: number, at: (j: number) => [number, number]) => {
    const series = new Int32Array(n);
    const rounds = new Int32Array(n);
    for (let j = 0; j < n; j++) [series[j], rounds[j]] = at(j);
    plan[shard]!.push({ series, rounds });
  };
  if (SHARDING === 'blocks') {
    for (let round = 0; round < ROUNDS; round++) {
      for (let start = 0, b = 0; start < SERIES; start += PER_REQUEST, b++) add(b % CONNECTIONS, Math.min(PER_REQUEST, SERIES - start), (j) => [start + j, round]);
    }
  } else {
    for (let shard = 0; shard < Math.min(CONNECTIONS, SERIES); shard++) {
      const own = Math.ceil((SERIES - shard) / CONNECTIONS);
      const total = own * ROUNDS;
      for (let first = 0; first < total; first += PER_REQUEST) {
        add(shard, Math.min(PER_REQUEST, total - first), (j) => [shard + CONNECTIONS * ((first + j) % own), Math.floor((first + j) / own)]);
      }
    }
  }
  // Every series' every round once: the rates below divide SERIES × ROUNDS by the time.
  const planned = plan.flat().reduce((n, r) => n + r.series.length, 0);
  if (planned !== SERIES * ROUNDS) throw new Error(`request plan holds ${planned} samples, not ${SERIES * ROUNDS}`);
  return plan;
}

/** bodies[connection][k]: remote write 1.0, snappy-compressed, after requestPlan. */
function buildBodies(t0: number, plan: ReturnType<typeof requestPlan>): Buffer[][] {
  // Each series' Label fields once; per request only the samples are new.
  const labelBytes = Array.from({ length: SERIES }, (_, i) => {
    const w = new ProtoWriter();
    for (const [name, value] of seriesLabels(i)) w.message(1, (l) => l.string(1, name).string(2, value));
    return w.finish();
  });
  const samples = new Map<number, Buffer>();
  const sampleAt = (round: number): Buffer => {
    let sample = samples.get(round);
    if (!sample) samples.set(round, (sample = new ProtoWriter().double(1, 0).tag(2, 0).varint(t0 + round * STEP_MS).finish()));
    return sample;
  };
  return plan.map((requests) =>
    requests.map(({ series, rounds }) => {
      const w = new ProtoWriter();
      for (let k = 0; k < series.length; k++) {
        const i = series[k]!;
        const round = rounds[k]!;
        const sample = sampleAt(round);
        sample.writeDoubleLE(sampleValue(i, round), 1); // the value, after its 1-byte tag
        w.tag(1, 2).varint(labelBytes[i]!.length + 2 + sample.length).raw(labelBytes[i]!).bytes(2, sample);
      }
      return snappy(w.finish());
    }),
  );
}

/** The same requests as buildBodies, as remote write 2.0 bodies. */
function buildBodiesV2(t0: number, plan: ReturnType<typeof requestPlan>): Buffer[][] {
  return plan.map((requests) =>
    requests.map(({ series, rounds }) => {
      const input: SeriesInput[] = [];
      for (let k = 0; k < series.length; k++) {
        const i = series[k]!;
        input.push({ labels: seriesLabels(i), samples: [{ t: t0 + rounds[k]! * STEP_MS, v: sampleValue(i, rounds[k]!) }] });
      }
      return snappy(encodeV2(input));
    }),
  );
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function decodeBenchmark(bodies: Buffer[], type: string, label: string): Promise<void> {
  const noop: Appender = { append: (ref) => ref || 1, appendHistogram: (ref) => ref || 1, commit() {}, rollback() {} };
  const limits = { ...DEFAULT_LIMITS, ingestionRate: 1e12, ingestionBurst: 1e12, activeSeries: 1e9 };
  let best = Infinity;
  let bestSnappy = Infinity;
  let samples = 0;
  let bytes = 0;
  const ingester = new Ingester(noop);
  for (let pass = 0; pass < 4; pass++) {
    let c = cpuMs();
    samples = 0;
    for (const body of bodies) {
      const res = await ingester.ingest({ body, contentType: type, contentEncoding: 'snappy', version: undefined }, limits, Date.now());
      if (res.status !== 204) throw new Error(`decode benchmark: ${res.status} ${res.message}`);
      samples += res.samplesWritten;
    }
    // The first pass meets every series for the first time; later ones hit the series cache.
    if (pass > 0) best = Math.min(best, cpuMs() - c);
    c = cpuMs();
    bytes = 0;
    for (const body of bodies) bytes += uncompress(body).length;
    bestSnappy = Math.min(bestSnappy, cpuMs() - c);
  }
  const rate = samples / best * 1000;
  const snappyRate = samples / bestSnappy * 1000;
  const us = (ms: number) => ((ms * 1000) / samples).toFixed(2);
  console.log(
    `decode ${label}: Ingester.ingest into a no-op Appender ${fmt(rate)} samples/s (${us(best)} µs/sample, known series, 1 sample each); ` +
      `snappyjs alone ${fmt(snappyRate)} samples/s (${us(bestSnappy)} µs/sample, ${(bytes / bestSnappy / 1000).toFixed(0)} MB/s)`,
  );
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} k`;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

interface Target {
  name: string;
  url: string;
  ca: Buffer;
  headers: Record<string, string>;
  proc: ChildProcess;
  /** Sent remote write 2.0. */
  v2?: boolean;
}

/** /proc figures of a server process: resident memory and CPU seconds. */
function procStats(pid: number): { rssBytes: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssBytes: rssKb * 1024, cpuSeconds: ticks / 100 };
}

async function waitReady(name: string, proc: ChildProcess, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode} before it was ready`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} not ready after 60 s`);
}

function get(url: string, ca: Buffer): Promise<boolean> {
  return new Promise((res) => {
    const req = request(url, { ca, method: 'GET' }, (r) => {
      r.resume();
      res((r.statusCode ?? 500) < 300);
    });
    req.on('error', () => res(false));
    req.end();
  });
}

function post(agent: Agent, target: Target, body: Buffer): Promise<number> {
  return new Promise((res, rej) => {
    const req = request(
      target.url,
      {
        agent,
        method: 'POST',
        headers: {
          'Content-Type': target.v2 ? V2_TYPE : V1_TYPE,
          'Content-Encoding': 'snappy',
          'X-Prometheus-Remote-Write-Version': target.v2 ? '2.0.0' : '0.1.0',
          'Content-Length': String(body.length),
          ...target.headers,
        },
      },
      (r) => {
        r.resume();
        r.on('end', () => res(r.statusCode ?? 0));
      },
    );
    req.on('error', rej);
    req.end(body);
  });
}

async function run(target: Target, bodies: Buffer[][]): Promise<{ rate: number; cpu: number; rssPerSeries: number; failed: number; clientCpu: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS, ca: target.ca });
  const pid = target.proc.pid!;
  const before = procStats(pid);
  const clientBefore = process.cpuUsage();
  let failed = 0;
  const statuses = new Map<number, number>();
  const started = performance.now();
  await Promise.all(
    bodies.map(async (own) => {
      for (const body of own) {
        const status = await post(agent, target, body);
        if (status < 200 || status >= 300) {
          failed++;
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  const after = procStats(pid);
  const client = process.cpuUsage(clientBefore);
  if (failed) console.log(`  ${target.name}: ${failed} requests failed: ${[...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')}`);
  const sent = ROUNDS * SERIES;
  return {
    rate: sent / seconds,
    cpu: after.cpuSeconds - before.cpuSeconds,
    rssPerSeries: (after.rssBytes - before.rssBytes) / SERIES,
    failed,
    clientCpu: (client.user + client.system) / 1e6,
  };
}

function stop(proc: ChildProcess): Promise<void> {
  return new Promise((res) => {
    if (proc.exitCode !== null) return res();
    proc.once('exit', () => res());
    proc.kill('SIGTERM');
    setTimeout(() => proc.kill('SIGKILL'), 15_000).unref();
  });
}

/** How the bench bundles a checkout's code (as build/build.mjs does), with `require` for native modules. */
const BUNDLE: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3', '@napi-rs/keyring', 'electron'],
  logLevel: 'warning',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
};
const bundles: string[] = [];

/** A folder of its own for one bundle, inside checkout `root`'s node_modules so its native modules resolve; removed at the end. */
function bundleDir(root: string): string {
  const dir = join(root, `node_modules/.cache/ampule-bench-${process.pid}-${bundles.length}`);
  bundles.push(dir);
  return dir;
}

/** The CLI of checkout `root` bundled as `npm run build` bundles it (not run through tsx, whose loader costs CPU). */
async function bundleCli(root: string): Promise<string> {
  const outfile = join(bundleDir(root), 'cli.mjs');
  await build({ ...BUNDLE, stdin: { contents: "import { main } from './main/cli/index';\nprocess.exitCode = await main(process.argv.slice(2));\n", resolveDir: root, loader: 'ts' }, outfile });
  // The query workers' own bundle beside it, as build/build.mjs makes it (without it a worker would
  // load this bundle, whose top level runs the CLI again); a checkout from before it has none.
  const worker = join(root, 'main/http/query-worker.ts');
  if (existsSync(worker)) await build({ ...BUNDLE, entryPoints: [worker], outfile: join(outfile, '..', 'query-worker.mjs') });
  return outfile;
}
const runners = new Map<string, Promise<string>>();

/** ingest-thread.ts of this checkout, its imports resolved in checkout `root`'s main/. */
async function bundleThread(root: string): Promise<string> {
  const outfile = join(bundleDir(root), 'ingest-thread.mjs');
  await build({ ...BUNDLE, stdin: { contents: readFileSync(join(ROOT, 'test/bench/ingest-thread.ts'), 'utf8'), resolveDir: join(root, 'test/bench'), loader: 'ts' }, outfile });
  return outfile;
}
const threadRunners = new Map<string, Promise<string>>();

/** The `thread` target: `bodies` (by connection) through checkout `root`'s Ingester in a process of its own. */
async function runThread(root: string, bodies: Buffer[][], dir: string): Promise<Omit<Result, 'name'>> {
  if (!threadRunners.has(root)) threadRunners.set(root, bundleThread(root));
  const runner = await threadRunners.get(root)!;
  const file = join(dir, 'bodies.bin');
  if (!existsSync(file)) {
    const parts: Buffer[] = [];
    bodies.forEach((list, conn) => {
      for (const body of list) {
        const head = Buffer.alloc(8);
        head.writeUInt32LE(conn, 0);
        head.writeUInt32LE(body.length, 4);
        parts.push(head, body);
      }
    });
    writeFileSync(file, Buffer.concat(parts));
  }
  const storeDir = mkdtempSync(join(dir, 'thread-'));
  const r = spawnSync(process.execPath, [runner, file, storeDir], { encoding: 'utf8', maxBuffer: 1 << 20 });
  rmSync(storeDir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`ingest thread run failed: ${r.stderr || r.stdout}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { samples: number; wallMs: number; cpuMs: number };
  if (out.samples !== ROUNDS * SERIES) throw new Error(`ingest thread wrote ${out.samples} samples, not ${ROUNDS * SERIES}`);
  return { rate: (out.samples / out.wallMs) * 1000, cpu: out.cpuMs / 1000, rssPerSeries: NaN, failed: 0 };
}

async function startAmpule(dir: string, root: string, name: string): Promise<Target> {
  if (!runners.has(root)) runners.set(root, bundleCli(root));
  const runner = await runners.get(root)!;
  const home = mkdtempSync(join(dir, `${name.replace(/\W+/g, '-')}-`));
  const keyFile = join(home, 'master.key');
  writeFileSync(keyFile, randomBytes(32));
  chmodSync(keyFile, 0o600);
  const common = ['--data-dir', join(home, 'data'), '--master-key-file', keyFile];
  const cli = (...args: string[]): string => {
    const r = spawnSync(process.execPath, [runner, ...args, ...common], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ampule ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const ws = JSON.parse(cli('workspace', 'create', '--alias', 'bench', '--json')) as { workspaceId: string };
  const token = (JSON.parse(cli('token', 'create', '--workspace', ws.workspaceId, '--scope', 'remote_write', '--json')) as { token: string }).token;
  cli('limits', 'set', '--workspace', ws.workspaceId, ...UNTHROTTLED);
  const port = await freePort();
  const profile = [
    ...(process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []),
    ...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
  ];
  const proc = spawn(process.execPath, [...profile, runner, 'serve', '--port', String(port), ...common], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitReady('ampule', proc, async () => out.includes('listening on'));
  const caFile = join(home, 'ampule-ca.pem');
  cli('ca', 'export', '--out', caFile);
  return {
    name,
    url: `https://localhost:${port}/workspaces/${ws.workspaceId}/api/v1/remote_write`,
    ca: readFileSync(caFile),
    headers: { Authorization: `Bearer ${token}` },
    proc,
  };
}

function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'peer-cert.pem');
  const key = join(dir, 'peer-key.pem');
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
  return { cert, key };
}

async function startPrometheus(dir: string, tls: { cert: string; key: string }): Promise<Target> {
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
  writeFileSync(join(dir, 'web.yml'), `tls_server_config:\n  cert_file: ${tls.cert}\n  key_file: ${tls.key}\n`);
  const proc = spawn('prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'prometheus')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', `--web.config.file=${join(dir, 'web.yml')}`,
    '--log.level=error',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  const ca = readFileSync(tls.cert);
  await waitReady('prometheus', proc, () => get(`https://127.0.0.1:${port}/-/ready`, ca));
  return { name: 'Prometheus 2.42', url: `https://127.0.0.1:${port}/api/v1/write`, ca, headers: {}, proc };
}

async function startVictoriaMetrics(dir: string, tls: { cert: string; key: string }): Promise<Target> {
  const port = await freePort();
  const proc = spawn('victoria-metrics', [
    `-storageDataPath=${join(dir, 'victoria')}`, `-httpListenAddr=127.0.0.1:${port}`, '-tls',
    `-tlsCertFile=${tls.cert}`, `-tlsKeyFile=${tls.key}`, '-loggerLevel=ERROR',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  const ca = readFileSync(tls.cert);
  await waitReady('victoria-metrics', proc, () => get(`https://127.0.0.1:${port}/health`, ca));
  return { name: 'VictoriaMetrics', url: `https://127.0.0.1:${port}/api/v1/write`, ca, headers: {}, proc };
}

interface Result {
  name: string;
  rate: number;
  cpu: number;
  rssPerSeries: number;
  failed: number;
}

/** One size: fresh servers, the same bodies to each, one line per target and the ratios. */
async function measure(dir: string, tls: { cert: string; key: string }, procs: ChildProcess[]): Promise<Result[]> {
  console.log(`\n${SERIES} series × ${ROUNDS} rounds = ${ROUNDS * SERIES} samples, ${PER_REQUEST} per request, ${CONNECTIONS} connections (sharded: ${SHARDING}), values ${VALUES}`);
  let t = Date.now();
  const t0 = Date.now() - ROUNDS * STEP_MS;
  const plan = requestPlan();
  const bodies = buildBodies(t0, plan);
  const bodiesV2 = TARGETS.has('ampule-2.0') ? buildBodiesV2(t0, plan) : [];
  const flat = bodies.flat();
  const bytes = flat.reduce((n, b) => n + b.length, 0);
  console.log(`bodies: ${flat.length} requests, ${(bytes / flat.length / 1024).toFixed(1)} KiB each compressed (built in ${((Date.now() - t) / 1000).toFixed(1)} s)`);

  if (TARGETS.has('decode')) {
    await decodeBenchmark(flat.slice(0, Math.min(flat.length, 200)), V1_TYPE, 'remote write 1.0');
    const v2: Buffer[] = [];
    for (let start = 0; start < Math.min(SERIES, 100 * PER_REQUEST); start += PER_REQUEST) {
      const series: SeriesInput[] = [];
      for (let i = start; i < Math.min(SERIES, start + PER_REQUEST); i++) series.push({ labels: seriesLabels(i), samples: [{ t, v: i }] });
      v2.push(snappy(encodeV2(series)));
    }
    await decodeBenchmark(v2, V2_TYPE, 'remote write 2.0');
  }

  const runs = new Map<string, Result[]>();
  for (let rep = 0; rep < REPEAT; rep++) {
    // Every run starts each server empty, in its own folder; with --repeat the targets take turns.
    const runDir = mkdtempSync(join(dir, `${SERIES}-run${rep}-`));
    const starters: [string, () => Promise<Target>][] = [
      ['ampule', () => startAmpule(runDir, ROOT, 'Ampule')],
      ['ampule-2.0', async () => ({ ...(await startAmpule(runDir, ROOT, 'Ampule (2.0)')), v2: true })],
      ...(BASELINE ? ([['ampule', () => startAmpule(runDir, resolve(BASELINE), 'Ampule (baseline)')]] as [string, () => Promise<Target>][]) : []),
      ['prometheus', () => startPrometheus(runDir, tls)],
      ['victoria-metrics', () => startVictoriaMetrics(runDir, tls)],
    ];
    if (TARGETS.has('thread')) {
      for (const [root, name] of [[ROOT, 'Ampule, ingest thread alone'], ...(BASELINE ? [[resolve(BASELINE), 'Ampule (baseline), ingest thread alone']] : [])] as [string, string][]) {
        const r = await runThread(root, bodies, runDir);
        console.log(`${name}${REPEAT > 1 ? ` (run ${rep + 1})` : ''}: ${fmt(r.rate)} samples/s in-process (no HTTP, TLS or client), CPU ${r.cpu.toFixed(1)} s = ${((r.cpu * 1e6) / (ROUNDS * SERIES)).toFixed(2)} CPU s per million samples`);
        if (!runs.has(name)) runs.set(name, []);
        runs.get(name)!.push({ name, ...r });
      }
    }
    for (const [kind, start] of starters) {
      if (!TARGETS.has(kind)) continue;
      let target: Target;
      try {
        target = await start();
      } catch (e) {
        console.log(`  skipped ${kind}: ${(e as Error).message}`);
        continue;
      }
      procs.push(target.proc);
      const r = await run(target, target.v2 ? bodiesV2 : bodies);
      console.log(
        `${target.name}${REPEAT > 1 ? ` (run ${rep + 1})` : ''}: ${fmt(r.rate)} samples/s over TLS, server CPU ${r.cpu.toFixed(1)} s = ${((r.cpu * 1e6) / (ROUNDS * SERIES)).toFixed(2)} CPU s per million samples, ` +
          `resident memory +${r.rssPerSeries.toFixed(0)} bytes per active series; the sending client's CPU ${r.clientCpu.toFixed(1)} s`,
      );
      if (!runs.has(target.name)) runs.set(target.name, []);
      runs.get(target.name)!.push({ name: target.name, ...r });
      await stop(target.proc);
    }
  }
  // Medians over the runs (each figure on its own).
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const results: Result[] = [...runs].map(([name, rs]) => ({
    name,
    rate: mid(rs.map((r) => r.rate)),
    cpu: mid(rs.map((r) => r.cpu)),
    rssPerSeries: mid(rs.map((r) => r.rssPerSeries)),
    failed: rs.reduce((n, r) => n + r.failed, 0),
  }));
  if (REPEAT > 1) console.log(`medians of ${REPEAT} runs:`);
  const vm = results.find((r) => r.name === 'VictoriaMetrics');
  const prom = results.find((r) => r.name.startsWith('Prometheus'));
  for (const r of results.filter((x) => x.name.startsWith('Ampule'))) {
    for (const peer of [vm, prom]) {
      if (!peer) continue;
      console.log(
        `${r.name} / ${peer.name}: ${(r.rate / peer.rate).toFixed(2)}× samples/s (${r.name.endsWith('thread alone') ? 'a bound, not the target: no HTTP, TLS or client' : 'target ≥ 1.0× VictoriaMetrics'}), ` +
          `${(r.cpu / peer.cpu).toFixed(2)}× CPU per sample` + (Number.isNaN(r.rssPerSeries) ? '' : `, ${(r.rssPerSeries / peer.rssPerSeries).toFixed(2)}× memory per series`),
      );
    }
  }
  return results;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ampule-bench-ingest-'));
  const procs: ChildProcess[] = [];
  try {
    const tls = selfSignedCert(dir);
    const summary: string[] = [];
    for (const size of SIZES) {
      SERIES = size;
      ROUNDS = Math.max(1, Math.ceil(SAMPLES / SERIES));
      const results = await measure(dir, tls, procs);
      const vm = results.find((r) => r.name === 'VictoriaMetrics');
      for (const r of results) {
        summary.push([`${SERIES}`, r.name, fmt(r.rate), ((r.cpu * 1e6) / (ROUNDS * SERIES)).toFixed(2), vm ? `${(r.rate / vm.rate).toFixed(2)}×` : '-', vm ? `${(r.cpu / vm.cpu).toFixed(2)}×` : '-', r.failed ? `${r.failed} failed` : ''].join(' | '));
      }
    }
    console.log('\nseries | server | samples/s | CPU s per M samples | samples/s vs VM | CPU vs VM |');
    for (const line of summary) console.log(line);
  } finally {
    await Promise.all(procs.map(stop));
    rmSync(dir, { recursive: true, force: true });
    for (const b of bundles) rmSync(b, { recursive: true, force: true });
  }
}

await main();
