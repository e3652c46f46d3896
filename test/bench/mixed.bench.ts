// Mixed-load benchmark (`npm run bench:mixed`). Not a test: it prints figures.
//
// Does a heavy query stall ingestion? One `ampule serve` (bin/ampule.mjs, over TLS, with tokens) gets
// a steady remote write of 10,000 series, one sample each per second (as Prometheus sends a 1 s
// scrape: 5 requests of 2,000 series at once), first alone and then while clients loop the
// issue's heavy query — `sum by (job)(rate({__name__=~".+",job=~"job-.*"}[5m]))` over the last
// 15 minutes at a 1 s step. Printed: remote-write latency p50/p99 in both phases and the ratio of
// the p99s (target ≤ 2×), plus how many queries completed. `--read series` loops the broadest
// series listing instead, `/api/v1/series?match[]={__name__=~".+"}` over the same 15 minutes (what
// Grafana's variable and metric pickers ask for).
//
//   node --import tsx test/bench/mixed.bench.ts [--series 10000] [--seconds 120] [--blocks 4] [--query-clients 1] [--history-minutes 20] [--read query|series]
//   Phases of 120 s: a p99 of 600 requests is the 7th slowest, not the 2nd of 150 (30 s phases made
//   the ratio swing 1.7–2.8× with the one checkpoint or collection that fell in a phase). Each
//   phase in 4 blocks of 30 s taking turns with the other's: before the blocks, with the phases one
//   after the other, the ratio was 1.06–2.37× in three runs of one build, the machine's slow spells
//   falling on either.
//   BENCH_PROFILE_DIR=DIR: CPU profiles of ampule serve's threads.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { encodeV1, snappy, V1_TYPE, type SeriesInput } from '../main/ingest/encode';
import { numberArg, stringArg } from './args';

const SERIES = numberArg('series', 10_000);
const SECONDS = numberArg('seconds', 120);
const QUERY_CLIENTS = numberArg('query-clients', 1);
const HISTORY_MINUTES = numberArg('history-minutes', 20);
/** Blocks each phase is cut into, the two taking turns. */
const BLOCKS = numberArg('blocks', 4);
const PER_REQUEST = 2000;
const JOBS = 20;
const ROOT = resolve(import.meta.dirname, '../..');
const HEAVY = 'sum by (job)(rate({__name__=~".+",job=~"job-.*"}[5m]))';
const READ = stringArg('read') ?? 'query';
if (READ !== 'query' && READ !== 'series') throw new Error(`--read takes query or series, got '${READ}'`);
/** The looped read over the 15 minutes before `end` (s). */
const readPath = (end: number): string =>
  READ === 'series'
    ? `series?${new URLSearchParams({ 'match[]': '{__name__=~".+"}', start: String(end - 900), end: String(end) })}`
    : `query_range?${new URLSearchParams({ query: HEAVY, start: String(end - 900), end: String(end), step: '1' })}`;
const READ_NAME = READ === 'series' ? 'series listings ({__name__=~".+"} over 900 s)' : `heavy queries (${HEAVY} over 900 s at 1 s)`;

const labels = Array.from({ length: SERIES }, (_, i) => [
  ['__name__', `bench_metric_${i % 10}`],
  ['instance', `host-${Math.floor(i / 10)}`],
  ['job', `job-${i % JOBS}`],
] as [string, string][]);

/** The requests of one scrape at time t: SERIES / PER_REQUEST bodies. */
function scrape(t: number, round: number): Buffer[] {
  const out: Buffer[] = [];
  for (let from = 0; from < SERIES; from += PER_REQUEST) {
    const input: SeriesInput[] = [];
    for (let i = from; i < Math.min(SERIES, from + PER_REQUEST); i++) input.push({ labels: labels[i]!, samples: [{ t, v: round * (1 + (i % 7)) }] });
    out.push(snappy(encodeV1(input)));
  }
  return out;
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

interface Server {
  proc: ChildProcess;
  base: string;
  ca: Buffer;
  write: string;
  query: string;
  ws: string;
}

async function startAmpule(dir: string): Promise<Server> {
  const bin = join(ROOT, 'bin/ampule.mjs');
  if (!existsSync(join(ROOT, 'dist/cli.mjs'))) throw new Error('dist/cli.mjs is missing: run `npm run build` first');
  const keyFile = join(dir, 'master.key');
  writeFileSync(keyFile, randomBytes(32));
  chmodSync(keyFile, 0o600);
  const common = ['--data-dir', join(dir, 'data'), '--master-key-file', keyFile];
  const cli = (...args: string[]): string => {
    const r = spawnSync(process.execPath, [bin, ...args, ...common], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ampule ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const ws = (JSON.parse(cli('workspace', 'create', '--alias', 'mixed', '--json')) as { workspaceId: string }).workspaceId;
  const token = (scope: string) => (JSON.parse(cli('token', 'create', '--workspace', ws, '--scope', scope, '--json')) as { token: string }).token;
  const write = token('remote_write');
  const query = token('query');
  const port = await freePort();
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const proc = spawn(process.execPath, [...profile, bin, 'serve', '--port', String(port), ...common], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!out.includes('listening on')) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error('ampule serve did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const caFile = join(dir, 'ca.pem');
  cli('ca', 'export', '--out', caFile);
  return { proc, base: `https://localhost:${port}/workspaces/${ws}`, ca: readFileSync(caFile), write, query, ws };
}

function call(agent: Agent, url: string, token: string, method: string, body: Buffer | null, headers: Record<string, string> = {}): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((res, rej) => {
    const req = request(url, { agent, method, headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Length': String(body.length) } : {}), ...headers } }, (r) => {
      r.resume();
      r.on('end', () => res({ status: r.statusCode ?? 0, ms: performance.now() - started }));
    });
    req.on('error', rej);
    req.end(body ?? undefined);
  });
}

/** As Grafana's Go client asks: the answer comes compressed (by the query thread). */
const ACCEPT_GZIP = { 'Accept-Encoding': 'gzip' };
const RW_HEADERS = { 'Content-Type': V1_TYPE, 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' };

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/**
 * Sends one scrape per second for `seconds`; returns every request's latency in ms. The scrapes
 * are encoded before the phase starts (their samples a second apart from then on): encoding 10,000
 * series in JS takes this process tens of milliseconds a second on the same two cores, and its
 * garbage collections would delay the very responses it times.
 */
async function steadyWrite(s: Server, agent: Agent, seconds: number, round0: number): Promise<{ latencies: number[]; failed: number }> {
  const latencies: number[] = [];
  let failed = 0;
  const t0 = Date.now();
  const scrapes = Array.from({ length: seconds }, (_, k) => scrape(t0 + k * 1000, round0 + k));
  const start = performance.now();
  for (let k = 0; k < seconds; k++) {
    const due = start + k * 1000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const bodies = scrapes[k]!;
    const results = await Promise.all(bodies.map((b) => call(agent, `${s.base}/api/v1/remote_write`, s.write, 'POST', b, RW_HEADERS)));
    for (const r of results) {
      latencies.push(r.ms);
      if (r.status !== 204) failed++;
    }
  }
  return { latencies: latencies.sort((a, b) => a - b), failed };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ampule-mixed-'));
  let server: Server | null = null;
  try {
    server = await startAmpule(dir);
    const s = server;
    const agent = new Agent({ keepAlive: true, maxSockets: 16, ca: s.ca });
    // History for the queries' 5 m windows: HISTORY_MINUTES at 15 s, as fast as it goes.
    const now = Date.now();
    const steps = (HISTORY_MINUTES * 60_000) / 15_000;
    for (let k = 0; k < steps; k++) {
      for (const b of scrape(now - (steps - k) * 15_000, k)) {
        const r = await call(agent, `${s.base}/api/v1/remote_write`, s.write, 'POST', b, RW_HEADERS);
        if (r.status !== 204) throw new Error(`history load: ${r.status}`);
      }
    }
    // The history makes a head checkpoint due (the store checks every 10 s): let it be written
    // before the phases. In them one falls due each time the log reaches a quarter of the head
    // (here every ~20 s of the 10,000 samples/s; at a 15 s scrape interval, every ~30 min).
    await new Promise((r) => setTimeout(r, 12_000));
    console.log(`mixed: ${SERIES} series, ${HISTORY_MINUTES} min of history loaded and checkpointed; steady write of ${SERIES} samples/s in ${Math.ceil(SERIES / PER_REQUEST)} requests for ${SECONDS} s per phase, in ${BLOCKS} blocks taking turns`);

    // The phases take turns in BLOCKS blocks each (alone, with, alone, with, …), so a slow spell
    // of this shared machine, a checkpoint or a collection falls on both rather than on one.
    const alone = { latencies: [] as number[], failed: 0 };
    const mixed = { latencies: [] as number[], failed: 0 };
    const queryTimes: number[] = [];
    let queryFailed = 0;
    const blockSeconds = Math.max(1, Math.round(SECONDS / BLOCKS));
    let round = steps;
    const add = (to: typeof alone, from: typeof alone) => {
      to.latencies.push(...from.latencies);
      to.failed += from.failed;
    };
    for (let b = 0; b < BLOCKS; b++) {
      add(alone, await steadyWrite(s, agent, blockSeconds, round));
      round += blockSeconds;
      let stop = false;
      const loops = Array.from({ length: QUERY_CLIENTS }, async () => {
        const qAgent = new Agent({ keepAlive: true, maxSockets: 1, ca: s.ca });
        while (!stop) {
          const r = await call(qAgent, `${s.base}/api/v1/${readPath(Math.floor(Date.now() / 1000))}`, s.query, 'GET', null, ACCEPT_GZIP);
          if (r.status === 200) queryTimes.push(r.ms);
          else queryFailed++;
        }
        qAgent.destroy();
      });
      add(mixed, await steadyWrite(s, agent, blockSeconds, round));
      round += blockSeconds;
      stop = true;
      await Promise.all(loops); // the last query ends before the next block alone starts
    }
    agent.destroy();
    alone.latencies.sort((a, b) => a - b);
    mixed.latencies.sort((a, b) => a - b);

    const p99a = percentile(alone.latencies, 0.99);
    const p99m = percentile(mixed.latencies, 0.99);
    const f = (n: number) => `${n.toFixed(1)} ms`;
    console.log(`remote write alone:        p50 ${f(percentile(alone.latencies, 0.5))}, p99 ${f(p99a)} (${alone.latencies.length} requests, ${alone.failed} not 204)`);
    console.log(`remote write with ${READ === 'series' ? 'listings' : 'queries'}: p50 ${f(percentile(mixed.latencies, 0.5))}, p99 ${f(p99m)} (${mixed.latencies.length} requests, ${mixed.failed} not 204)`);
    queryTimes.sort((a, b) => a - b);
    console.log(`${READ_NAME}, ${QUERY_CLIENTS} client(s) looping: ${queryTimes.length} done, median ${f(percentile(queryTimes, 0.5))}, ${queryFailed} failed`);
    console.log(`ratio p99 with / without them: ${(p99m / p99a).toFixed(2)}× (target ≤ 2×)`);
  } finally {
    if (server) {
      const proc = server.proc;
      await new Promise<void>((r) => {
        if (proc.exitCode !== null) return r();
        proc.once('exit', () => r());
        proc.kill('SIGTERM');
      });
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
