// The native-histogram part of bench:tsdb: counter histograms of schema 3 with about 20 populated
// buckets (latencies, lognormal per series; each scrape adds Poisson-many observations per
// bucket; the sum is a float), one sample per 15 s. Ampule appends them through the Appender,
// compacts, reads them back; the peer is Prometheus 2.42 itself, fed the same samples over remote
// write (--web.enable-remote-write-receiver, --enable-feature=native-histograms), whose bytes are
// measured as a TSDB snapshot (POST /api/v1/admin/tsdb/snapshot: every block plus the head
// written as a block — index, chunks, meta — the same data Ampule's figure covers).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTsdb } from '../../main/tsdb/index';
import type { FloatHistogram } from '../../main/tsdb/histogram';
import { labelsFromRecord, type Labels } from '../../shared/labels';
import { TestKeys } from '../main/tsdb/helpers';
import { encodeV1, snappy, type HistogramInput } from '../main/ingest/encode';
import { freePort } from '../local-peers';

const STEP = 15_000;
const SCHEMA = 3;
const BUCKETS = 20;

let seed = 4242;
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

interface SeriesGen {
  labels: Labels;
  first: number;
  rates: number[];
  mids: number[];
  counts: number[];
  zero: number;
  sum: number;
}

function generators(n: number): SeriesGen[] {
  seed = 4242;
  return Array.from({ length: n }, (_, i) => {
    // Bucket index of the median latency (schema 3: 8 buckets per power of two), 5 ms … 500 ms.
    const center = Math.round(Math.log2(0.005 * 100 ** rand()) * 8);
    const first = center - BUCKETS / 2;
    const perScrape = 20 + rand() * 200;
    const weights = Array.from({ length: BUCKETS }, (_, k) => Math.exp(-(((k - BUCKETS / 2) / 4.5) ** 2)));
    const total = weights.reduce((a, b) => a + b, 0);
    return {
      labels: labelsFromRecord({ __name__: 'http_request_duration_seconds', instance: `10.0.${Math.floor(i / 50)}.${i % 50}:8080`, job: 'api', handler: `/v1/h${i % 50}` }),
      first,
      rates: weights.map((w) => (w / total) * perScrape),
      mids: weights.map((_, k) => 2 ** ((first + k - 0.5) / 8)),
      counts: new Array<number>(BUCKETS).fill(0),
      zero: 0,
      sum: rand() * 1000,
    };
  });
}

function next(g: SeriesGen): FloatHistogram {
  for (let k = 0; k < BUCKETS; k++) {
    const inc = poisson(g.rates[k]!);
    g.counts[k] = g.counts[k]! + inc;
    g.sum += inc * g.mids[k]! * (0.9 + 0.2 * rand());
  }
  if (rand() < 0.05) g.zero++;
  const count = g.counts.reduce((a, b) => a + b, g.zero);
  return {
    counterResetHint: 'not_reset',
    schema: SCHEMA,
    zeroThreshold: 2.938735877055719e-39,
    zeroCount: g.zero,
    count,
    sum: g.sum,
    positiveSpans: [{ offset: g.first, length: BUCKETS }],
    positiveBuckets: [...g.counts],
    negativeSpans: [],
    negativeBuckets: [],
  };
}

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
const fmt = (n: number, d = 2): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** Steps of the dataset, each a histogram per series (regenerated identically for each consumer). */
function* steps(series: number, count: number, t0: number): Generator<{ t: number; gens: SeriesGen[]; hs: FloatHistogram[] }> {
  const gens = generators(series);
  for (let i = 0; i < count; i++) yield { t: t0 + i * STEP, gens, hs: gens.map(next) };
}

function dirBytes(path: string): number {
  let n = 0;
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    n += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return n;
}

function post(port: number, path: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { ...headers, 'Content-Length': String(body.length) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function ampule(series: number, count: number, t0: number): { append: Timing; compact: Timing; bytes: number; samples: number; select: Timing; selected: number } {
  const dir = mkdtempSync(join(tmpdir(), 'ampule-hist-bench-'));
  const db = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'ws-bench', keys: new TestKeys({ 1: randomBytes(32) }) });
  const refs = new Array<number>(series).fill(0);
  const app = db.appender();
  let append: Timing = { wall: 0, cpu: 0 };
  let compact: Timing = { wall: 0, cpu: 0 };
  let i = 0;
  for (const { t, gens, hs } of steps(series, count, t0)) {
    const c = clock();
    for (let s = 0; s < series; s++) refs[s] = app.appendHistogram(refs[s]!, gens[s]!.labels, t, hs[s]!);
    app.commit();
    const a = c();
    append = { wall: append.wall + a.wall, cpu: append.cpu + a.cpu };
    if (++i % 480 === 0) {
      const cc = clock();
      db.compact();
      const d = cc();
      compact = { wall: compact.wall + d.wall, cpu: compact.cpu + d.cpu };
    }
  }
  const cc = clock();
  db.compact({ all: true });
  const d = cc();
  compact = { wall: compact.wall + d.wall, cpu: compact.cpu + d.cpu };
  const stats = db.stats();
  let select: Timing | undefined;
  let selected = 0;
  for (let k = 0; k < 2; k++) {
    const c = clock();
    const res = db.querier().select([], -Infinity, Infinity);
    const tm = c();
    selected = res.reduce((n, s) => n + (s.histograms?.timestamps.length ?? 0), 0);
    if (!select || tm.cpu < select.cpu) select = tm;
  }
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { append, compact, bytes: stats.bytesOnDisk, samples: stats.samples, select: select!, selected };
}

function toInput(t: number, h: FloatHistogram): HistogramInput {
  return { t, schema: h.schema, count: h.count, sum: h.sum, zeroThreshold: h.zeroThreshold, zeroCount: h.zeroCount, positiveSpans: h.positiveSpans.map((s) => [s.offset, s.length]), positive: [...h.positiveBuckets], resetHint: 2 };
}

async function prometheus(series: number, count: number, t0: number): Promise<{ bytes: number; seconds: number } | string> {
  const work = mkdtempSync(join(tmpdir(), 'ampule-hist-prom-'));
  const port = await freePort();
  const p = spawn('prometheus', ['--config.file=/dev/null', `--storage.tsdb.path=${join(work, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--web.enable-admin-api', '--enable-feature=native-histograms'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  p.stderr!.on('data', (c: Buffer) => {
    for (const line of String(c).split('\n')) if (line.includes('level=error') || line.includes('level=warn')) log = (log + line + '\n').slice(-2000);
  });
  try {
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((resolve) => request({ host: '127.0.0.1', port, path: '/-/ready' }, (res) => (res.resume(), resolve(res.statusCode === 200))).on('error', () => resolve(false)).end());
      if (ok) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const c = clock();
    for (const { t, gens, hs } of steps(series, count, t0)) {
      const body = snappy(encodeV1(gens.map((g, s) => ({ labels: g.labels.map((l) => [l.name, l.value] as [string, string]), samples: [], histograms: [toInput(t, hs[s]!)] }))));
      const r = await post(port, '/api/v1/write', body, { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' });
      if (r.status >= 300) return `Prometheus refused a write (${r.status} ${r.text.slice(0, 200)})`;
    }
    const snap = await post(port, '/api/v1/admin/tsdb/snapshot', Buffer.alloc(0), {});
    if (snap.status !== 200) return `snapshot failed (${snap.status} ${snap.text.slice(0, 200)})`;
    const name = (JSON.parse(snap.text) as { data: { name: string } }).data.name;
    const dir = join(work, 'data', 'snapshots', name);
    // Every sample must be in the snapshot's blocks, or the comparison says nothing.
    let held = 0;
    for (const b of readdirSync(dir)) held += (JSON.parse(readFileSync(join(dir, b, 'meta.json'), 'utf8')) as { stats: { numSamples: number } }).stats.numSamples;
    if (held !== series * count) return `the snapshot holds ${held} samples, ${series * count} were written`;
    return { bytes: dirBytes(dir), seconds: c().wall };
  } finally {
    p.kill('SIGKILL');
    await new Promise((r) => p.once('exit', r));
    if (log) console.log(`(Prometheus logged: ${log.slice(-800)})`);
    rmSync(work, { recursive: true, force: true });
  }
}

export async function histogramBench(series: number, hours: number, withPrometheus: boolean): Promise<void> {
  const count = (hours * 3600_000) / STEP;
  const samples = series * count;
  // Recent enough for Prometheus's head to take the first sample, block-aligned.
  const t0 = Math.floor((Date.now() - hours * 3600_000 - 3600_000) / 7200_000) * 7200_000;
  console.log(`Native histograms: ${series.toLocaleString()} series × ${hours} h at 15 s = ${samples.toLocaleString()} histogram samples (schema ${SCHEMA}, ${BUCKETS} populated buckets, float sum)`);
  ampule(Math.min(series, 100), Math.min(count, 480), t0); // JIT warm-up
  const r = ampule(series, count, t0);
  const rate = (n: number, t: Timing): string => `${fmt(n / t.cpu / 1e3, 1)} k/s CPU, ${fmt(n / t.wall / 1e3, 1)} k/s wall`;
  console.log(`Ampule encrypted: append+commit ${rate(samples, r.append)} (${series.toLocaleString()} histograms per commit); compaction ${fmt(r.compact.cpu)} s CPU`);
  console.log(`  on disk ${fmt(r.bytes / 1e6)} MB = ${fmt(r.bytes / r.samples, 2)} bytes/histogram sample (${r.samples.toLocaleString()} samples, all overhead included)`);
  console.log(`  select all: ${rate(r.selected, r.select)} (${r.selected.toLocaleString()} histograms)`);
  if (!withPrometheus) return;
  const prom = await prometheus(series, count, t0);
  if (typeof prom === 'string') {
    console.log(`Prometheus peer skipped: ${prom}`);
    return;
  }
  console.log(`Prometheus 2.42 (remote write, TSDB snapshot of blocks + head): ${fmt(prom.bytes / 1e6)} MB = ${fmt(prom.bytes / samples, 2)} bytes/histogram sample (written in ${fmt(prom.seconds)} s)`);
  console.log(`Ratio Ampule/Prometheus bytes per histogram sample: ${fmt(r.bytes / r.samples / (prom.bytes / samples), 3)}`);
}
