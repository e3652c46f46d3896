// Damage is never silent: one flipped bit anywhere in a data directory (control.db, every
// workspace's tsdb.db and its write-ahead log, TLS files, the master-key file) either gives an
// error that names what is damaged, or answers exactly as before. Issue 14's flips (a 3,000-series
// store answering 200 with 2,500 series and wrong sums; a bare `SqliteError at Storage.maxPage`)
// are replayed on a store of the same shape, and through a real `ampule serve`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFlipBase, filesOf, rowOffsets, tryFlip, type Flip, type FlipBase, type FlipResult, type Outcome } from './flip-data-dir';
import { https, SOAK, startServe } from './harness';

// A deterministic generator, so a failing flip can be replayed (the seed is printed).
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const ISSUE_SHAPE = { series: 3000, waves: 6, samplesPerWave: 60 };
const SMALL_SHAPE = { series: 24, waves: 2, samplesPerWave: 40 };

function tally(results: { flip: Flip; r: FlipResult }[]): Record<Outcome, number> {
  const counts: Record<Outcome, number> = { identical: 0, 'named error': 0, 'unnamed error': 0, 'silent difference': 0 };
  for (const { r } of results) counts[r.outcome]++;
  return counts;
}

describe('issue 14: flipped bits in a 3,000-series tsdb.db', () => {
  let base: FlipBase;
  beforeAll(async () => {
    base = await buildFlipBase([ISSUE_SHAPE, SMALL_SHAPE]);
  }, 300_000);
  afterAll(() => base?.remove());

  const tsdbOf = (ws: string) => join('data', 'workspaces', ws, 'tsdb.db');

  it('gives a named error or identical answers for the issue offsets; flips inside series pages, log records not covered by a checkpoint and chunk rows are named errors of that workspace only', async () => {
    const [a, b] = base.workspaces as [string, string];
    expect(base.answers.get(a)).toMatchObject({ series: 3000 });
    const issue: Flip[] = [
      { file: tsdbOf(a), offset: 86490, mask: 0x40, what: 'issue 14' },
      { file: tsdbOf(a), offset: 179494, mask: 0x20, what: 'issue 14' },
      { file: tsdbOf(a), offset: 131635, mask: 0x20, what: 'issue 14' },
      { file: tsdbOf(a), offset: 121557, mask: 0x01, what: 'issue 14' },
      { file: tsdbOf(a), offset: 3864, mask: 0x01, what: 'issue 14 (maxPage)' },
      { file: tsdbOf(a), offset: 3864, mask: 0x80, what: 'issue 14 (maxPage)' },
    ];
    const results: { flip: Flip; r: FlipResult }[] = [];
    for (const flip of issue) results.push({ flip, r: await tryFlip(base, flip) });
    const rows = rowOffsets(base, a);
    const pick = (table: string, n: number) => rows.filter((r) => r.table === table).slice(0, n);
    const deliberate: Flip[] = [...pick('series_pages', 6), ...rows.filter((r) => r.table === 'log').slice(-3), ...pick('chunks', 4), ...pick('manifest', 2), ...pick('head_state', 1), ...pick('head_parts', 1)].map((r, i) => ({
      file: r.file,
      offset: r.offset + ((i * 7) % Math.min(24, r.length)),
      mask: 1 << (i % 8),
      what: `${r.table} row in ${r.file.endsWith('-wal') ? 'the write-ahead log' : 'the main file'}`,
    }));
    expect(deliberate.filter((f) => f.what.startsWith('series_pages')).length).toBe(6); // the waves made six pages
    for (const flip of deliberate) {
      const r = await tryFlip(base, flip);
      results.push({ flip, r });
      // A log record that a head checkpoint covers is not read at open (its samples come from the
      // checkpoint; only the forwarder reads it again, and names the damage then): answers stay identical.
      if (flip.what.startsWith('log row') && r.outcome === 'identical') continue;
      expect(r.outcome, `${flip.what} at ${flip.file}:${flip.offset}: ${r.detail}`).toBe('named error');
      expect(r.detail).toContain(a);
      expect(r.detail).not.toContain(b); // the other workspace still answers exactly as before
    }
    for (const { flip, r } of results) console.log(`flip ${flip.file}:${flip.offset} ^0x${flip.mask.toString(16)} (${flip.what}): ${r.outcome}${r.detail ? ` — ${r.detail.slice(0, 220)}` : ''}`);
    for (const { flip, r } of results) expect([`named error`, 'identical'], `${flip.file}:${flip.offset}: ${r.detail}`).toContain(r.outcome);
  }, 300_000);

  it('serves a damaged workspace as a 5xx naming workspace, file and item; the server starts and the other workspace answers', async () => {
    const [a, b] = base.workspaces as [string, string];
    const rows = rowOffsets(base, a);
    const page = rows.find((r) => r.table === 'series_pages')!;
    const chunk = rows.find((r) => r.table === 'chunks' && !r.file.endsWith('-wal'))!;
    for (const [row, expected] of [
      [page, /^Workspace ws-\S+: the store file workspaces\/ws-\S+\/tsdb\.db is damaged: series page \d+: /],
      [chunk, /^Workspace ws-\S+: the store file workspaces\/ws-\S+\/tsdb\.db is damaged: chunk row for .* \(part \d+\): /],
    ] as const) {
      await tryFlip(base, { file: row.file, offset: row.offset + 5, mask: 0x10, what: row.table }, async (dir) => {
        const serve = await startServe(join(dir, 'data'), join(dir, 'master.key'));
        try {
          const ca = readFileSync(join(dir, 'data', 'tls', 'ca.crt'), 'utf8');
          const ask = (ws: string, token: string) =>
            https(serve.port, ca, undefined, 'GET', `/workspaces/${ws}/api/v1/query?query=${encodeURIComponent('sum(count_over_time(qm_requests_total[5d]))')}&time=${Date.now() / 1000}`, { Authorization: `Bearer ${token}` });
          const bad = await ask(a, base.tokens[0]!);
          expect(bad.status, bad.text).toBeGreaterThanOrEqual(500);
          const body = JSON.parse(bad.text) as { status: string; error: string };
          expect(body.status).toBe('error');
          expect(body.error.replaceAll(a, 'ws-A')).toMatch(expected);
          expect(body.error).toContain(a);
          expect(body.error).not.toMatch(/qm_requests_total|host-|\/tmp\//); // names the damage, never stored data or the user's folders
          const good = await ask(b, base.tokens[1]!);
          expect(good.status, good.text).toBe(200);
          expect(JSON.parse(good.text)).toMatchObject({ status: 'success', data: { resultType: 'vector' } });
        } finally {
          serve.process.kill('SIGKILL');
          await serve.exited;
        }
      });
    }
  }, 120_000);
});

for (const snapshot of ['crash', 'clean'] as const) {
  describe(`byte flips over every file of a data directory (${snapshot === 'crash' ? 'as kill -9 leaves it: write-ahead logs' : 'after a clean shutdown'})`, () => {
    let base: FlipBase;
    beforeAll(async () => {
      base = await buildFlipBase(SOAK ? [ISSUE_SHAPE, SMALL_SHAPE] : [{ series: 200, waves: 3, samplesPerWave: 60 }, SMALL_SHAPE], snapshot);
    }, 300_000);
    afterAll(() => base?.remove());

    it('each flip gives a named error or identical answers, never a silent difference', async () => {
      const seed = Number(process.env.AMPULE_FLIP_SEED ?? Date.now() % 1_000_000);
      const random = rng(seed);
      const perFile = SOAK ? 150 : 12;
      const perTable = SOAK ? 12 : 2;
      const flips: Flip[] = [];
      for (const file of filesOf(base)) {
        const size = readFileSync(join(base.dir, file)).length;
        for (let i = 0; i < perFile && size > 0; i++) flips.push({ file, offset: Math.floor(random() * size), mask: 1 << Math.floor(random() * 8), what: 'random' });
      }
      for (const ws of base.workspaces) {
        const rows = rowOffsets(base, ws);
        for (const table of ['series_pages', 'log', 'head_state', 'head_parts', 'chunks', 'manifest']) {
          const of = rows.filter((r) => r.table === table);
          for (let i = 0; i < perTable && of.length; i++) {
            const r = of[Math.floor(random() * of.length)]!;
            flips.push({ file: r.file, offset: r.offset + Math.floor(random() * Math.min(r.length, 64)), mask: 1 << Math.floor(random() * 8), what: `${table} row` });
          }
        }
      }
      expect(filesOf(base).some((f) => f.endsWith('tsdb.db-wal')), 'write-ahead logs in the snapshot').toBe(snapshot === 'crash');
      const started = Date.now();
      const results: { flip: Flip; r: FlipResult }[] = [];
      for (const flip of flips) results.push({ flip, r: await tryFlip(base, flip) });
      const counts = tally(results);
      const byFile = new Map<string, Record<Outcome, number>>();
      for (const x of results) {
        const key = x.flip.file.replace(/ws-[0-9a-f-]+/, 'ws-…');
        const c = byFile.get(key) ?? { identical: 0, 'named error': 0, 'unnamed error': 0, 'silent difference': 0 };
        c[x.r.outcome]++;
        byFile.set(key, c);
      }
      console.log(`byte flips, ${snapshot} snapshot (seed ${seed}, ${SOAK ? 'soak' : 'CI'} form, ${((Date.now() - started) / 1000).toFixed(1)} s): ${results.length} flips: ${counts.identical} identical, ${counts['named error']} named error, ${counts['unnamed error']} unnamed error, ${counts['silent difference']} silent difference`);
      for (const [file, c] of byFile) console.log(`  ${file}: ${c.identical} identical, ${c['named error']} named, ${c['unnamed error']} unnamed, ${c['silent difference']} silent`);
      for (const x of results.filter((x) => x.r.outcome === 'unnamed error' || x.r.outcome === 'silent difference').slice(0, 20)) {
        console.log(`  ${x.r.outcome}: ${x.flip.file}:${x.flip.offset} ^0x${x.flip.mask.toString(16)} (${x.flip.what}): ${x.r.detail.slice(0, 300)}`);
      }
      expect(counts['silent difference'], results.filter((x) => x.r.outcome === 'silent difference').map((x) => `${x.flip.file}:${x.flip.offset} ^0x${x.flip.mask.toString(16)}: ${x.r.detail}`).join('\n')).toBe(0);
    }, SOAK ? 3_600_000 : 120_000);

    it('flips in control.db rows that decide access (token ids, scopes, workspace ids and status) are named errors or change nothing', async () => {
      const needles = [...base.tokens.map((t) => t.slice(4, 20)), 'remote_write', ...base.workspaces, 'ACTIVE'];
      const flips: Flip[] = [];
      for (const file of filesOf(base).filter((f) => /control\.db(-wal)?$/.test(f))) {
        const bytes = readFileSync(join(base.dir, file));
        for (const needle of needles) {
          for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) {
            flips.push({ file, offset: at + (flips.length % needle.length), mask: 1 << (flips.length % 8), what: `control.db text ${needle.slice(0, 12)}` });
          }
        }
      }
      expect(flips.length, 'the needles are found in control.db').toBeGreaterThan(needles.length);
      const results: { flip: Flip; r: FlipResult }[] = [];
      for (const flip of flips) results.push({ flip, r: await tryFlip(base, flip) });
      const counts = tally(results);
      console.log(`control.db row flips, ${snapshot} snapshot: ${results.length} flips: ${counts.identical} identical, ${counts['named error']} named error, ${counts['unnamed error']} unnamed error, ${counts['silent difference']} silent difference`);
      const bad = results.filter((x) => x.r.outcome === 'silent difference' || x.r.outcome === 'unnamed error');
      expect(bad.map((x) => `${x.flip.file}:${x.flip.offset} ^0x${x.flip.mask.toString(16)} (${x.flip.what}): ${x.r.outcome}: ${x.r.detail}`)).toEqual([]);
      expect(counts['named error'], 'some flips land in live rows').toBeGreaterThan(0);
    }, SOAK ? 600_000 : 120_000);
  });
}
