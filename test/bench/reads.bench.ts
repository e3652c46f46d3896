// bench:reads — what the Prometheus API's reads cost the ingest thread, and how they compare with
// VictoriaMetrics: the longest stall of the ingest thread's event loop (a 1 ms timer's largest gap)
// and the whole answer's time, for the series and label listings Grafana's pickers ask for and a
// range query like a chart's. Ampule answers on the query threads (the HTTP API and, since
// 2026-12-07, the window). Its peers, taking turns with it: the same request answered on the ingest
// thread (in-process: the fallback where no thread starts), and VictoriaMetrics (nocache=1) holding
// the same samples by remote write (flushed first), timed over HTTP against the query threads
// served over HTTP from this process as `ampule serve` does (no TLS), from send to the whole body
// received. The stalls are measured in-process (this process's own HTTP client would add its work).
//   --series N (100,000)  --samples N per series (40: 10 min at 15 s)  --repeat N (3)  --no-victoria-metrics
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { labelsFromRecord } from '../../shared/labels';
import { createCipher } from '../../main/crypto/cipher';
import { QueryPool } from '../../main/http/query-pool';
import { promApiJson } from '../../main/query/api-json';
import { handlePromApi } from '../../main/query/api';
import { openTsdb } from '../../main/tsdb';
import { encodeV1, snappy } from '../main/ingest/encode';
import { flag, numberArg } from './args';
import { remoteWrite, servePool, startVictoriaMetrics, stopPeer } from './http-peers';
import { timed } from './stall';

const SERIES = numberArg('series', 100_000);
const SAMPLES = numberArg('samples', 40);
const REPEAT = numberArg('repeat', 3);
const WITH_VM = !flag('no-victoria-metrics');
const PER_REQUEST = 2000;

const dir = mkdtempSync(join(tmpdir(), 'ampule-bench-reads-'));
const cipher = createCipher(randomBytes(32));
const db = openTsdb({ path: join(dir, 'tsdb.db'), workspaceId: 'ws-bench-reads', keys: { current: 1, get: () => cipher } });
// The query workers' bundle, as `ampule serve` runs them (after `npm run build`); else the source through tsx.
const BUNDLE = join(import.meta.dirname, '../../dist/query-worker.mjs');
const pool = new QueryPool(1, existsSync(BUNDLE) ? { script: pathToFileURL(BUNDLE) } : {});
console.log(`query workers: ${existsSync(BUNDLE) ? BUNDLE : 'the TypeScript source through tsx (no dist/ bundle: npm run build)'}`);
let vm: { url: string; proc: ChildProcess } | null = null;
try {
  const labels = Array.from({ length: SERIES }, (_, s) =>
    labelsFromRecord({ __name__: `bench_metric_${s % 100}`, instance: `host-${s}.example.internal:9100`, job: `job-${s % 10}`, path: `/api/v1/item/${s % 37}` }),
  );
  if (WITH_VM) vm = await startVictoriaMetrics(dir);
  const refs = new Array<number>(SERIES).fill(0);
  const end = Math.floor(Date.now() / 1000);
  const t0 = (end - SAMPLES * 15) * 1000;
  let seed = 7;
  const values = new Float64Array(SERIES);
  for (let i = 0; i < SAMPLES; i++) {
    const t = t0 + i * 15_000;
    for (let s = 0; s < SERIES; s++) values[s] = (seed = (seed * 1103515245 + 12345) % 2147483648) % 1000;
    const a = db.appender();
    for (let s = 0; s < SERIES; s++) refs[s] = a.append(refs[s]!, labels[s]!, t, values[s]!);
    a.commit();
    for (let from = 0; vm && from < SERIES; from += PER_REQUEST) {
      const input = labels.slice(from, from + PER_REQUEST).map((l, k) => ({ labels: l.map((x): [string, string] => [x.name, x.value]), samples: [{ t, v: values[from + k]! }] }));
      await remoteWrite(vm.url, new Uint8Array(snappy(encodeV1(input))), 'VictoriaMetrics');
    }
  }
  if (vm) {
    // Rows VictoriaMetrics has buffered become searchable.
    if (!(await fetch(`${vm.url}/internal/force_flush`)).ok) throw new Error('VictoriaMetrics force_flush failed');
    await new Promise((r) => setTimeout(r, 2000));
  }
  const served = await servePool(pool, db.querier());
  console.log(`${SERIES} series × ${SAMPLES} samples, ${REPEAT} rounds taking turns (median shown)`);
  const window = { start: String(end - SAMPLES * 15), end: String(end) };
  const reads: [string, string, Record<string, string>][] = [
    ['series {__name__=~".+"}', 'series', { 'match[]': '{__name__=~".+"}', ...window }],
    ['label values of instance', 'label/instance/values', {}],
    ['label values of instance, matched', 'label/instance/values', { 'match[]': '{__name__=~"bench_metric_[0-4].*"}' }],
    ['label names, matched', 'labels', { 'match[]': '{job=~"job-[1-3]"}' }],
    ['a chart: sum by (job)(rate) over the samples', 'query_range', { query: 'sum by (job)(rate({__name__=~".+"}[1m]))', ...window, step: '15' }],
  ];
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  console.log('\nread | on | took | longest stall of the ingest thread |');
  const ratios: string[] = [];
  // The body as bytes: decoding it would be this process's work on the ingest thread, not the server's.
  // fetch asks for gzip or deflate and inflates what comes; `coding` keeps what each server sent, and its size.
  const coding = new Map<string, string>();
  const body = async (url: string): Promise<Buffer> => {
    const res = await fetch(url);
    const sent = Number(res.headers.get('content-length'));
    coding.set(new URL(url).origin, `${res.headers.get('content-encoding') ?? 'identity'}${sent > 0 ? `, ${(sent / 1e6).toFixed(2)} MB` : ''}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    if (!res.ok) throw new Error(`${url}: ${res.status} ${bytes.subarray(0, 200).toString()}`);
    return bytes;
  };
  /** What both sides must agree on: the series or values listed, or the query's result series. */
  const count = (json: Buffer): number => {
    const d = (JSON.parse(json.toString()) as { data: unknown[] | { result: unknown[] } }).data;
    return Array.isArray(d) ? d.length : d.result.length;
  };
  for (const [name, path, params] of reads) {
    const q = () => db.querier();
    const run = { threads: [] as [number, number][], here: [] as [number, number][], http: [] as number[], vm: [] as number[] };
    const answers: Buffer[] = [Buffer.alloc(0), Buffer.alloc(0)];
    const bytes = [0, 0];
    for (let r = 0; r < REPEAT; r++) {
      // The stall in-process (this process's HTTP client would add its own); the time against VictoriaMetrics over HTTP on both sides.
      run.threads.push(await timed(async () => (bytes[0] = (await pool.run(path, new URLSearchParams(params), q())).json.length)));
      run.here.push(await timed(async () => (bytes[1] = promApiJson(await handlePromApi(path, new URLSearchParams(params), q())).length)));
      if (!vm) continue;
      run.http.push((await timed(async () => (answers[0] = await body(`${served.url}/api/v1/${path}?${new URLSearchParams(params)}`))))[0]);
      run.vm.push((await timed(async () => (answers[1] = await body(`${vm!.url}/api/v1/${path}?${new URLSearchParams({ ...params, nocache: '1' })}`))))[0]);
    }
    if (bytes[0] !== bytes[1]) throw new Error(`${name}: ${bytes[0]} bytes on the query threads, ${bytes[1]} on the ingest thread`);
    if (vm && count(answers[0]!) !== count(answers[1]!)) throw new Error(`${name}: ${count(answers[0]!)} items from Ampule, ${count(answers[1]!)} from VictoriaMetrics`);
    const [tt, ts, ht, hs] = [median(run.threads.map((x) => x[0])), median(run.threads.map((x) => x[1])), median(run.here.map((x) => x[0])), median(run.here.map((x) => x[1]))];
    console.log(`${name} (${(bytes[0]! / 1e6).toFixed(2)} MB) | the query threads | ${ms(tt)} | ${ms(ts)} |`);
    console.log(`${name} | the ingest thread | ${ms(ht)} | ${ms(hs)} |`);
    if (vm) {
      console.log(`${name} | the query threads over HTTP (${coding.get(new URL(served.url).origin)}) | ${ms(median(run.http))} | — |`);
      console.log(`${name} | VictoriaMetrics over HTTP (${coding.get(new URL(vm.url).origin)}) | ${ms(median(run.vm))} | — |`);
    }
    ratios.push(`${name}: stall ${(ts / hs).toFixed(3)}× the ingest thread's` + (vm ? `, time over HTTP ${(median(run.http) / median(run.vm)).toFixed(2)}× VictoriaMetrics` : ''));
  }
  console.log(`\nthe query threads against their peers: ${ratios.join('; ')}`);
  served.close();
} finally {
  if (vm) await stopPeer(vm.proc);
  await pool.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
