// Store benchmark: a realistic scrape-shaped dataset (node-exporter-like and application series,
// counters and gauges) appended through the Appender, compacted, read back; the same run stores
// it without encryption (keys: null) and, as the peer, feeds it to Prometheus's own block writer
// (promtool tsdb create-blocks-from openmetrics) to compare bytes per sample.
//
//   node --import tsx test/bench/tsdb.bench.ts [--series 10000] [--hours 24] [--no-prometheus]
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTsdb, type Tsdb } from '../../main/tsdb/index';
import { labelsFromRecord, type Labels } from '../../shared/labels';
import { TestKeys } from '../main/tsdb/helpers';

const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const SERIES = arg('series', 10_000);
const HOURS = arg('hours', 24);
const WITH_PROMETHEUS = !args.includes('--no-prometheus');
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

interface RunResult {
  appendSeconds: number;
  compactSeconds: number;
  bytes: number;
  samples: number;
  selectAllSeconds: number;
  selectAllSamples: number;
  selectOneSeconds: number;
  selectOneSamples: number;
}

const fmt = (n: number, d = 2): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

function run(encrypted: boolean, openMetricsDir: string | null): RunResult {
  seed = 42;
  const gens = dataset(SERIES);
  const instanceOf = gens.map((g) => g.labels.find((l) => l.name === 'instance')!.value);
  const instanceIds = new Map<string, number>();
  const inst = instanceOf.map((s) => {
    if (!instanceIds.has(s)) instanceIds.set(s, instanceIds.size);
    return instanceIds.get(s)!;
  });
  const dir = mkdtempSync(join(tmpdir(), 'ampule-tsdb-bench-'));
  const db: Tsdb = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'ws-bench', keys: encrypted ? new TestKeys({ 1: randomBytes(32) }) : null });
  const refs = new Array<number>(gens.length).fill(0);
  const values = new Float64Array(SLICE_STEPS * gens.length);
  const times = new Float64Array(SLICE_STEPS * gens.length);
  let appendMs = 0;
  let compactMs = 0;
  let text: { fd: number; block: number; buf: string } | null = null;
  const app = db.appender();
  for (let start = 0; start < STEPS; start += SLICE_STEPS) {
    const steps = Math.min(SLICE_STEPS, STEPS - start);
    for (let k = 0; k < steps; k++) {
      for (let s = 0; s < gens.length; s++) {
        values[k * gens.length + s] = gens[s]!.next();
        times[k * gens.length + s] = scrapeTime(start + k, inst[s]!);
      }
    }
    if (openMetricsDir) text = writeOpenMetrics(openMetricsDir, text, gens, values, times, steps);
    const t0 = performance.now();
    for (let k = 0; k < steps; k++) {
      const base = k * gens.length;
      for (let s = 0; s < gens.length; s++) refs[s] = app.append(refs[s]!, gens[s]!.labels, times[base + s]!, values[base + s]!);
      app.commit();
    }
    const t1 = performance.now();
    appendMs += t1 - t0;
    if ((start + steps) % BUCKET_STEPS === 0) db.compact();
    compactMs += performance.now() - t1;
  }
  if (text) {
    writeSync(text.fd, text.buf + '# EOF\n');
    closeSync(text.fd);
  }
  const t2 = performance.now();
  db.compact({ all: true });
  compactMs += performance.now() - t2;
  const stats = db.stats();
  const q = db.querier();
  const t3 = performance.now();
  const all = q.select([], -Infinity, Infinity);
  const selectAllSeconds = (performance.now() - t3) / 1000;
  const selectAllSamples = all.reduce((n, s) => n + s.timestamps.length, 0);
  const t4 = performance.now();
  const one = q.select([{ type: '=', name: '__name__', value: 'node_cpu_seconds_total' }, { type: '=', name: 'mode', value: 'idle' }], -Infinity, Infinity);
  const selectOneSeconds = (performance.now() - t4) / 1000;
  const selectOneSamples = one.reduce((n, s) => n + s.timestamps.length, 0);
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    appendSeconds: appendMs / 1000,
    compactSeconds: compactMs / 1000,
    bytes: stats.bytesOnDisk,
    samples: stats.samples,
    selectAllSeconds,
    selectAllSamples,
    selectOneSeconds,
    selectOneSamples,
  };
}

/** OpenMetrics text, one file per 2 h block so promtool parses each sample once. */
function writeOpenMetrics(
  dir: string,
  state: { fd: number; block: number; buf: string } | null,
  gens: Gen[],
  values: Float64Array,
  times: Float64Array,
  steps: number,
): { fd: number; block: number; buf: string } {
  let st = state;
  for (let k = 0; k < steps; k++) {
    const block = Math.floor((times[k * gens.length]! - T0) / 7200_000);
    if (!st || st.block !== block) {
      if (st) {
        writeSync(st.fd, st.buf + '# EOF\n');
        closeSync(st.fd);
      }
      st = { fd: openSync(join(dir, `block-${block}.om`), 'w'), block, buf: '' };
    }
    for (let s = 0; s < gens.length; s++) {
      const i = k * gens.length + s;
      st.buf += `${gens[s]!.text} ${values[i]} ${(times[i]! / 1000).toFixed(3)}\n`;
      if (st.buf.length > 1 << 20) {
        writeSync(st.fd, st.buf);
        st.buf = '';
      }
    }
  }
  return st!;
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

async function main(): Promise<void> {
  const samples = SERIES * STEPS;
  console.log(`Dataset: ${SERIES.toLocaleString()} series × ${HOURS} h at 15 s = ${samples.toLocaleString()} samples`);
  const omDir = WITH_PROMETHEUS ? mkdtempSync(join(tmpdir(), 'ampule-tsdb-om-')) : null;
  try {
    const enc = run(true, omDir);
    const plain = run(false, null);
    const line = (name: string, r: RunResult): void => {
      console.log(
        `${name}: append+commit ${fmt(samples / r.appendSeconds / 1e6)} M samples/s (${fmt(r.appendSeconds)} s, ${SERIES.toLocaleString()} samples per commit); ` +
          `compaction ${fmt(r.compactSeconds)} s; with compaction ${fmt(samples / (r.appendSeconds + r.compactSeconds) / 1e6)} M samples/s`,
      );
      console.log(`${' '.repeat(name.length)}  on disk ${fmt(r.bytes / 1e6)} MB = ${fmt(r.bytes / r.samples, 3)} bytes/sample (${r.samples.toLocaleString()} samples)`);
      console.log(
        `${' '.repeat(name.length)}  select all ${fmt(r.selectAllSamples / r.selectAllSeconds / 1e6)} M samples/s (${fmt(r.selectAllSeconds)} s); ` +
          `select node_cpu_seconds_total{mode="idle"} ${fmt(r.selectOneSamples / r.selectOneSeconds / 1e6)} M samples/s (${r.selectOneSamples.toLocaleString()} samples)`,
      );
    };
    line('Ampule encrypted', enc);
    line('Ampule keys:null', plain);
    const ingestEnc = enc.appendSeconds + enc.compactSeconds;
    const ingestPlain = plain.appendSeconds + plain.compactSeconds;
    console.log(
      `Encryption overhead: ingest+compaction ${fmt((ingestEnc / ingestPlain - 1) * 100, 1)} %, ` +
        `bytes ${fmt((enc.bytes / plain.bytes - 1) * 100, 1)} %, select all ${fmt((enc.selectAllSeconds / plain.selectAllSeconds - 1) * 100, 1)} %`,
    );
    if (omDir) {
      try {
        execFileSync('promtool', ['--version'], { stdio: 'ignore' });
      } catch {
        console.log('Prometheus peer skipped: promtool is not installed (Debian package prometheus).');
        return;
      }
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

await main();
