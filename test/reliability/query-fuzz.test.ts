// Hostile-query fuzz over the Prometheus HTTP API and a real encrypted store: thousands of
// mutations of valid queries (and of their parameters) plus giant inputs. Every answer must be
// 200, 400 bad_data, 422 execution or 503 timeout — never 500, never a throw — and the engine must
// still answer a reference query correctly afterwards. CI runs a short pass; `npm run soak:query`
// (AMPULE_SOAK=1) a long one. AMPULE_FUZZ_SEED replays a run; AMPULE_FUZZ_ITERATIONS sets its length.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCipher } from '../../main/crypto/cipher';
import { type PromApiResponse, handlePromApi } from '../../main/query/api';
import { openTsdb, type Tsdb } from '../../main/tsdb';
import { labelsFromRecord } from '../../shared/labels';
import { tempDirs } from '../temp-dirs';

const SOAK = process.env['AMPULE_SOAK'] === '1';
const ITERATIONS = Number(process.env['AMPULE_FUZZ_ITERATIONS'] ?? (SOAK ? 50_000 : 2_500));
// Heavy queries are cut short by limits lower than the defaults (tested in test/main/query/limits.test.ts):
// this fuzz is about input handling, and must stay quick.
const LIMITS = { timeoutMs: SOAK ? 5000 : 1000, maxSamples: SOAK ? 5_000_000 : 1_000_000, maxResultPoints: SOAK ? 2_000_000 : 500_000 };
const GIANT_SIZES = SOAK ? [100_000, 300_000, 1_000_000] : [100_000];
const SEED = Number(process.env['AMPULE_FUZZ_SEED'] ?? Date.now() % 2 ** 31);
const T0 = 1_700_000_000_000;
const END = T0 + 3_600_000;

const SEEDS = [
  'fz_requests_total', 'fz_requests_total{job="api"}', 'fz_requests_total{job=~"a.*|db",code!~"5.."}',
  'rate(fz_requests_total[5m])', 'sum by (job) (rate(fz_requests_total[5m]))', 'sum without (instance) (fz_requests_total)',
  'topk(3, fz_requests_total)', 'bottomk(2, rate(fz_requests_total[1m]))', 'quantile(0.9, fz_temp)', 'count_values("v", fz_temp)',
  'histogram_quantile(0.99, sum by (le) (rate(fz_latency_bucket[5m])))', 'avg_over_time(fz_temp[10m])', 'max_over_time(fz_temp[1h:1m])',
  'count_over_time(fz_requests_total[30m:10s])', 'rate(fz_requests_total[5m] offset 10m)', 'fz_temp @ 1700000100', 'fz_temp @ end()',
  'fz_requests_total / on (job, instance) group_left fz_temp', 'fz_temp > bool 20', 'fz_temp and fz_requests_total', 'fz_temp unless fz_temp{job="db"}',
  'label_replace(fz_temp, "x", "$1", "job", "(.*)")', 'label_join(fz_temp, "x", "-", "job", "instance")', 'absent(nope)', 'vector(1) + 2 ^ 3 % 5',
  'time() - timestamp(fz_temp)', 'sort_desc(fz_temp)', 'clamp(fz_temp, 0, 100)', 'predict_linear(fz_temp[10m], 3600)', 'deriv(fz_temp[10m])',
  'changes(fz_temp[1h])', 'resets(fz_requests_total[1h])', 'irate(fz_requests_total[5m])', 'increase(fz_requests_total[1h])', 'abs(-fz_temp)',
  'round(fz_temp, 0.5)', 'scalar(sum(fz_temp))', '"a string"', '1e3', '-Inf', 'NaN', 'stddev by (job) (fz_temp)', 'group(fz_temp)',
  '{__name__=~"fz_.*"}', 'fz_temp[5m]', 'sum(fz_temp)[10m:1m]', 'min_over_time(rate(fz_requests_total[1m])[10m:30s])',
];
const TOKENS = [
  '(', ')', '[', ']', '{', '}', ',', '"', "'", '`', '=~', '!~', '!=', '=', '+', '-', '*', '/', '%', '^', '==', '>', '<=', 'by', 'without',
  'on', 'ignoring', 'group_left', 'group_right', 'offset', '@', 'start()', 'end()', 'sum', 'rate', 'topk', 'count_values', ':', '5m', '1s',
  '0s', 'bool', 'and', 'or', 'unless', '\\', '\n', '#', '\u0000', '\ud800', 'é', '$', '.', '1e309', '-', 'x', '__name__', ' ', '[1y:1ms]',
];
const NUMBERS = ['1e309', '-1e309', 'NaN', 'Inf', '0x7fffffffffffffff', '99999999999999999999999', '1e-400', '-0', '0x', '1_000', '.5e', '9'.repeat(400)];
const DURATIONS = ['0s', '999999999999999y', '1ms', '-1m', '1y1y', '5mm', '1e3s', '0x10m', '9223372036854775807ms', '1h30', '30m5h', '1y:1ms', ''];
const REGEXES = [
  '(a+)+b', '(a|aa)*c', '(?i)API', '\\z', '(?=x)', '(a)\\1', '[[:alpha:]]+', '\\pL', '(?P<n>.)', '(', '*', 'a{1001}', '\\Q.*\\E', '\\C', '[z-a]',
  '(?<=a)', 'x**', '\\x{110000}', '(?i', '[[:foo:]]',
];
const FUNCS = ['abs', 'rate', 'sum', 'label_replace', 'histogram_quantile', 'topk', 'vector', 'scalar', 'sort', 'absent_over_time', 'nope'];
const TIMES = [String(END / 1000), 'abc', '1e400', '-1e20', '2023-11-14T22:13:20Z', '2023-13-40T99:99:99Z', '', 'NaN', 'Inf', '0x10'];

/** Mulberry32: a small seeded PRNG, so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function mutator(rand: () => number) {
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const at = (q: string) => int(q.length + 1);
  const ops: ((q: string) => string)[] = [
    (q) => { const i = at(q); return q.slice(0, i) + pick(TOKENS) + q.slice(i); },
    (q) => { const i = at(q), j = i + int(8); return q.slice(0, i) + q.slice(j); },
    (q) => { const i = int(q.length); return q.slice(0, i) + pick(TOKENS).slice(0, 1) + q.slice(i + 1); },
    (q) => { const i = at(q), j = Math.min(q.length, i + int(20)); return q.slice(0, j) + q.slice(i, j) + q.slice(j); },
    (q) => { const o = pick(SEEDS); return q.slice(0, at(q)) + o.slice(int(o.length)); },
    (q) => pick([`${pick(FUNCS)}(${q})`, `(${q})`, `-${q}`, `${q} offset ${pick(DURATIONS)}`, `${q}[${pick(DURATIONS)}]`, `${q} @ ${pick(NUMBERS)}`, `${q} ${pick(['+', 'and', '/ on(job)', '> bool'])} ${pick(SEEDS)}`]),
    (q) => q.replace(/\d+(\.\d+)?(e\d+)?/, () => pick(NUMBERS)),
    (q) => q.replace(/\d+[smhdwy]/, () => pick(DURATIONS)),
    (q) => q.replace(/"[^"]*"/, () => JSON.stringify(pick(REGEXES))).replace(/(\w)=("|')/, '$1=~$2'),
  ];
  return (q: string): string => {
    let out = q;
    for (let n = 1 + int(3); n > 0; n--) out = pick(ops)(out);
    return out;
  };
}

/** Inputs of 100 k – 1 M characters: regexes (literal and not), matchers, nesting, strings, numbers. */
function giantInputs(size: number): string[] {
  const alts = Array.from({ length: Math.ceil(size / 8) }, (_, i) => `v${i}`).join('|').slice(0, size).replace(/\|?$/, '');
  return [
    `fz_temp{job=~"${'a'.repeat(size)}"}`,
    `fz_temp{job=~"${'[a-z]x?'.repeat(Math.ceil(size / 7))}"}`,
    `fz_temp{job=~"${alts}"}`,
    `fz_temp{job!~"${'(a|b)*'.repeat(Math.ceil(size / 6))}"}`,
    `fz_temp{${Array.from({ length: Math.ceil(size / 12) }, (_, i) => `l${i}="v"`).join(',')}}`,
    `${'('.repeat(size / 2)}fz_temp${')'.repeat(size / 2)}`,
    `${'-'.repeat(size)}1`,
    `${'abs('.repeat(size / 5)}fz_temp${')'.repeat(size / 5)}`,
    Array.from({ length: Math.ceil(size / 10) }, () => 'fz_temp').join(' + '),
    `"${'x'.repeat(size)}"`,
    `fz_temp{job="${'x'.repeat(size)}"}`,
    '9'.repeat(size),
    `label_replace(fz_temp, "a", "$1", "job", "${'(a)'.repeat(Math.ceil(size / 3))}")`,
    `rate(fz_temp[${'9'.repeat(size)}s])`,
  ];
}

const ALLOWED: Record<number, string> = { 200: 'success', 400: 'bad_data', 422: 'execution', 503: 'timeout' };

describe('hostile-query fuzz', () => {
  const dirs = tempDirs('ampule-query-fuzz-');
  let db: Tsdb;
  const outcomes = new Map<number, number>();
  let slowest = { ms: 0, what: '' };

  beforeAll(() => {
    const cipher = createCipher(randomBytes(32));
    db = openTsdb({ path: join(dirs.make(), 'ws.db'), workspaceId: 'ws-fuzz', keys: { current: 1, get: () => cipher } });
    const app = db.appender();
    for (const job of ['api', 'db']) {
      for (const instance of ['a', 'b']) {
        const series = [
          labelsFromRecord({ __name__: 'fz_requests_total', job, instance, code: '200' }),
          labelsFromRecord({ __name__: 'fz_temp', job, instance }),
          ...['0.1', '1', '+Inf'].map((le) => labelsFromRecord({ __name__: 'fz_latency_bucket', job, instance, le })),
        ];
        series.forEach((labels, i) => {
          let ref = 0;
          for (let t = T0; t <= END; t += 15_000) ref = app.append(ref, labels, t, i === 1 ? 20 + Math.sin(t / 1e6) : (t - T0) / 1000 * (i + 1));
        });
      }
    }
    app.commit();
  });

  afterAll(() => {
    db.close();
    dirs.removeAll();
    console.log(`query fuzz (seed ${SEED}): ${[...outcomes].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(', ')}; slowest ${slowest.ms.toFixed(0)} ms: ${slowest.what}`);
  });

  const call = async (path: string, params: Record<string, string | string[]>): Promise<PromApiResponse> => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
    let r: PromApiResponse;
    const started = performance.now();
    try {
      r = await handlePromApi(path, p, db.querier(), { now: () => END, ...LIMITS });
      const ms = performance.now() - started;
      if (ms > slowest.ms) slowest = { ms, what: `${path} ${JSON.stringify(params).slice(0, 200)}` };
    } catch (e) {
      throw new Error(`handlePromApi threw for ${path} ${JSON.stringify(params).slice(0, 300)} (seed ${SEED}): ${(e as Error).stack}`);
    }
    outcomes.set(r.status, (outcomes.get(r.status) ?? 0) + 1);
    const body = r.body as { status?: string; errorType?: string; error?: string };
    const expected = ALLOWED[r.status];
    const shown = `${path} ${JSON.stringify(params).slice(0, 300)} → ${r.status} ${JSON.stringify(body).slice(0, 300)} (seed ${SEED})`;
    if (!expected) throw new Error(`status ${r.status} is not allowed: ${shown}`);
    if (r.status === 200 ? body.status !== 'success' : body.errorType !== expected) throw new Error(`wrong body: ${shown}`);
    if (r.status !== 200 && (typeof body.error !== 'string' || body.error.length > 2000)) throw new Error(`error text missing or unbounded: ${shown}`);
    JSON.stringify(r.body); // must serialise
    return r;
  };

  /** The engine still answers a known query right. */
  const reference = async (): Promise<void> => {
    const r = await call('query', { query: 'count(fz_temp)', time: String(END / 1000) });
    expect((r.body as { data: { result: unknown } }).data.result).toEqual([{ metric: {}, value: [END / 1000, '4'] }]);
  };

  it(`answers ${ITERATIONS} mutated queries with 200 or a 4xx/503 of the right type`, async () => {
    const rand = prng(SEED);
    const mutate = mutator(rand);
    const int = (n: number) => Math.floor(rand() * n);
    for (let i = 0; i < ITERATIONS; i++) {
      const q = mutate(SEEDS[int(SEEDS.length)]!);
      const kind = rand();
      if (kind < 0.65) await call('query', { query: q, time: rand() < 0.9 ? String(END / 1000) : TIMES[int(TIMES.length)]!, ...(rand() < 0.05 ? { timeout: DURATIONS[int(DURATIONS.length)]! } : {}) });
      else if (kind < 0.9) {
        const start = rand() < 0.9 ? String(T0 / 1000) : TIMES[int(TIMES.length)]!;
        const step = rand() < 0.85 ? String([15, 60, 300][int(3)]) : [...DURATIONS, ...NUMBERS][int(DURATIONS.length + NUMBERS.length)]!;
        await call('query_range', { query: q, start, end: String(END / 1000), step });
      } else {
        const path = ['series', 'labels', 'label/job/values', 'label/__name__/values'][int(4)]!;
        await call(path, { 'match[]': q, ...(rand() < 0.2 ? { limit: pick(['0', '-1', '1e9', 'x', '2']) } : {}) });
      }
      if (i % 500 === 499) await reference();
      if (SOAK && i % 5000 === 4999) console.log(`query fuzz: ${i + 1} of ${ITERATIONS}, slowest ${slowest.ms.toFixed(0)} ms`);
    }
    await reference();
    function pick(xs: string[]): string {
      return xs[int(xs.length)]!;
    }
  }, SOAK ? 3_600_000 : 120_000);

  it(`answers giant inputs (${GIANT_SIZES.join(', ')} chars) with 200 or bad_data`, async () => {
    for (const size of GIANT_SIZES) {
      for (const q of giantInputs(size)) {
        await call('query', { query: q, time: String(END / 1000) });
        await call('series', { 'match[]': q });
      }
    }
    await reference();
  }, SOAK ? 3_600_000 : 120_000);
});
