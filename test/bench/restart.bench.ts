// Restart benchmark (`npm run bench:restart`). Not a test: it prints figures.
//
// The same series (node-exporter-like labels, a sample every 15 s over --hours of head) go by
// remote write 1.0 to a real `node bin/ampule.mjs serve` and to Debian's Prometheus
// (--web.enable-remote-write-receiver), then VictoriaMetrics if present. Printed for each: resident
// memory per active series once loaded (growth over the idle server; right after the load, and again
// after --settle seconds idle, once each has collected its garbage), and the restart time after
// kill -9 (both replay their log: Prometheus its WAL, Ampule the head checkpoint and the log since)
// measured from spawn to the first answer of an instant query; for Ampule also right after a
// checkpoint. Ampule's first kill -9 follows the --settle idle, in which the store's 10 s check
// writes a checkpoint (the store has gone quiet with 100,000 samples of log or more; at 1 M series
// it had not finished in 30 s, and the whole log was replayed); its last one
// comes right after writing the most log past a checkpoint that a busy store keeps (BUSY_ROUNDS).
//
// Flags: --series N (default 10000; the figure is 1000000), --hours H (default 2),
// --per-request N (default 2000), --connections N (default 4), --settle S (default 30), --skip-peers,
// --no-victoria-metrics (Prometheus only: at 1 M series each load takes a quarter of an hour or more),
// --no-head-memory (the in-process head measure: ~4.5 min at 1 M series).
// Needs `npm run build` (dist/cli.mjs).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAppliance } from '../../main/core/open-appliance';
import { Head } from '../../main/tsdb/head';
import { snappy, V1_TYPE, ProtoWriter } from '../main/ingest/encode';
import { freePort } from '../local-peers';
import { keyFileDir, ROOT } from '../reliability/harness';
import { flag, numberArg } from './args';

const SERIES = numberArg('series', 10_000);
const HOURS = numberArg('hours', 2);
const PER_REQUEST = numberArg('per-request', 2000);
/** Connections a round's requests are spread over (load() keeps them in step). */
const CONNECTIONS = numberArg('connections', 4);
/** Seconds each server idles after its load before its memory is read again. */
const SETTLE_S = numberArg('settle', 30);
const STEP_MS = 15_000;
const ROUNDS = Math.round((HOURS * 3600_000) / STEP_MS);
/** Rounds sent past Ampule's checkpoint before the busy kill: just under a quarter of the head, the most log a busy store holds past its checkpoint. */
const BUSY_ROUNDS = Math.floor(ROUNDS * 0.24);
const METRICS = ['node_cpu_seconds_total', 'node_network_receive_bytes_total', 'node_disk_read_bytes_total', 'node_filesystem_avail_bytes', 'node_memory_MemAvailable_bytes', 'node_load1', 'http_requests_total', 'go_goroutines', 'up', 'node_time_seconds'];
const MODES = ['idle', 'user', 'system', 'iowait', 'steal'];

interface Sink {
  readonly name: string;
  post(body: Buffer): Promise<number>;
  /** Resolves once an instant query is answered (the store is open and replayed). */
  query(): Promise<boolean>;
}

function labelBytes(i: number): Buffer {
  const inst = Math.floor(i / 50);
  const w = new ProtoWriter();
  const labels: [string, string][] = [
    ['__name__', METRICS[i % METRICS.length]!],
    ['instance', `10.1.${inst >> 8}.${inst & 255}:9100`],
    ['job', 'node'],
    ['mode', MODES[Math.floor(i / METRICS.length) % MODES.length]!],
    ['region', 'eu-west-1'],
  ];
  for (const [name, value] of labels) w.message(1, (l) => l.string(1, name).string(2, value));
  return w.finish();
}

/**
 * One request's series as remote write 1.0 encodes them, built once: each round only writes its
 * values and timestamp into place (at 1 M series, building every body anew held the client at a
 * core while the server idled).
 */
class BlockTemplate {
  private readonly body: Buffer;
  /** Where each series' double value and timestamp varint start. */
  private readonly valueAt: Uint32Array;
  private readonly timeAt: Uint32Array;
  private readonly timeLength: number;

  constructor(
    labels: readonly Buffer[],
    private readonly first: number,
    t0: number,
  ) {
    const sample = new ProtoWriter().double(1, 0).tag(2, 0).varint(t0).finish();
    this.timeLength = sample.length - 10;
    const w = new ProtoWriter();
    this.valueAt = new Uint32Array(labels.length);
    this.timeAt = new Uint32Array(labels.length);
    labels.forEach((l, k) => {
      w.tag(1, 2).varint(l.length + 2 + sample.length).raw(l).tag(2, 2).varint(sample.length);
      this.valueAt[k] = w.length + 1;
      this.timeAt[k] = w.length + 10;
      w.raw(sample);
    });
    this.body = w.finish();
  }

  /** The compressed body of one round: series first + k has value `value(first + k)` at time t (a varint as long as t0's). */
  round(t: number, value: (i: number) => number): Buffer {
    const time = new ProtoWriter().varint(t).finish();
    if (time.length !== this.timeLength) throw new Error(`timestamp ${t} does not fit the template's ${this.timeLength}-byte varint`);
    for (let k = 0; k < this.valueAt.length; k++) {
      this.body.writeDoubleLE(value(this.first + k), this.valueAt[k]!);
      time.copy(this.body, this.timeAt[k]!);
    }
    return snappy(this.body);
  }
}

/**
 * Sends `rounds` rounds (oldest first) of every series from t0, a round's requests spread over the
 * connections and every connection done with a round before any starts the next: no sender runs
 * ahead of another (Prometheus refuses samples an hour older than its newest as out of bounds).
 */
async function load(sink: Sink, t0: number, rounds = ROUNDS): Promise<number> {
  const blocks = Math.ceil(SERIES / PER_REQUEST);
  const templates = Array.from({ length: blocks }, (_, b) => {
    const first = b * PER_REQUEST;
    const labels = Array.from({ length: Math.min(SERIES, first + PER_REQUEST) - first }, (_, k) => labelBytes(first + k));
    return new BlockTemplate(labels, first, t0);
  });
  const started = performance.now();
  let retries = 0;
  for (let round = 0; round < rounds; round++) {
    const t = t0 + round * STEP_MS;
    const value = (i: number) => (i % 3 === 0 ? round * 17 + i : i % 3 === 1 ? (round % 40) * 0.25 : 1);
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async (_, shard) => {
        for (let b = shard; b < blocks; b += CONNECTIONS) {
          const body = templates[b]!.round(t, value);
          for (;;) {
            const status = await sink.post(body);
            if (status >= 200 && status < 300) break;
            if (status !== 429 && status < 500) throw new Error(`${sink.name}: remote write answered ${status}`);
            retries++;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      }),
    );
  }
  if (retries) console.log(`  ${sink.name}: ${retries} requests retried (429/5xx)`);
  return (performance.now() - started) / 1000;
}

function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}

/** Resident memory per series over `idle`: right after the load, and once the server idled SETTLE_S seconds. */
async function memoryPerSeries(name: string, pid: number, idle: number, secs: number): Promise<{ loaded: number; settled: number }> {
  const loaded = rssBytes(pid);
  await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
  const settled = rssBytes(pid);
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  console.log(`${name}: loaded ${SERIES * ROUNDS} samples in ${secs.toFixed(1)} s; RSS ${mib(idle)} → ${mib(loaded)} MiB, ${mib(settled)} MiB after ${SETTLE_S} s idle`);
  return { loaded: (loaded - idle) / SERIES, settled: (settled - idle) / SERIES };
}

function send(url: URL, opts: { method: string; headers?: Record<string, string>; ca?: string; agent?: Agent }, body?: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: opts.method, headers: opts.headers, ...(opts.ca ? { ca: opts.ca } : {}), ...(opts.agent ? { agent: opts.agent } : {}) }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const RW_HEADERS = { 'Content-Type': V1_TYPE, 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' };
const QUERY = 'count(node_load1)';

async function waitFor(what: string, proc: ChildProcess, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${what} not answering after 600 s`);
}

function killed(proc: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return new Promise((res) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return res();
    proc.once('exit', () => res());
    proc.kill(signal);
  });
}

interface Result {
  readonly name: string;
  readonly bytesPerSeries: number;
  readonly settledBytesPerSeries: number;
  readonly restartMs: number;
  readonly restartAfterCheckpointMs?: number;
  /** Ampule: after kill -9 right after writing the most log past a checkpoint a busy store holds. */
  readonly restartBusyMs?: number;
}

/** `node bin/ampule.mjs serve`, resolved with its port once it listens (no time limit: replay may be long). */
function serveProcess(argv: string[]): Promise<{ process: ChildProcess; port: number }> {
  const p = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  return new Promise((resolve, reject) => {
    p.stdout!.on('data', (c: Buffer) => {
      out += c;
      const m = /listening on https:\/\/localhost:(\d+)/.exec(out);
      if (m) resolve({ process: p, port: Number(m[1]) });
    });
    p.on('exit', (code) => reject(new Error(`ampule serve exited (${code}) before listening`)));
  });
}

async function ampule(made: { dataDir: string; keyFile: string }): Promise<Result> {
  const setup = await openAppliance({ dataDir: made.dataDir, masterKeyFile: made.keyFile });
  const ws = setup.control.createWorkspace({ alias: 'restart' }).workspaceId;
  const token = setup.control.createToken(ws, { scopes: ['remote_write', 'query'] }).token;
  setup.control.setLimits(ws, { ingestionRate: 1e9, ingestionBurst: 1e9, activeSeries: Math.max(SERIES * 2, 1e6) });
  setup.close();
  const bin = join(ROOT, 'bin', 'ampule.mjs');
  const argv = [bin, 'serve', '--data-dir', made.dataDir, '--master-key-file', made.keyFile, '--port', '0'];
  let ca = '';
  // The load starts BUSY_ROUNDS earlier, so that the rounds of the busy kill are not in the future.
  const t0 = Date.now() - (ROUNDS + BUSY_ROUNDS) * STEP_MS;
  const start = async () => {
    const started = performance.now();
    const serve = await serveProcess(argv);
    ca ||= readFileSync(join(made.dataDir, 'tls', 'ca.crt'), 'utf8');
    const base = `https://localhost:${serve.port}/workspaces/${ws}`;
    const auth = { Authorization: `Bearer ${token}` };
    const query = async () => (await send(new URL(`${base}/api/v1/query?query=${encodeURIComponent(QUERY)}`), { method: 'GET', headers: auth, ca })).status === 200;
    return { serve, base, auth, query, started };
  };
  let s = await start();
  let agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS, ca });
  const sink: Sink = {
    name: 'Ampule',
    post: async (body) => (await send(new URL(`${s.base}/api/v1/remote_write`), { method: 'POST', headers: { ...RW_HEADERS, ...s.auth }, ca, agent }, body)).status,
    query: () => s.query(),
  };
  await waitFor('ampule', s.serve.process, sink.query);
  const idle = rssBytes(s.serve.process.pid!);
  const secs = await load(sink, t0);
  agent.destroy();
  const memory = await memoryPerSeries('Ampule', s.serve.process.pid!, idle, secs);
  await killed(s.serve.process);
  s = await start();
  await waitFor('ampule', s.serve.process, s.query);
  const restartMs = performance.now() - s.started;
  // The maintenance writes a checkpoint (the replayed log is due for one); then kill -9 again.
  await killed(s.serve.process);
  const app = await openAppliance({ dataDir: made.dataDir, masterKeyFile: made.keyFile, maintenanceIntervalMs: 100 });
  app.store(ws).querier();
  await new Promise((r) => setTimeout(r, 1000));
  app.close();
  s = await start();
  await waitFor('ampule', s.serve.process, s.query);
  const restartAfterCheckpointMs = performance.now() - s.started;
  // kill -9 while busy: right after writing a quarter of the head less 1 % more (the next
  // checkpoint falls due at a quarter of the head the restart adopted).
  agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS, ca });
  await load(sink, t0 + ROUNDS * STEP_MS, BUSY_ROUNDS);
  agent.destroy();
  await killed(s.serve.process);
  s = await start();
  await waitFor('ampule', s.serve.process, s.query);
  const restartBusyMs = performance.now() - s.started;
  await killed(s.serve.process, 'SIGTERM');
  return { name: 'Ampule', bytesPerSeries: memory.loaded, settledBytesPerSeries: memory.settled, restartMs, restartAfterCheckpointMs, restartBusyMs };
}

async function peer(dir: string, name: string, spawnPeer: (port: number) => ChildProcess, paths: { write: string; query: string; ready: string }): Promise<Result> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let started = performance.now();
  let proc = spawnPeer(port);
  const query = async () => (await send(new URL(`${base}${paths.query}?query=${encodeURIComponent(QUERY)}`), { method: 'GET' })).status === 200;
  await waitFor(name, proc, async () => (await send(new URL(`${base}${paths.ready}`), { method: 'GET' })).status === 200);
  const idle = rssBytes(proc.pid!);
  const sink: Sink = { name, post: async (body) => (await send(new URL(`${base}${paths.write}`), { method: 'POST', headers: RW_HEADERS }, body)).status, query };
  const secs = await load(sink, Date.now() - ROUNDS * STEP_MS);
  const memory = await memoryPerSeries(name, proc.pid!, idle, secs);
  await killed(proc);
  started = performance.now();
  proc = spawnPeer(port);
  await waitFor(name, proc, async () => (await send(new URL(`${base}${paths.ready}`), { method: 'GET' })).status === 200 && (await query()));
  const restartMs = performance.now() - started;
  await killed(proc, 'SIGTERM');
  return { name, bytesPerSeries: memory.loaded, settledBytesPerSeries: memory.settled, restartMs };
}

/** The head alone, in this process: heap and array-buffer bytes per series for --series × --hours of samples. */
function headMemory(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return console.log('head in-process: skipped (run with node --expose-gc, as npm run bench:restart does)');
  // Several collections: dead array buffers' memory is given back a little after the collection that found them.
  const used = () => {
    for (let i = 0; i < 4; i++) gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const before = used();
  const head = new Head();
  const t0 = Date.now() - ROUNDS * STEP_MS;
  for (let i = 0; i < SERIES; i++) {
    const inst = Math.floor(i / 50);
    // Fresh strings, as decoded from requests: the head interns them.
    head.add(i + 1, [
      { name: '__name__'.slice(0), value: METRICS[i % METRICS.length]!.slice(0) },
      { name: ['inst', 'ance'].join(''), value: `10.1.${inst >> 8}.${inst & 255}:9100` },
      { name: ['j', 'ob'].join(''), value: ['no', 'de'].join('') },
      { name: ['mo', 'de'].join(''), value: MODES[Math.floor(i / METRICS.length) % MODES.length]!.slice(0) },
      { name: ['reg', 'ion'].join(''), value: ['eu-west', '-1'].join('') },
    ]);
  }
  const labelsOnly = used();
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < SERIES; i++) head.get(i + 1)!.push(t0 + round * STEP_MS, i % 3 === 0 ? round * 17 + i : i % 3 === 1 ? (round % 40) * 0.25 : 1);
  }
  const full = used();
  console.log(
    `head in-process: ${((full - before) / SERIES).toFixed(0)} bytes per series with ${ROUNDS} samples ` +
      `(${((labelsOnly - before) / SERIES).toFixed(0)} series, labels and postings; ${((full - labelsOnly) / SERIES / ROUNDS).toFixed(2)} bytes per sample)`,
  );
  if (head.size !== SERIES) throw new Error('head lost series');
}

/** Printed as soon as a server is measured: at 1 M series a run takes over an hour, and a cut one still tells. */
function report(r: Result): void {
  const cp =
    r.restartAfterCheckpointMs === undefined
      ? ''
      : `, ${(r.restartAfterCheckpointMs / 1000).toFixed(2)} s after a head checkpoint, ${(r.restartBusyMs! / 1000).toFixed(2)} s killed while busy (${BUSY_ROUNDS} rounds of log past the checkpoint)`;
  const kib = (b: number) => `${(b / 1024).toFixed(2)} KiB`;
  console.log(`${r.name}: restart after kill -9 ${(r.restartMs / 1000).toFixed(2)} s${cp}; resident memory per active series +${kib(r.bytesPerSeries)} right after the load, +${kib(r.settledBytesPerSeries)} after ${SETTLE_S} s idle`);
}

async function main(): Promise<void> {
  if (flag('no-head-memory')) console.log('head in-process: skipped (--no-head-memory)');
  else headMemory();
  if (!existsSync(join(ROOT, 'dist', 'cli.mjs'))) throw new Error('dist/cli.mjs is missing: run `npm run build` first');
  const dir = mkdtempSync(join(tmpdir(), 'ampule-bench-restart-'));
  console.log(`restart benchmark: ${SERIES} series × ${ROUNDS} samples (${HOURS} h at 15 s) by remote write, ${PER_REQUEST} series per request, ${CONNECTIONS} connections`);
  const results: Result[] = [];
  const measured = (r: Result) => {
    report(r);
    results.push(r);
  };
  const made = keyFileDir('ampule-bench-restart-');
  try {
    measured(await ampule(made));
    if (!flag('skip-peers')) {
      writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
      if (existsSync('/usr/bin/prometheus')) {
        measured(await peer(dir, 'Prometheus', (port) => spawn('/usr/bin/prometheus', [
          `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'prometheus')}`,
          `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--log.level=error',
        ], { stdio: ['ignore', 'ignore', 'inherit'] }), { write: '/api/v1/write', query: '/api/v1/query', ready: '/-/ready' }));
      } else console.log('skipped Prometheus: /usr/bin/prometheus is missing (apt-get install prometheus)');
      if (flag('no-victoria-metrics')) console.log('skipped VictoriaMetrics: --no-victoria-metrics');
      else if (existsSync('/usr/bin/victoria-metrics')) {
        measured(await peer(dir, 'VictoriaMetrics', (port) => spawn('/usr/bin/victoria-metrics', [
          `-storageDataPath=${join(dir, 'victoria')}`, `-httpListenAddr=127.0.0.1:${port}`, '-loggerLevel=ERROR', '-search.disableCache',
        ], { stdio: ['ignore', 'ignore', 'inherit'] }), { write: '/api/v1/write', query: '/api/v1/query', ready: '/health' }));
      } else console.log('skipped VictoriaMetrics: /usr/bin/victoria-metrics is missing');
    }
    const a = results[0]!;
    for (const p of results.slice(1)) {
      const cp = a.restartAfterCheckpointMs === undefined ? '' : ` (${(a.restartAfterCheckpointMs / p.restartMs).toFixed(2)}× after a checkpoint, ${(a.restartBusyMs! / p.restartMs).toFixed(2)}× killed while busy)`;
      console.log(`Ampule / ${p.name}: restart ${(a.restartMs / p.restartMs).toFixed(2)}×${cp}, memory per series ${(a.bytesPerSeries / p.bytesPerSeries).toFixed(2)}× right after the load, ${(a.settledBytesPerSeries / p.settledBytesPerSeries).toFixed(2)}× after ${SETTLE_S} s idle`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(made.dir, { recursive: true, force: true });
  }
}

await main();
