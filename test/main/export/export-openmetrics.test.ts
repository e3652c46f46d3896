// `ampule export` as OpenMetrics text, on a real data directory: the text is checked line by line,
// then loaded by Debian's promtool (`tsdb create-blocks-from openmetrics`) and read back with
// `promtool tsdb dump`: every sample, value and millisecond must come back. Also the file rules
// (0600, no overwrite without --force) and the errors a user meets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempKeyFileDir } from '../core/key-file-dir';
import { openAppliance } from '../../../main/core/open-appliance';
import { main } from '../../../main/cli/index';
import { labelsFromRecord, type Labels } from '../../../shared/labels';

const PROMTOOL = '/usr/bin/promtool';
const promtoolMissing = existsSync(PROMTOOL) ? null : `${PROMTOOL} is missing: apt-get install prometheus`;

const STALE = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0]!;
let dir: string;
let keyFile: string;
let ws: string;
/** What was stored: series key (Go-quoted label string as promtool prints it) → [ms, value][]. */
const stored = new Map<string, [number, number][]>();
let staleCount = 0;

/** Labels as `promtool tsdb dump` prints them: {a="x", b="y"} sorted, Go-quoted values. */
function goLabels(labels: Labels): string {
  return `{${labels.map((l) => `${l.name}=${JSON.stringify(l.value)}`).join(', ')}}`;
}

// Seven days of data at 15 s for a few metrics (2 h buckets, many chunk rows), timestamps with odd
// milliseconds (some do not survive float seconds * 1000 unaided), values of every kind.
const t0 = Date.UTC(2026, 10, 1);
beforeAll(async () => {
  ({ dir, keyFile } = tempKeyFileDir('ampule-export-'));
  const app = await openAppliance({ dataDir: join(dir, 'data'), masterKeyFile: keyFile });
  ws = app.control.createWorkspace({ alias: 'exp' }).workspaceId;
  app.tenant(ws).metadata.add([
    { metric: 'http_requests', type: 'counter', help: 'Requests "served"\nby path \\ method.', unit: '' },
    { metric: 'temperature_celsius', type: 'gauge', help: 'Room temperature.', unit: 'celsius' },
    { metric: 'latency_seconds', type: 'histogram', help: 'Latency.', unit: 'seconds' },
  ]);
  const series: Record<string, string>[] = [
    { __name__: 'http_requests_total', path: '/a"b\\c\nd', method: 'GET' },
    { __name__: 'http_requests_total', path: '/ünï', method: 'POST' },
    { __name__: 'temperature_celsius', room: 'lab' },
    { __name__: 'latency_seconds_bucket', le: '0.1' },
    { __name__: 'latency_seconds_bucket', le: '+Inf' },
    { __name__: 'latency_seconds_count' },
    { __name__: 'up', job: 'node', instance: 'a:9100' },
  ];
  const a = app.store(ws).appender();
  const refs = series.map(() => 0);
  const n = 7 * 24 * 240;
  for (let i = 0; i < n; i++) {
    const t = t0 + i * 15_000 + ((i * 7919) % 1000);
    series.forEach((rec, k) => {
      let v = k === 2 ? 20 + Math.sin(i / 100) : k === 6 ? 1 : i * (k + 1) + 0.25;
      if (k === 6 && i === n - 1) v = STALE;
      if (k === 2 && i === 10) v = NaN;
      if (k === 2 && i === 11) v = Infinity;
      if (k === 2 && i === 12) v = -1e-300;
      if (k === 2 && i === 13) v = 1.7976931348623157e308;
      refs[k] = a.append(refs[k]!, labelsFromRecord(rec), t, v);
      const key = goLabels(labelsFromRecord(rec));
      if (k === 6 && i === n - 1) {
        staleCount++;
        return;
      }
      let list = stored.get(key);
      if (!list) stored.set(key, (list = []));
      list.push([t, v]);
    });
    if (i % 5000 === 0) a.commit();
  }
  a.commit();
  app.close();
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[], opts: { env?: Record<string, string> } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  let data = '';
  const status = await main([...argv, '--data-dir', join(dir, 'data'), '--master-key-file', keyFile], {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env: opts.env ?? {},
    stdout: { write: async (c) => void (data += c) },
  });
  return { status, out: out.join('\n'), err: err.join('\n'), data };
}

describe('ampule export (OpenMetrics text)', () => {
  it('writes families with TYPE/UNIT/HELP, escaped labels, seconds timestamps, no stale markers, # EOF', async () => {
    const r = await run(['export', '--workspace', ws, '--match', '{__name__=~"http_requests_total|temperature_celsius|up|latency_seconds_count"}', '--end', String((t0 + 3 * 60_000) / 1000)]);
    expect(r.status).toBe(0);
    const lines = r.data.split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.at(-2)).toBe('# EOF');
    expect(r.data).toContain('# TYPE http_requests counter\n# HELP http_requests Requests \\"served\\"\\nby path \\\\ method.\n');
    expect(r.data).toContain('# TYPE temperature_celsius gauge\n# UNIT temperature_celsius celsius\n# HELP temperature_celsius Room temperature.\n');
    // A histogram's series cannot be exposed per OpenMetrics MetricPoint from separate series: untyped.
    expect(r.data).not.toContain('# TYPE latency_seconds');
    expect(r.data).toContain(`http_requests_total{method="GET",path="/a\\"b\\\\c\\nd"} 0.25 ${t0 / 1000}\n`);
    expect(r.data).toContain(`temperature_celsius{room="lab"} NaN `);
    expect(r.data).toContain(`temperature_celsius{room="lab"} +Inf `);
    // Each series' lines together (Metrics not interleaved), families not interleaved.
    const seen: string[] = [];
    for (const l of lines) {
      if (l === '' || l.startsWith('#')) continue;
      const s = l.slice(0, l.lastIndexOf(' ', l.lastIndexOf(' ') - 1));
      if (seen.at(-1) !== s) {
        expect(seen).not.toContain(s);
        seen.push(s);
      }
    }
    expect(seen).toHaveLength(5);
    expect(r.err).toMatch(/export: 5 series, \d+ samples of ws-\S+ to stdout/);
  });

  it('pages and slices: a tiny page budget gives the same text as one page', async () => {
    const { runExport, OpenMetricsTarget } = await import('../../../main/export/export');
    const app = await openAppliance({ dataDir: join(dir, 'data'), masterKeyFile: keyFile });
    try {
      const q = app.store(ws).querier();
      const meta = (m: string) => app.tenant(ws).metadata.entries(m)[0]?.[1].at(-1);
      const all = [[{ type: '=~' as const, name: '__name__', value: '^(?:.+)$' }]];
      const texts: string[] = [];
      for (const pageSamples of [undefined, 10_000, 500]) {
        let text = '';
        let pieces = 0;
        const r = await runExport({ querier: q, metadata: meta }, new OpenMetricsTarget({ write: async (c) => void ((text += c), pieces++) }, meta), { selectors: all, mint: -8.64e15, maxt: 8.64e15, ...(pageSamples ? { pageSamples } : {}) });
        expect(r.seriesDone).toBe(7);
        expect(r.staleMarkersSkipped).toBe(staleCount);
        expect(pieces).toBeGreaterThan(100); // written as it goes, never as one string
        texts.push(text);
      }
      expect(texts[1]).toBe(texts[0]);
      expect(texts[2]).toBe(texts[0]);
    } finally {
      app.close();
    }
  }, 120_000);

  it.skipIf(promtoolMissing)('loads into promtool tsdb create-blocks-from openmetrics with every sample intact', async () => {
    const file = join(dir, 'all.om');
    const r = await run(['export', '--workspace', ws, '--output', file]);
    expect(r.status).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const blocks = join(dir, 'blocks');
    execFileSync(PROMTOOL, ['tsdb', 'create-blocks-from', 'openmetrics', file, blocks], { stdio: 'pipe' });
    mkdirSync(join(blocks, 'wal')); // dump opens the folder as a TSDB, which wants one
    const dump = execFileSync(PROMTOOL, ['tsdb', 'dump', '--min-time', String(t0 - 1), blocks], { maxBuffer: 1 << 30 }).toString('utf8');
    const got = new Map<string, [number, number][]>();
    for (const line of dump.split('\n')) {
      if (line === '') continue;
      const m = /^(\{.*\}) (\S+) (-?\d+)$/.exec(line);
      expect(m, line).not.toBeNull();
      const v = m![2] === '+Inf' ? Infinity : m![2] === '-Inf' ? -Infinity : Number(m![2]);
      let list = got.get(m![1]!);
      if (!list) got.set(m![1]!, (list = []));
      list.push([Number(m![3]), v]);
    }
    expect([...got.keys()].sort()).toEqual([...stored.keys()].sort());
    let total = 0;
    for (const [key, want] of stored) {
      const have = got.get(key)!.sort((a, b) => a[0] - b[0]);
      expect(have.length, key).toBe(want.length);
      for (let i = 0; i < want.length; i++) {
        if (have[i]![0] !== want[i]![0] || !Object.is(have[i]![1], want[i]![1])) expect([key, have[i]], `sample ${i}`).toEqual([key, want[i]]);
      }
      total += want.length;
    }
    expect(total).toBeGreaterThan(280_000);
  }, 300_000);

  it('refuses to overwrite without --force, creates 0600 with --force; clear errors', async () => {
    const file = join(dir, 'existing.om');
    writeFileSync(file, 'keep me', { mode: 0o644 });
    const refused = await run(['export', '--workspace', ws, '--output', file]);
    expect(refused).toMatchObject({ status: 1, err: expect.stringContaining('already exists; add --force') });
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    const forced = await run(['export', '--workspace', ws, '--output', file, '--force', '--match', 'up', '--json']);
    expect(forced.status).toBe(0);
    expect(JSON.parse(forced.out)).toMatchObject({ series: 1, staleMarkersSkipped: 1, format: 'openmetrics' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toMatch(/^up\{instance="a:9100",job="node"\} 1 \d+(\.\d+)?\n/);

    expect(await run(['export', '--workspace', 'ws-00000000-0000-0000-0000-000000000000'])).toMatchObject({ status: 1, err: expect.stringContaining('no workspace ws-00000000-0000-0000-0000-000000000000') });
    expect(await run(['export', '--workspace', ws, '--match', 'up{'])).toMatchObject({ status: 2, err: expect.stringContaining('invalid series selector') });
    expect(await run(['export', '--workspace', ws, '--start', 'yesterday'])).toMatchObject({ status: 2, err: expect.stringContaining('--start') });
    expect(await run(['export', '--workspace', ws, '--output', join(dir, 'nope', 'x.om')])).toMatchObject({ status: 1, err: expect.stringContaining('its folder does not exist') });
    expect(await run(['export', '--workspace', ws, '--url', 'https://user:secret@example.com/api/v1/write'])).toMatchObject({ status: 2, err: expect.stringContaining('must not hold credentials') });
    expect(await run(['export', '--workspace', ws, '--url', 'http://example.com/api/v1/write'])).toMatchObject({ status: 2, err: expect.stringContaining('https://') });
    const help = await run(['export', '--help']);
    expect(help.out).toMatch(/plaintext/);
  });
});
