// Store benchmark: a realistic scrape-shaped dataset (node-exporter-like and application series,
// counters and gauges) appended through the Appender, compacted, read back; the same run stores
// it without encryption (keys: null) and, as the peer, feeds it to Prometheus's own block writer
// (promtool tsdb create-blocks-from openmetrics) to compare bytes per sample.
//
//   node --import tsx test/bench/tsdb.bench.ts [--series 10000] [--hours 24] [--repeat 1] [--no-prometheus]
//        [--hist-series 1000] [--hist-hours 24] [--no-histograms] [--only-histograms]
// Each store is measured in its own child process (--child plain|encrypted). The native-histogram
// dataset and its Prometheus peer follow (./tsdb-histograms).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openTsdb, type Tsdb } from '../../main/tsdb/index';
import type { Matcher } from '../../main/tsdb/types';
import { labelsFromRecord, type Labels } from '../../shared/labels';
import { TestKeys } from '../main/tsdb/helpers';
import { flag, numberArg, stringArg } from './args';
import { histogramBench } from './tsdb-histograms';

const SERIES = numberArg('series', 10_000);
const HOURS = numberArg('hours', 24);
const WITH_PROMETHEUS = !flag('no-prometheus');
const REPEAT = numberArg('repeat', 1);
const STEP = 15_000;
const STEPS = (HOURS * 3600_000) / STEP;
const T0 = Date.UTC(2026, 10, 1); // block-aligned start
const SLICE_STEPS = 240; // generate and append one hour at a time
const BUCKET_STEPS = 480; // compact every 2 h of data, as a running store would

// ---- dataset ---------------------------------------------------------------------------------

let seed = 42;
function rand(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function gauss(): number {
  return Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
}
const poisson = (lambda: number): number => (lambda <= 0 ? 0 : Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gauss())));

interface Gen {
  labels: Labels;
  text: string;
  next(): number;
}

function counterInt(rate: number, start = Math.floor(rand() * 1e6)): () => number {
  let v = start;
  return () => (v += poisson(rate));
}
function counterCentis(ratePerStep: number): () => number {
  let c = Math.floor(rand() * 1e8);
  return () => (c += poisson(ratePerStep)) / 100;
}
function walk(unit: number, spread: number, start: number): () => number {
  let k = Math.round(start / unit);
  return () => {
    if (rand() < 0.7) k += Math.round(gauss() * spread);
    return k * unit;
  };
}
function load(): () => number {
  let x = rand() * 2;
  return () => {
    x = Math.max(0, x + gauss() * 0.05);
    return Math.round(x * 100) / 100;
  };
}
function floatSum(rate: number): () => number {
  let s = rand() * 1e4;
  return () => {
    for (let i = poisson(rate); i > 0; i--) s += -Math.log(rand() + 1e-12) * 0.05;
    return s;
  };
}

/** About 120 series per scraped instance, like node_exporter plus an instrumented service. */
function instanceSeries(i: number): Gen[] {
  const host = `ip-10-${(i >> 8) & 255}-${i & 255}-${(i * 7) & 255}.eu-west-1.compute.internal`;
  const env = i % 5 === 0 ? 'staging' : 'production';
  const out: Gen[] = [];
  const add = (name: string, extra: Record<string, string>, job: string, next: () => number): void => {
    const labels = labelsFromRecord({ __name__: name, instance: `${host}:${job === 'node' ? 9100 : 8080}`, job, env, ...extra });
    const text = `${name}{${labels.filter((l) => l.name !== '__name__').map((l) => `${l.name}="${l.value}"`).join(',')}}`;
    out.push({ labels, text, next });
  };
  add('up', {}, 'node', () => 1);
  add('up', {}, 'api', () => 1);
  add('node_uname_info', { release: '6.1.0-18-amd64', machine: 'x86_64' }, 'node', () => 1);
  const busy = rand() * 600;
  for (let cpu = 0; cpu < 4; cpu++) {
    const rates: Record<string, number> = { idle: 1500 - busy, user: busy * 0.6, system: busy * 0.3, iowait: 5, irq: 0.5, softirq: 2, steal: 0, nice: 0 };
    for (const [mode, r] of Object.entries(rates)) add('node_cpu_seconds_total', { cpu: String(cpu), mode }, 'node', counterCentis(r));
  }
  for (const m of ['MemFree', 'Cached', 'Buffers', 'Active', 'Inactive', 'Dirty']) {
    add(`node_memory_${m}_bytes`, {}, 'node', walk(4096, 40, 2e9 * rand()));
  }
  for (const n of ['node_load1', 'node_load5', 'node_load15']) add(n, {}, 'node', load());
  for (const mp of ['/', '/var', '/home']) {
    add('node_filesystem_avail_bytes', { mountpoint: mp, device: '/dev/nvme0n1p1', fstype: 'ext4' }, 'node', walk(4096, 3, 5e10 * rand()));
    add('node_filesystem_size_bytes', { mountpoint: mp, device: '/dev/nvme0n1p1', fstype: 'ext4' }, 'node', () => 107374182400);
  }
  for (const dev of ['eth0', 'lo']) {
    add('node_network_receive_bytes_total', { device: dev }, 'node', counterInt(dev === 'lo' ? 2e4 : 3e6 * rand()));
    add('node_network_transmit_bytes_total', { device: dev }, 'node', counterInt(dev === 'lo' ? 2e4 : 1e6 * rand()));
    add('node_network_receive_packets_total', { device: dev }, 'node', counterInt(dev === 'lo' ? 200 : 3e3 * rand()));
  }
  const handlers = ['/api/v1/orders', '/api/v1/users', '/healthz', '/metrics'];
  for (const handler of handlers) {
    const rate = handler === '/healthz' || handler === '/metrics' ? 1 : 50 * rand();
    for (const method of handler.startsWith('/api') ? ['GET', 'POST'] : ['GET']) {
      for (const code of ['200', '404', '500']) {
        const r = code === '200' ? rate : code === '404' ? rate * 0.01 : rate * 0.001;
        add('http_requests_total', { handler, method, code }, 'api', counterInt(r));
      }
    }
    let below = 0;
    for (const le of ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf']) {
      below += (1 - below) * 0.35;
      add('http_request_duration_seconds_bucket', { handler, le }, 'api', counterInt(rate * (le === '+Inf' ? 1 : below)));
    }
    add('http_request_duration_seconds_sum', { handler }, 'api', floatSum(rate));
    add('http_request_duration_seconds_count', { handler }, 'api', counterInt(rate));
  }
  add('go_goroutines', {}, 'api', walk(1, 3, 50 + rand() * 200));
  add('go_memstats_heap_alloc_bytes', {}, 'api', walk(8, 2e5, 5e7));
  add('process_cpu_seconds_total', {}, 'api', counterCentis(30 * rand()));
  add('process_resident_memory_bytes', {}, 'api', walk(4096, 20, 2e8));
  add('process_open_fds', {}, 'api', walk(1, 1, 40));
  return out;
}

function dataset(n: number): Gen[] {
  const out: Gen[] = [];
  for (let i = 0; out.length < n; i++) out.push(...instanceSeries(i));
  return out.slice(0, n);
}

/** Per-instance scrape times: a fixed offset, and now and then a few ms of jitter. */
function scrapeTime(step: number, instance: number): number {
  const jitter = (step * 131 + instance * 17) % 19 === 0 ? 1 + ((step + instance) % 7) : 0;
  return T0 + step * STEP + ((instance * 997) % STEP) + jitter;
}

// ---- runs ------------------------------------------------------------------------------------

/** Wall-clock and CPU seconds of this process (the machine is shared: CPU time is the steadier figure). */
interface Timing {
  wall: number;
  cpu: number;
}

function clock(): () => Timing {
  const w = performance.now();
  const c = process.cpuUsage();
  return () => {
    const d = process.cpuUsage(c);
    return { wall: (performance.now() - w) / 1000, cpu: (d.user + d.system) / 1e6 };
  };
}

const add = (a: Timing, b: Timing): Timing => ({ wall: a.wall + b.wall, cpu: a.cpu + b.cpu });
const ZERO: Timing = { wall: 0, cpu: 0 };

interface RunResult {
  append: Timing;
  compact: Timing;
  bytes: number;
  samples: number;
  selectAll: Timing;
  selectAllSamples: number;
  selectOne: Timing;
  selectOneSamples: number;
}

const fmt = (n: number, d = 2): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** Generates the dataset one slice (hour) at a time: values and scrape times, series-major within a step. */
function* slices(series: number, steps: number): Generator<{ gens: Gen[]; values: Float64Array; times: Float64Array; start: number; slice: number }> {
  seed = 42;
  const gens = dataset(series);
  const instanceIds = new Map<string, number>();
  const inst = gens.map((g) => {
    const s = g.labels.find((l) => l.name === 'instance')!.value;
    if (!instanceIds.has(s)) instanceIds.set(s, instanceIds.size);
    return instanceIds.get(s)!;
  });
  const values = new Float64Array(SLICE_STEPS * gens.length);
  const times = new Float64Array(SLICE_STEPS * gens.length);
  for (let start = 0; start < steps; start += SLICE_STEPS) {
    const slice = Math.min(SLICE_STEPS, steps - start);
    for (let k = 0; k < slice; k++) {
      for (let s = 0; s < gens.length; s++) {
        values[k * gens.length + s] = gens[s]!.next();
        times[k * gens.length + s] = scrapeTime(start + k, inst[s]!);
      }
    }
    yield { gens, values, times, start, slice };
  }
}

function run(encrypted: boolean, series = SERIES, steps = STEPS): RunResult {
  const dir = mkdtempSync(join(tmpdir(), 'ampule-tsdb-bench-'));
  const db: Tsdb = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'ws-bench', keys: encrypted ? new TestKeys({ 1: randomBytes(32) }) : null });
  const refs = new Array<number>(series).fill(0);
  let append = ZERO;
  let compaction = ZERO;
  const app = db.appender();
  for (const { gens, values, times, start, slice } of slices(series, steps)) {
    const appending = clock();
    for (let k = 0; k < slice; k++) {
      const base = k * gens.length;
      for (let s = 0; s < gens.length; s++) refs[s] = app.append(refs[s]!, gens[s]!.labels, times[base + s]!, values[base + s]!);
      app.commit();
    }
    append = add(append, appending());
    if ((start + slice) % BUCKET_STEPS === 0) {
      const compacting = clock();
      db.compact();
      compaction = add(compaction, compacting());
    }
  }
  const compacting = clock();
  db.compact({ all: true });
  compaction = add(compaction, compacting());
  const stats = db.stats();
  const q = db.querier();
  /** Best of three: the first call also pays for JIT compilation of the decoders. */
  const timeSelect = (matchers: Matcher[]): { t: Timing; samples: number } => {
    let best: Timing | undefined;
    let samples = 0;
    for (let i = 0; i < 3; i++) {
      const c = clock();
      const res = q.select(matchers, -Infinity, Infinity);
      const t = c();
      samples = res.reduce((n, s) => n + s.timestamps.length, 0);
      if (!best || t.cpu < best.cpu) best = t;
    }
    return { t: best!, samples };
  };
  const { t: selectAll, samples: selectAllSamples } = timeSelect([]);
  const { t: selectOne, samples: selectOneSamples } = timeSelect([
    { type: '=', name: '__name__', value: 'node_cpu_seconds_total' },
    { type: '=', name: 'mode', value: 'idle' },
  ]);
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    append,
    compact: compaction,
    bytes: stats.bytesOnDisk,
    samples: stats.samples,
    selectAll,
    selectAllSamples,
    selectOne,
    selectOneSamples,
  };
}

/** The same dataset as OpenMetrics text, one file per 2 h block (by each sample's time) so promtool parses each sample once. */
function exportOpenMetrics(dir: string): void {
  const files = new Map<number, { fd: number; buf: string }>();
  let lastT = NaN;
  let timeText = '';
  for (const { gens, values, times, slice } of slices(SERIES, STEPS)) {
    for (let i = 0; i < slice * gens.length; i++) {
      const t = times[i]!;
      if (t !== lastT) {
        // Series of one instance are adjacent and share the scrape time.
        lastT = t;
        timeText = (t / 1000).toFixed(3);
      }
      const block = Math.floor((t - T0) / 7200_000);
      let f = files.get(block);
      if (!f) files.set(block, (f = { fd: openSync(join(dir, `block-${block}.om`), 'w'), buf: '' }));
      f.buf += `${gens[i % gens.length]!.text} ${values[i]} ${timeText}\n`;
      if (f.buf.length > 1 << 20) {
        writeSync(f.fd, f.buf);
        f.buf = '';
      }
    }
  }
  for (const f of files.values()) {
    writeSync(f.fd, f.buf + '# EOF\n');
    closeSync(f.fd);
  }
}

function dirBytes(path: string): number {
  let n = 0;
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    n += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return n;
}

async function prometheusBlocks(omDir: string): Promise<{ bytes: number; seconds: number }> {
  const out = join(omDir, 'blocks');
  mkdirSync(out);
  const files = readdirSync(omDir).filter((f) => f.endsWith('.om'));
  const t0 = performance.now();
  // Two at a time: the machine has two cores.
  const queue = [...files];
  const worker = async (): Promise<void> => {
    for (let f = queue.shift(); f; f = queue.shift()) {
      await new Promise<void>((resolve, reject) => {
        const p = spawn('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '-q', join(omDir, f), out], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr.on('data', (d: Buffer) => (err += d.toString()));
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`promtool failed on ${f}: ${err}`))));
      });
      rmSync(join(omDir, f));
    }
  };
  await Promise.all([worker(), worker()]);
  return { bytes: dirBytes(out), seconds: (performance.now() - t0) / 1000 };
}

/** One measured run in this process, after a small warm-up run for the JIT; prints the result as JSON. */
function childMain(mode: string): void {
  run(mode === 'encrypted', 1000, SLICE_STEPS * 2);
  process.stdout.write(JSON.stringify(run(mode === 'encrypted')) + '\n');
}

function runInChild(mode: 'plain' | 'encrypted'): RunResult {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', mode, '--series', String(SERIES), '--hours', String(HOURS)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as RunResult;
}

async function main(): Promise<void> {
  if (!flag('only-histograms')) await floats();
  if (!flag('no-histograms')) await histogramBench(numberArg('hist-series', 1000), numberArg('hist-hours', HOURS), WITH_PROMETHEUS);
}

async function floats(): Promise<void> {
  const samples = SERIES * STEPS;
  console.log(`Dataset: ${SERIES.toLocaleString()} series × ${HOURS} h at 15 s = ${samples.toLocaleString()} samples`);
  const omDir = WITH_PROMETHEUS ? mkdtempSync(join(tmpdir(), 'ampule-tsdb-om-')) : null;
  try {
    // Each store in a fresh process, so neither inherits the other's heap and GC debt; with
    // --repeat N the two alternate N times and each keeps its cheapest run (the machine is shared).
    let plain: RunResult | undefined;
    let enc: RunResult | undefined;
    const cheaper = (a: RunResult | undefined, b: RunResult): RunResult => (a && a.append.cpu + a.compact.cpu <= b.append.cpu + b.compact.cpu ? a : b);
    for (let i = 0; i < REPEAT; i++) {
      plain = cheaper(plain, runInChild('plain'));
      enc = cheaper(enc, runInChild('encrypted'));
    }
    if (!plain || !enc) throw new Error('--repeat must be at least 1');
    const rate = (n: number, t: Timing): string => `${fmt(n / t.cpu / 1e6)} M/s CPU, ${fmt(n / t.wall / 1e6)} M/s wall`;
    const line = (name: string, r: RunResult): void => {
      const pad = ' '.repeat(name.length);
      console.log(`${name}: append+commit ${rate(samples, r.append)} (${fmt(r.append.cpu)} s CPU, ${fmt(r.append.wall)} s wall; ${SERIES.toLocaleString()} samples per commit)`);
      console.log(`${pad}  compaction ${fmt(r.compact.cpu)} s CPU, ${fmt(r.compact.wall)} s wall; append+commit+compaction ${rate(samples, add(r.append, r.compact))}`);
      console.log(`${pad}  on disk ${fmt(r.bytes / 1e6)} MB = ${fmt(r.bytes / r.samples, 3)} bytes/sample (${r.samples.toLocaleString()} samples, all overhead included)`);
      console.log(`${pad}  select all: ${rate(r.selectAllSamples, r.selectAll)}; node_cpu_seconds_total{mode="idle"} (${r.selectOneSamples.toLocaleString()} samples): ${rate(r.selectOneSamples, r.selectOne)}`);
    };
    line('Ampule encrypted', enc);
    line('Ampule keys:null', plain);
    const pct = (a: number, b: number): string => `${fmt((a / b - 1) * 100, 1)} %`;
    const ingest = (r: RunResult): number => r.append.cpu + r.compact.cpu;
    console.log(
      `Encryption overhead (CPU time): append+commit ${pct(enc.append.cpu, plain.append.cpu)}, append+commit+compaction ${pct(ingest(enc), ingest(plain))}, ` +
        `select all ${pct(enc.selectAll.cpu, plain.selectAll.cpu)}; bytes on disk ${pct(enc.bytes, plain.bytes)}`,
    );
    if (omDir) {
      try {
        execFileSync('promtool', ['--version'], { stdio: 'ignore' });
      } catch {
        console.log('Prometheus peer skipped: promtool is not installed (Debian package prometheus).');
        return;
      }
      const exporting = clock();
      exportOpenMetrics(omDir);
      console.log(`OpenMetrics export: ${fmt(exporting().wall)} s`);
      const prom = await prometheusBlocks(omDir);
      console.log(
        `Prometheus 2.42 (promtool create-blocks-from openmetrics, 2 h blocks): ${fmt(prom.bytes / 1e6)} MB = ${fmt(prom.bytes / samples, 3)} bytes/sample (${fmt(prom.seconds)} s)`,
      );
      console.log(`Ratio Ampule/Prometheus bytes per sample: ${fmt(enc.bytes / enc.samples / (prom.bytes / samples), 3)}`);
    }
  } finally {
    if (omDir) rmSync(omDir, { recursive: true, force: true });
  }
}

const child = stringArg('child');
if (child) childMain(child);
else await main();
