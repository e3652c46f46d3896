// Rule evaluation benchmark (`npm run bench:rules`). Not a test: it prints figures.
//
// A real encrypted workspace store holding BENCH_SERIES series (default 10,000: 100 metrics × 100
// instances) with 5 minutes of 1 s samples (every rule's window full), and BENCH_RULES recording
// rules (default 1,000, in groups of 100; half `sum by (job) (rate(m[5m]))`, half
// `avg by (instance) (m)`, each over 100 series) run by the rule scheduler (yielding between
// rules, output committed).
// 1. Evaluation time of one full cycle (every group once), median of 3, with rule queries on this
//    thread and on the query pool taking turns on the same data.
// 2. Ingest throughput in this process through the remote-write Ingester (decode, validation,
//    durable commit) for BENCH_SECONDS with rules off, then as long with rule cycles running back
//    to back — the worst case, an interval no longer than a cycle; the ratio is printed. At a
//    1-minute interval the rules run for (cycle time / 60 s) of each minute and ingestion goes at
//    full speed for the rest.
// 3. Whether rules stall ingestion: each remote-write request's latency (from when it is due to
//    when it is committed; p50, p99 and max) with rules off and on, and the longest single rule
//    evaluation — the most the scheduler, yielding between rules, holds the ingest thread.
// Phases 2 and 3 run for both in the same run: rule queries on this (the ingest) thread, as without
// a query pool, and on the query pool's worker threads as the host runs them (the store is still
// read on this thread for them, and their output appended here).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { labelsFromRecord } from '../../shared/labels';
import { createCipher } from '../../main/crypto/cipher';
import { DEFAULT_LIMITS } from '../../main/ingest/limits';
import { Ingester } from '../../main/ingest/remote-write';
import { openTsdb } from '../../main/tsdb';
import { RuleScheduler } from '../../main/rules/scheduler';
import { QueryPool } from '../../main/http/query-pool';
import { encodeV1, snappy, V1_TYPE, type SeriesInput } from '../main/ingest/encode';
import { numberArg } from './args';

const SERIES = numberArg('series', Number(process.env.BENCH_SERIES ?? 10_000));
const RULES = numberArg('rules', Number(process.env.BENCH_RULES ?? 1_000));
const SECONDS = numberArg('seconds', Number(process.env.BENCH_SECONDS ?? 10));
const METRICS = 100;
const PER_REQUEST = 2000;

const dir = mkdtempSync(join(tmpdir(), 'ampule-bench-rules-'));
const cipher = createCipher(randomBytes(32));
const db = openTsdb({ path: join(dir, 'tsdb.db'), workspaceId: 'bench', keys: { current: 1, get: () => cipher } });
const ingester = new Ingester(db.appender());
// The query workers' bundle, as `ampule serve` runs them (after `npm run build`); else the source through tsx.
const BUNDLE = join(import.meta.dirname, '../../dist/query-worker.mjs');
const pool = new QueryPool(1, existsSync(BUNDLE) ? { script: pathToFileURL(BUNDLE) } : {});
const limits = { ...DEFAULT_LIMITS, retentionMs: 150 * 86_400_000, ingestionRate: 1e12, ingestionBurst: 1e12 };

const labels = (i: number): [string, string][] => [
  ['__name__', `bench_metric_${i % METRICS}`],
  ['instance', `host-${Math.floor(i / METRICS)}`],
  ['job', `job-${i % 10}`],
];

/** One round: every series one sample at t, as remote-write bodies of PER_REQUEST series. */
function round(t: number, k: number): Buffer[] {
  const out: Buffer[] = [];
  for (let start = 0; start < SERIES; start += PER_REQUEST) {
    const s: SeriesInput[] = [];
    for (let i = start; i < Math.min(SERIES, start + PER_REQUEST); i++) s.push({ labels: labels(i), samples: [{ t, v: k * (1 + (i % 7)) }] });
    out.push(snappy(encodeV1(s)));
  }
  return out;
}

async function ingest(bodies: Buffer[]): Promise<number> {
  let n = 0;
  for (const body of bodies) n += (await ingester.ingest({ body, contentType: V1_TYPE, contentEncoding: 'snappy', version: '0.1.0' }, limits, Date.now())).samplesWritten;
  return n;
}

const rulesFile = () => {
  const groups: string[] = [];
  for (let g = 0; g * 100 < RULES; g++) {
    const rules: string[] = [];
    for (let i = g * 100; i < Math.min(RULES, (g + 1) * 100); i++) {
      const m = `bench_metric_${i % METRICS}`;
      rules.push(`      - record: bench:rule_${i}\n        expr: ${i % 2 ? `avg by (instance) (${m})` : `sum by (job) (rate(${m}[5m]))`}\n`);
    }
    groups.push(`  - name: g${g}\n    interval: 1m\n    rules:\n${rules.join('')}`);
  }
  return `groups:\n${groups.join('')}`;
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  // Five minutes of history one second apart, ending an hour ago, then rounds one second apart from
  // there: every rule's [5m] window is full from the start, so each cycle and phase below does the
  // same work a rule (with 15 s history, the cycles measured later held up to 15× the samples).
  let t = Date.now() - 3_600_000 - 300_000;
  let k = 0;
  const history = Array.from({ length: SERIES }, (_, i) => labelsFromRecord(Object.fromEntries(labels(i))));
  const refs = new Array<number>(SERIES).fill(0);
  for (let r = 0; r < 300; r++, t += 1000, k++) {
    const app = db.appender();
    for (let i = 0; i < SERIES; i++) refs[i] = app.append(refs[i]!, history[i]!, t, k * (1 + (i % 7)));
    app.commit();
  }
  const storage = { querier: () => db.querier(), appender: () => db.appender() };
  const inThread = new RuleScheduler(storage, () => [{ name: 'bench', data: rulesFile() }], { timers: false });
  const pooled = new RuleScheduler(storage, () => [{ name: 'bench', data: rulesFile() }], { timers: false, queryRunner: pool });
  let scheduler = inThread;
  const evalAt = () => t - 1000;
  let longestRule = 0;
  const cycle = async () => {
    const started = performance.now();
    for (const g of scheduler.groups()) {
      await scheduler.evaluate(g, evalAt());
      for (const r of g.evaluator.rules) longestRule = Math.max(longestRule, r.health.lastDurationMs);
    }
    return performance.now() - started;
  };
  const failures = (what: string) => {
    const failed = scheduler.groups().flatMap((g) => g.evaluator.rules).filter((r) => r.health.health !== 'ok');
    if (failed.length) throw new Error(`${failed.length} rules failed ${what}: ${failed[0]!.health.lastError}`);
  };
  // The two take turns on the same data, after a cycle each to warm up (the workers load, JIT).
  const cycles: number[] = [];
  const poolCycles: number[] = [];
  for (let r = 0; r < 4; r++) {
    scheduler = inThread;
    const here = await cycle();
    failures('in thread');
    scheduler = pooled;
    const there = await cycle();
    failures('on the pool');
    if (r > 0) (cycles.push(here), poolCycles.push(there));
  }
  const cycleMs = median(cycles);

  const phase = async (withRules: boolean) => {
    let stop = false;
    let cyclesRun = 0;
    const background = (async () => {
      while (withRules && !stop) {
        await cycle();
        cyclesRun++;
      }
    })();
    const end = performance.now() + SECONDS * 1000;
    let samples = 0;
    const latencies: number[] = [];
    while (performance.now() < end) {
      const bodies = round(t, k++);
      for (const body of bodies) {
        const due = performance.now();
        await new Promise((r) => setImmediate(r)); // as the HTTP server would, between requests
        samples += await ingest([body]);
        latencies.push(performance.now() - due);
      }
      t += 1000;
    }
    stop = true;
    await background;
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
    return { rate: samples / SECONDS, cyclesRun, p50: q(0.5), p99: q(0.99), max: latencies.at(-1)! };
  };
  for (let r = 0; r < 5; r++, t += 1000) await ingest(round(t, k++)); // the ingest path warms up before it is timed
  const off = await phase(false);
  scheduler = inThread;
  longestRule = 0;
  const on = await phase(true);
  const longestInThread = longestRule;
  scheduler = pooled;
  longestRule = 0;
  const onPool = await phase(true);
  const longestPool = longestRule;
  const f = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(`rules: ${scheduler.groups().length} groups, ${RULES} recording rules over ${f(SERIES)} series`);
  console.log(`evaluation cycle (all groups), rule queries on this thread: median ${cycleMs.toFixed(0)} ms of [${cycles.map((c) => c.toFixed(0)).join(', ')}] ms; at a 1m interval the rules run ${((cycleMs / 60_000) * 100).toFixed(2)}% of the time`);
  console.log(`ingest, rules off: ${f(off.rate)} samples/s`);
  console.log(`ingest, rules evaluated back to back (${on.cyclesRun} cycles in ${SECONDS}s): ${f(on.rate)} samples/s = ${(on.rate / off.rate).toFixed(2)} × rules off`);
  console.log(`evaluation cycle, rule queries on the query pool (${pool.size} worker${pool.size === 1 ? '' : 's'}): median ${median(poolCycles).toFixed(0)} ms of [${poolCycles.map((c) => c.toFixed(0)).join(', ')}] ms`);
  console.log(`ingest, rules back to back on the pool (${onPool.cyclesRun} cycles in ${SECONDS}s): ${f(onPool.rate)} samples/s = ${(onPool.rate / off.rate).toFixed(2)} × rules off`);
  const dutyRatio = 1 - (cycleMs / 60_000) * (1 - on.rate / off.rate);
  console.log(`ingest at a 1m interval (from the two figures): ≈ ${dutyRatio.toFixed(3)} × rules off`);
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  console.log(`remote-write request latency (${PER_REQUEST} series each), rules off: p50 ${ms(off.p50)}, p99 ${ms(off.p99)}, max ${ms(off.max)}`);
  console.log(`remote-write request latency, rules back to back in thread: p50 ${ms(on.p50)}, p99 ${ms(on.p99)}, max ${ms(on.max)}`);
  console.log(`remote-write request latency, rules back to back on pool:   p50 ${ms(onPool.p50)}, p99 ${ms(onPool.p99)}, max ${ms(onPool.max)}`);
  console.log(`longest single rule evaluation, in thread (all of it holds the ingest thread): ${ms(longestInThread)}`);
  console.log(`longest single rule evaluation, on the pool (wall time; the ingest thread is held only for its store reads and its append): ${ms(longestPool)}`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(async () => {
    await pool.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
