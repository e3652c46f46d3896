// `ampule promqltest FILE…`: per-file results, the final tally line, exit status.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../../main/cli/index';

const dir = mkdtempSync(join(tmpdir(), 'ampule-promqltest-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(files: Record<string, string>): Promise<{ status: number; out: string[] }> {
  const paths = Object.entries(files).map(([name, text]) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  });
  const out: string[] = [];
  const status = await main(['promqltest', ...paths], { out: (l) => out.push(l), err: (l) => out.push(l), env: {} });
  return { status, out };
}

describe('ampule promqltest', () => {
  it('passes float and native-histogram evals and prints the tally', async () => {
    const r = await run({
      'good.test': [
        'load 1m',
        '  up{job="a"} 1 1 stale',
        '  hist {{schema:0 sum:1 count:1}}',
        '',
        'eval instant at 1m up',
        '  up{job="a"} 1',
        '',
        'eval instant at 2m up',
        '',
        'eval instant at 1m hist',
        '  hist {{schema:0 sum:1 count:1}}',
        '',
      ].join('\n'),
    });
    expect(r.status).toBe(0);
    expect(r.out[0]).toBe('good.test: 3 passed, 0 failed, 0 skipped');
    expect(r.out[r.out.length - 1]).toBe('3 passed, 0 failed, 0 skipped');
  });

  it('exits non-zero when an eval fails, naming it', async () => {
    const r = await run({ 'bad.test': 'load 1m\n  up 1\n\neval instant at 0m up\n  up 2\n' });
    expect(r.status).toBe(1);
    expect(r.out.join('\n')).toContain('FAIL line 4: up');
    expect(r.out[r.out.length - 1]).toBe('0 passed, 1 failed, 0 skipped');
  });
});
