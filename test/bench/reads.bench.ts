// bench:reads — what the Prometheus API's reads cost the ingest thread: the longest stall of its
// event loop (a 1 ms timer's largest gap) and the whole answer's time, for the series and label
// listings Grafana's pickers ask for and a range query like a chart's, answered on the query
// threads (the HTTP API and, since 2026-12-07, the window). The peer is the same request answered on
// the ingest thread (how the window's were answered before, and the fallback where no thread starts),
// measured in the same run, taking turns.
//   --series N (100,000)  --samples N per series (40: 10 min at 15 s)  --repeat N (3)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelsFromRecord } from '../../shared/labels';
import { createCipher } from '../../main/crypto/cipher';
import { QueryPool } from '../../main/http/query-pool';
import { promApiJson } from '../../main/query/api-json';
import { handlePromApi } from '../../main/query/api';
import { openTsdb } from '../../main/tsdb';
import { numberArg } from './args';
import { timed } from './stall';

const SERIES = numberArg('series', 100_000);
const SAMPLES = numberArg('samples', 40);
const REPEAT = numberArg('repeat', 3);

const dir = mkdtempSync(join(tmpdir(), 'ampule-bench-reads-'));
const cipher = createCipher(randomBytes(32));
const db = openTsdb({ path: join(dir, 'tsdb.db'), workspaceId: 'ws-bench-reads', keys: { current: 1, get: () => cipher } });
const pool = new QueryPool(1);
try {
  const labels = Array.from({ length: SERIES }, (_, s) =>
    labelsFromRecord({ __name__: `bench_metric_${s % 100}`, instance: `host-${s}.example.internal:9100`, job: `job-${s % 10}`, path: `/api/v1/item/${s % 37}` }),
  );
  const refs = new Array<number>(SERIES).fill(0);
  const end = Math.floor(Date.now() / 1000);
  const t0 = (end - SAMPLES * 15) * 1000;
  for (let i = 0; i < SAMPLES; i++) {
    const a = db.appender();
    for (let s = 0; s < SERIES; s++) refs[s] = a.append(refs[s]!, labels[s]!, t0 + i * 15_000, Math.round(Math.random() * 1000));
    a.commit();
  }
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
  for (const [name, path, params] of reads) {
    const q = () => db.querier();
    const run = { threads: [] as [number, number][], here: [] as [number, number][] };
    const sizes: [number, number] = [0, 0];
    for (let r = 0; r < REPEAT; r++) {
      run.threads.push(await timed(async () => (sizes[0] = (await pool.run(path, new URLSearchParams(params), q())).json.length)));
      run.here.push(await timed(async () => (sizes[1] = promApiJson(await handlePromApi(path, new URLSearchParams(params), q())).length)));
    }
    if (sizes[0] !== sizes[1]) throw new Error(`${name}: ${sizes[0]} bytes on the query threads, ${sizes[1]} on the ingest thread`);
    const [tt, ts, ht, hs] = [median(run.threads.map((x) => x[0])), median(run.threads.map((x) => x[1])), median(run.here.map((x) => x[0])), median(run.here.map((x) => x[1]))];
    console.log(`${name} (${(sizes[0] / 1e6).toFixed(2)} MB) | the query threads | ${ms(tt)} | ${ms(ts)} |`);
    console.log(`${name} | the ingest thread | ${ms(ht)} | ${ms(hs)} |`);
    ratios.push(`${name} ${(ts / hs).toFixed(3)}×`);
  }
  console.log(`\nlongest stall on the query threads against the ingest thread: ${ratios.join('; ')}`);
} finally {
  await pool.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
