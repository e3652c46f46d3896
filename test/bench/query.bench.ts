// Query benchmark: counters and gauges appended to the encrypted store, then Grafana-shaped range
// queries through handlePromApi (engine + JSON). The peer, measured in the same run, is
// Prometheus 2.42 serving the same samples (written as blocks by promtool) over its HTTP API; its
// figures include the loopback HTTP round trip, ours do not.
//
//   node --import tsx test/bench/query.bench.ts [--series 2000] [--hours 6] [--no-prometheus]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCipher } from '../../main/crypto/cipher';
import { handlePromApi } from '../../main/query/api';
import { openTsdb } from '../../main/tsdb/index';
import { labelsFromRecord, type Labels } from '../../shared/labels';

const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const SERIES = arg('series', 2000);
const HOURS = arg('hours', 6);
const WITH_PROMETHEUS = !args.includes('--no-prometheus');
const SCRAPE = 15_000;
const STEPS = (HOURS * 3600_000) / SCRAPE;
// Recent data, so Prometheus's default retention keeps it; aligned to 2 h blocks.
const T0 = Math.floor((Date.now() - (HOURS + 2) * 3600_000) / 7_200_000) * 7_200_000;
const END = T0 + (STEPS - 1) * SCRAPE;

let seed = 7;
function rand(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}

interface Gen {
  labels: Labels;
  text: string;
  value: number;
  next(): number;
}

function dataset(): Gen[] {
  const gens: Gen[] = [];
  for (let i = 0; i < SERIES; i++) {
    const counter = i % 2 === 0;
    const rec = { __name__: counter ? 'http_requests_total' : 'temperature_celsius', job: `job${i % 10}`, instance: `host${Math.floor(i / 2)}` };
    const labels = labelsFromRecord(rec);
    const text = `${rec.__name__}{instance="${rec.instance}",job="${rec.job}"}`;
    const g: Gen = {
      labels, text, value: counter ? Math.floor(rand() * 1000) : 20 + rand() * 5,
      next() {
        g.value = counter ? g.value + Math.floor(rand() * 20) : g.value + (rand() - 0.5) * 0.2;
        return g.value;
      },
    };
    gens.push(g);
  }
  return gens;
}

const QUERIES = [
  'sum by (job) (rate(http_requests_total[5m]))',
  'topk(5, rate(http_requests_total[5m]))',
  'avg_over_time(temperature_celsius{job=~"job[1-3]"}[10m])',
  'max_over_time(sum by (job) (rate(http_requests_total[5m]))[30m:1m])',
  'http_requests_total{instance="host7"}',
];
const STEP_S = 60;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timeIt(fn: () => Promise<number>, runs = 5): Promise<{ ms: number; points: number }> {
  let points = 0;
  await fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    points = await fn();
    times.push(performance.now() - t);
  }
  return { ms: median(times), points };
}

function countPoints(body: unknown): number {
  const result = (body as { data: { result: { values?: unknown[] }[] } }).data.result;
  return result.reduce((n, s) => n + (s.values?.length ?? 1), 0);
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startPrometheus(dir: string, gens: Gen[]): Promise<{ url: string; proc: ChildProcess }> {
  // OpenMetrics text per 2 h block, then promtool writes TSDB blocks Prometheus serves directly.
  const omDir = join(dir, 'om');
  const data = join(dir, 'prometheus');
  mkdirSync(omDir);
  mkdirSync(data);
  const blockSteps = 7_200_000 / SCRAPE;
  for (let b = 0; b * blockSteps < STEPS; b++) {
    const file = join(omDir, `b${b}.om`);
    const fd = openSync(file, 'w');
    const values = gens.map(() => [] as number[]);
    for (let s = b * blockSteps; s < Math.min(STEPS, (b + 1) * blockSteps); s++) gens.forEach((g, i) => values[i]!.push(g.next()));
    const seen = new Set<string>();
    gens.forEach((g, i) => {
      const name = g.text.slice(0, g.text.indexOf('{'));
      let buf = seen.has(name) ? '' : `# TYPE ${name} ${name.endsWith('_total') ? 'unknown' : 'gauge'}\n`;
      seen.add(name);
      values[i]!.forEach((v, k) => (buf += `${g.text} ${v} ${(T0 + (b * blockSteps + k) * SCRAPE) / 1000}\n`));
      writeSync(fd, buf);
    });
    writeSync(fd, '# EOF\n');
    closeSync(fd);
    execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '-q', file, data], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const port = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
  const proc = spawn('prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${data}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=error',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return { url, proc };
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error('Prometheus did not become ready');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ampule-query-bench-'));
  let prom: { url: string; proc: ChildProcess } | null = null;
  try {
    const cipher = createCipher(randomBytes(32));
    const db = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'bench', keys: { current: 1, get: () => cipher } });
    const gens = dataset();
    const refs = new Array<number>(gens.length).fill(0);
    const t0 = performance.now();
    for (let s = 0; s < STEPS; s++) {
      const app = db.appender();
      gens.forEach((g, i) => (refs[i] = app.append(refs[i]!, g.labels, T0 + s * SCRAPE, g.next())));
      app.commit();
      if (s % 480 === 479) db.compact();
    }
    db.compact();
    console.log(`dataset: ${SERIES} series × ${STEPS} samples (${HOURS} h at 15 s) = ${(SERIES * STEPS / 1e6).toFixed(2)} M samples, loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    if (WITH_PROMETHEUS) {
      try {
        execFileSync('promtool', ['--version'], { stdio: 'ignore' });
        seed = 7;
        prom = await startPrometheus(dir, dataset());
      } catch (e) {
        console.log(`Prometheus peer skipped: ${(e as Error).message}`);
      }
    }

    const span = `${(T0 / 1000).toFixed(0)} .. ${(END / 1000).toFixed(0)}, step ${STEP_S}s (${Math.floor((END - T0) / 1000 / STEP_S) + 1} steps)`;
    console.log(`range queries over the whole span, ${span}; median of 5 runs\n`);
    console.log(['query', 'ampule ms', 'points', prom ? 'Prometheus 2.42 ms' : '', prom ? 'points' : '', prom ? 'ratio' : ''].join(' | '));
    for (const q of QUERIES) {
      const params = { query: q, start: String(T0 / 1000), end: String(END / 1000), step: String(STEP_S) };
      const ours = await timeIt(async () => {
        const r = await handlePromApi('query_range', new URLSearchParams(params), db.querier());
        if (r.status !== 200) throw new Error(JSON.stringify(r.body));
        JSON.stringify(r.body);
        return countPoints(r.body);
      });
      let row = [q, ours.ms.toFixed(1), String(ours.points)];
      if (prom) {
        const peer = await timeIt(async () => {
          const res = await fetch(`${prom!.url}/api/v1/query_range`, { method: 'POST', body: new URLSearchParams(params) });
          return countPoints(await res.json());
        });
        row = [...row, peer.ms.toFixed(1), String(peer.points), `${(ours.ms / peer.ms).toFixed(2)}×`];
      }
      console.log(row.join(' | '));
    }
    db.close();
  } finally {
    prom?.proc.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
