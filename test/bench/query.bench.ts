// Query benchmark (`npm run bench:query`). Not a test: it prints figures.
//
// One dataset — counters, gauges and a classic histogram (h_bucket with le labels), 24 h at 15 s —
// is generated once and loaded into all sides in the same pass, 10 minutes of data at a time:
//  - Ampule: appended straight into an encrypted store (openTsdb + Appender), compacted as it goes.
//  - Prometheus 2.42 (Debian): remote write 1.0 into `prometheus --web.enable-remote-write-receiver`.
//    Its TSDB accepts day-old samples here because the store starts empty and every series is
//    written in time order, never older than the head's appendable window (max time - 1 h); blocks
//    are cut as the head grows, exactly as for live data, so no promtool blocks are needed.
//  - VictoriaMetrics 1.79 (Debian): the same remote-write bodies; flushed (/internal/force_flush)
//    before queries, and queried with nocache=1 so its rollup result cache does not answer repeats.
// Then the same Grafana-shaped queries go to each over plain HTTP on 127.0.0.1 with keep-alive:
// the peers' own /api/v1 servers, and a node:http server in this process around handlePromApi
// (Ampule's API function, run on a query worker as the server does; no TLS and no auth on any side). Each figure is the median wall time
// of a request from send to fully parsed JSON, so all include HTTP, evaluation and JSON encoding.
// Issue 9's target: the whole-day sum by (job)(rate), histogram_quantile and topk ≤ 1.0× VictoriaMetrics.
//
//   node --import tsx test/bench/query.bench.ts [--series 10000] [--hours 24] [--runs 3] [--no-prometheus] [--no-victoria-metrics] [--only TEXT]
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compress } from 'snappyjs';
import { createCipher } from '../../main/crypto/cipher';
import { QueryPool } from '../../main/http/query-pool';
import type { Querier } from '../../main/tsdb/types';
import { openTsdb } from '../../main/tsdb/index';
import { labelsFromRecord, type Labels } from '../../shared/labels';
import { flag, numberArg, stringArg } from './args';
import { freePort, remoteWrite, servePool, startVictoriaMetrics as startHttpVictoriaMetrics, stopPeer, waitFor } from './http-peers';

const SERIES = numberArg('series', 10_000);
const HOURS = numberArg('hours', 24);
const RUNS = numberArg('runs', 3);
const WITH_PROMETHEUS = !flag('no-prometheus');
const WITH_VM = !flag('no-victoria-metrics');
/** Only the queries whose name contains this text. */
const ONLY = stringArg('only');
const SCRAPE = 15_000;
const STEPS = (HOURS * 3600_000) / SCRAPE;
const CHUNK_STEPS = 40; // 10 minutes per load round
const SHARDS = 2; // concurrent remote-write requests per round
// The data ends a minute ago, so Prometheus's default retention and head window accept all of it.
const END = Math.floor((Date.now() - 60_000) / SCRAPE) * SCRAPE;
const T0 = END - (STEPS - 1) * SCRAPE;

let seed = 7;
function rand(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}

// Per host (unit of 20 series): 6 request counters, 2 temperature gauges, one 12-bucket histogram.
const CODES = ['200', '404', '500'];
const METHODS = ['GET', 'POST'];
const LE = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];
const UNIT = 20;

interface Dataset {
  labels: Labels[];
  /** [name, value] pairs as remote write sends them. */
  pairs: [string, string][][];
  values: Float64Array;
  /** Fills values[series * CHUNK_STEPS + k] for steps [from, from + n). */
  fill(n: number): void;
}

function dataset(): Dataset {
  const recs: Record<string, string>[] = [];
  for (let i = 0; i < SERIES; i++) {
    const u = Math.floor(i / UNIT), k = i % UNIT;
    const base = { job: `job${u % 10}`, instance: `host${u}` };
    if (k < 6) recs.push({ __name__: 'http_requests_total', ...base, code: CODES[k % 3]!, method: METHODS[Math.floor(k / 3)]! });
    else if (k < 8) recs.push({ __name__: 'temperature_celsius', ...base, sensor: `s${k - 6}` });
    else recs.push({ __name__: 'h_bucket', ...base, le: LE[k - 8]! });
  }
  const values = new Float64Array(SERIES * CHUNK_STEPS);
  const state = recs.map((r) => (r.__name__ === 'temperature_celsius' ? 20 + rand() * 5 : Math.floor(rand() * 1000)));
  for (let i = 0; i < SERIES; i++) if (recs[i]!.le) state[i] = 0;
  return {
    labels: recs.map(labelsFromRecord),
    pairs: recs.map((r) => Object.entries(r).sort((a, b) => (a[0] < b[0] ? -1 : 1))),
    values,
    fill(n) {
      for (let s = 0; s < n; s++) {
        for (let i = 0; i < SERIES; i++) {
          const k = i % UNIT;
          if (k < 6) state[i] = state[i]! + Math.floor(rand() * 20);
          else if (k < 8) state[i] = state[i]! + (rand() - 0.5) * 0.2;
          else if (k === 8) {
            // One histogram: this scrape's observations spread cumulatively over the buckets.
            const obs = Math.floor(rand() * 50);
            let below = 0;
            for (let j = 0; j < LE.length && i + j < SERIES; j++) {
              below = j === LE.length - 1 ? obs : Math.max(below, Math.floor(obs * Math.min(1, ((j + 1) / LE.length) ** 2 + rand() * 0.05)));
              state[i + j] = state[i + j]! + below;
            }
          }
          values[i * CHUNK_STEPS + s] = state[i]!;
        }
      }
    },
  };
}

/** Remote write 1.0 WriteRequest for steps [first, first + n) of every series, written by hand for speed. */
class WriteRequestEncoder {
  private buf = Buffer.alloc(1 << 20);
  private pos = 0;
  private readonly labelBytes: Buffer[];

  constructor(pairs: [string, string][][]) {
    this.labelBytes = pairs.map((ps) => {
      const parts: Buffer[] = [];
      for (const [n, v] of ps) {
        const nb = Buffer.from(n), vb = Buffer.from(v);
        const inner = Buffer.concat([Buffer.from([0x0a]), varint(nb.length), nb, Buffer.from([0x12]), varint(vb.length), vb]);
        parts.push(Buffer.from([0x0a]), varint(inner.length), inner);
      }
      return Buffer.concat(parts);
    });
  }

  /** Series from, from + shards, … (each series stays in one shard, so it arrives in order). */
  encode(values: Float64Array, firstT: number, n: number, from: number, shards: number): Buffer {
    this.pos = 0;
    for (let i = from; i < this.labelBytes.length; i += shards) {
      const lb = this.labelBytes[i]!;
      const sampleLen = 1 + 8 + 1 + varint(firstT).length;
      const bodyLen = lb.length + n * (2 + sampleLen);
      this.ensure(bodyLen + 16);
      this.byte(0x0a);
      this.varint(bodyLen);
      lb.copy(this.buf, this.pos);
      this.pos += lb.length;
      for (let k = 0; k < n; k++) {
        this.byte(0x12);
        this.byte(sampleLen);
        this.byte(0x09);
        this.buf.writeDoubleLE(values[i * CHUNK_STEPS + k]!, this.pos);
        this.pos += 8;
        this.byte(0x10);
        this.varint(firstT + k * SCRAPE);
      }
    }
    return Buffer.from(compress(this.buf.subarray(0, this.pos)));
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  private byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  private varint(x: number): void {
    while (x >= 0x80) {
      this.buf[this.pos++] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    this.buf[this.pos++] = x;
  }
}

function varint(x: number): Buffer {
  const out: number[] = [];
  while (x >= 0x80) {
    out.push((x % 0x80) | 0x80);
    x = Math.floor(x / 0x80);
  }
  out.push(x);
  return Buffer.from(out);
}

interface Query {
  name: string;
  params: Record<string, string>;
}

function queries(): Query[] {
  const sixH = Math.min(6 * 3600_000, END - T0);
  const recent = { start: String((END - sixH) / 1000), end: String(END / 1000), step: '30' };
  const day = { start: String(T0 / 1000), end: String(END / 1000), step: '300' };
  const range = (query: string, span: Record<string, string>): Query => ({
    name: `${query}  [${span === day ? 'whole span, step 5m' : 'last 6 h, step 30s'}]`, params: { query, ...span },
  });
  return [
    range('sum by (job) (rate(http_requests_total[5m]))', recent),
    range('histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))', recent),
    range('topk(10, rate(http_requests_total[5m]))', recent),
    range('avg_over_time(temperature_celsius[10m])', recent),
    range('avg by (job) (avg_over_time(temperature_celsius{job=~"job[1-3]"}[10m]))', recent),
    range('sum by (code) (increase(http_requests_total[1h]))', recent),
    range('max_over_time(sum by (job) (rate(http_requests_total[5m]))[30m:1m])', recent),
    range('http_requests_total{instance="host7"}', recent),
    range('sum by (job) (rate(http_requests_total[5m]))', day),
    range('histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))', day),
    range('topk(10, rate(http_requests_total[5m]))', day),
    range('histogram_quantile(0.9, sum by (job, le) (rate(h_bucket[10m])))', day),
    { name: 'instant: sum by (job, code) (rate(http_requests_total[5m]))', params: { query: 'sum by (job, code) (rate(http_requests_total[5m]))', time: String(END / 1000) } },
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** A server a query is timed on: its URL and any parameters only it takes. */
interface Side {
  url: string;
  extra?: Record<string, string>;
}

/** A side's median time for a query and the points it answered. */
interface Timed {
  ms: number;
  points: number;
}

/**
 * Each side's median wall time for `q` over RUNS, the sides taking turns at every run (in reverse
 * order every other run): a busy spell of this shared machine then falls on all of them alike,
 * where one side's runs after the other's could each catch a different hour's load.
 */
async function timeQueries(sides: readonly Side[], q: Query): Promise<Timed[]> {
  const path = q.params.time ? 'query' : 'query_range';
  const once = async ({ url, extra }: Side): Promise<number> => {
    const res = await fetch(`${url}/api/v1/${path}`, { method: 'POST', body: new URLSearchParams({ ...q.params, ...extra }) });
    const body = (await res.json()) as { status: string; error?: string; data: { result: { values?: unknown[] }[] } };
    if (body.status !== 'success') throw new Error(`${url}: ${q.params.query}: ${body.error}`);
    return body.data.result.reduce((n, s) => n + (s.values?.length ?? 1), 0);
  };
  for (const side of sides) await once(side); // warm-up
  const times = sides.map((): number[] => []);
  const points = sides.map(() => 0);
  for (let run = 0; run < RUNS; run++) {
    for (let k = 0; k < sides.length; k++) {
      const i = run % 2 === 0 ? k : sides.length - 1 - k;
      const t = performance.now();
      points[i] = await once(sides[i]!);
      times[i]!.push(performance.now() - t);
    }
  }
  return sides.map((_, i) => ({ ms: median(times[i]!), points: points[i]! }));
}

interface Peer {
  name: string;
  url: string;
  proc: ChildProcess;
  /** Added to every query (VictoriaMetrics: nocache=1). */
  extra: Record<string, string>;
  /** Time spent in its remote-write requests while loading. */
  loadMs: number;
}

async function startPrometheus(dir: string): Promise<Peer> {
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
  const proc = spawn('prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'prometheus')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--log.level=error',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/-/ready`, 'Prometheus', proc);
  return { name: 'Prometheus 2.42', url, proc, extra: {}, loadMs: 0 };
}

async function startVictoriaMetrics(dir: string): Promise<Peer> {
  return { name: 'VictoriaMetrics', ...(await startHttpVictoriaMetrics(dir)), extra: { nocache: '1' }, loadMs: 0 };
}

/** The API as `ampule serve` answers it: on a query worker (QueryPool) that reads the store itself. */
async function startAmpule(querier: Querier): Promise<{ url: string; close(): Promise<void> }> {
  const pool = new QueryPool(1);
  const served = await servePool(pool, querier);
  // A worker starts its helper thread at its first large range call and uses it once loaded. Here
  // both load TypeScript through tsx (seconds; the whole CLI bundle loads in ~0.3 s), which would
  // leave the first rows without it: a few whole-day calls first, until the helper takes a share.
  const warm = new URLSearchParams({ query: 'count_over_time(http_requests_total[1h])', start: String(T0 / 1000), end: String(END / 1000), step: '3600' });
  for (let i = 0; i < 20 && pool.split === 0; i++) {
    await pool.run('query_range', warm, querier);
    await new Promise((r) => setTimeout(r, 500));
  }
  return { url: served.url, close: () => (served.close(), pool.close()) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ampule-query-bench-'));
  const peers: Peer[] = [];
  try {
    const cipher = createCipher(randomBytes(32));
    const db = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'bench', keys: { current: 1, get: () => cipher } });
    for (const [wanted, start] of [[WITH_PROMETHEUS, startPrometheus], [WITH_VM, startVictoriaMetrics]] as const) {
      if (!wanted) continue;
      try {
        peers.push(await start(dir));
      } catch (e) {
        console.log(`peer skipped: ${(e as Error).message}`);
      }
    }
    const data = dataset();
    const encoder = peers.length ? new WriteRequestEncoder(data.pairs) : null;
    const refs = new Array<number>(SERIES).fill(0);
    let ampuleMs = 0;
    const t0 = performance.now();
    let pending: Promise<unknown> = Promise.resolve();
    for (let first = 0; first < STEPS; first += CHUNK_STEPS) {
      const n = Math.min(CHUNK_STEPS, STEPS - first);
      data.fill(n);
      const firstT = T0 + first * SCRAPE;
      if (encoder) {
        const bodies = Array.from({ length: SHARDS }, (_, shard) => encoder.encode(data.values, firstT, n, shard, SHARDS));
        await pending;
        // The peers ingest this chunk (one request per shard, like Prometheus's queue manager)
        // while this process appends it to Ampule.
        pending = Promise.all(peers.map(async (peer) => {
          const ts = performance.now();
          await Promise.all(bodies.map((body) => remoteWrite(peer.url, new Uint8Array(body), `${peer.name} at ${new Date(firstT).toISOString()}`)));
          peer.loadMs += performance.now() - ts;
        }));
      }
      const ta = performance.now();
      const app = db.appender();
      for (let i = 0; i < SERIES; i++) {
        const l = data.labels[i]!;
        for (let k = 0; k < n; k++) refs[i] = app.append(refs[i]!, l, firstT + k * SCRAPE, data.values[i * CHUNK_STEPS + k]!);
      }
      app.commit();
      if ((first / CHUNK_STEPS) % 12 === 11) db.compact();
      ampuleMs += performance.now() - ta;
    }
    await pending;
    db.compact();
    const vm = peers.find((p) => p.name === 'VictoriaMetrics');
    if (vm) {
      // Rows VictoriaMetrics has buffered become searchable.
      const res = await fetch(`${vm.url}/internal/force_flush`);
      if (!res.ok) throw new Error(`VictoriaMetrics force_flush: ${res.status}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
    const samples = SERIES * STEPS;
    console.log(`dataset: ${SERIES} series (30% counters, 10% gauges, 60% h_bucket with ${LE.length} le) × ${STEPS} samples (${HOURS} h at 15 s) = ${(samples / 1e6).toFixed(1)} M samples`);
    console.log(`loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s: Ampule appender ${(ampuleMs / 1000).toFixed(1)} s` +
      peers.map((p) => `, ${p.name} remote write ${(p.loadMs / 1000).toFixed(1)} s`).join(''));

    const ampule = await startAmpule(db.querier());
    console.log(`\nall over HTTP on 127.0.0.1, median of ${RUNS} after a warm-up, the servers taking turns at each run (Ampule on a query worker, as \`ampule serve\` answers: it keeps the rows it decrypted between queries); ratio = Ampule / peer (< 1 is faster)\n`);
    console.log(['query', 'Ampule ms', ...peers.flatMap((p) => [`${p.name} ms`, `vs ${p.name}`]), 'points'].join(' | '));
    const whole: string[] = [];
    for (const q of queries().filter((q) => ONLY === undefined || q.name.includes(ONLY))) {
      const [ours, ...theirAll] = (await timeQueries([{ url: ampule.url }, ...peers], q)) as [Timed, ...Timed[]];
      const row = [q.name, ours.ms.toFixed(1)];
      const differ: string[] = [];
      for (const [k, peer] of peers.entries()) {
        const theirs = theirAll[k]!;
        row.push(theirs.ms.toFixed(1), `${(ours.ms / theirs.ms).toFixed(2)}×`);
        if (theirs.points !== ours.points) differ.push(`${peer.name} ${theirs.points}`);
        if (q.name.includes('whole span') && peer === vm) whole.push(`${q.params.query}: ${(ours.ms / theirs.ms).toFixed(2)}×`);
      }
      row.push(differ.length ? `${ours.points} (${differ.join(', ')})` : String(ours.points));
      console.log(row.join(' | '));
    }
    if (whole.length) console.log(`\nwhole span vs VictoriaMetrics (issue 9's target ≤ 1.0×): ${whole.join('; ')}`);
    await ampule.close();
    db.close();
  } finally {
    await Promise.all(peers.map((p) => stopPeer(p.proc)));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
