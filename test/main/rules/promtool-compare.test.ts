// Debian's promtool (2.42) is the yardstick: every fixture rule file gets the same verdict from
// `promtool check rules` and from our validator, and every fixture unit-test file the same verdict
// from `promtool test rules` and from our runner. promtool runs for real; the file name says which
// verdict both must give (good-/bad-, pass-/fail-), so a change in either side shows.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRuleFile, RuleFileError } from '../../../main/rules/rule-file';
import { runRuleTestFile } from '../../../main/rules/unit-test';

const PROMTOOL = '/usr/bin/promtool';
const hasPromtool = existsSync(PROMTOOL);
if (!hasPromtool) console.log(`SKIPPED promtool comparisons: ${PROMTOOL} is not installed (Debian package prometheus)`);

const checkDir = join(__dirname, 'fixtures/check');
const unitDir = join(__dirname, 'fixtures/unit');
const checkFiles = readdirSync(checkDir).filter((f) => f.endsWith('.yml')).sort();
const unitFiles = readdirSync(unitDir).filter((f) => f.endsWith('.test.yml')).sort();

function promtool(args: string[], cwd: string): boolean {
  const r = spawnSync(PROMTOOL, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return r.status === 0;
}

describe.skipIf(!hasPromtool)('rule files: our validator vs promtool check rules', () => {
  it.each(checkFiles)('%s', (f) => {
    const want = f.startsWith('good');
    expect(promtool(['check', 'rules', f], checkDir), 'promtool verdict').toBe(want);
    let ours = true;
    try {
      parseRuleFile(readFileSync(join(checkDir, f), 'utf8'));
    } catch (e) {
      if (!(e instanceof RuleFileError)) throw e;
      ours = false;
      // Every problem names where it is.
      for (const p of e.problems) expect(p.line ?? p.group ?? p.field, JSON.stringify(p)).toBeDefined();
    }
    expect(ours, 'our verdict').toBe(want);
  }, 60_000);

  it(`covers both verdicts (${checkFiles.length} files)`, () => {
    expect(checkFiles.filter((f) => f.startsWith('good')).length).toBeGreaterThanOrEqual(8);
    expect(checkFiles.filter((f) => f.startsWith('bad')).length).toBeGreaterThanOrEqual(30);
  });
});

describe.skipIf(!hasPromtool)('rule unit tests: our runner vs promtool test rules', () => {
  it.each(unitFiles)('%s', (f) => {
    const want = f.startsWith('pass');
    expect(promtool(['test', 'rules', f], unitDir), 'promtool verdict').toBe(want);
    const r = runRuleTestFile(join(unitDir, f));
    expect(r.passed, r.errors.join('\n')).toBe(want);
    if (!want) expect(r.errors.length).toBeGreaterThan(0);
  }, 60_000); // a bound for a shared, busy machine (two processes per file), not a speed target
});

describe('rule problems name group, rule and field', () => {
  it('a bad record name inside the second group', () => {
    const text = 'groups:\n  - name: a\n  - name: b\n    rules:\n      - record: ok\n        expr: up\n      - record: not-ok\n        expr: up\n';
    try {
      parseRuleFile(text);
      expect.unreachable();
    } catch (e) {
      expect((e as RuleFileError).problems).toEqual([{ message: 'invalid recording rule name: not-ok', group: 'b', rule: 2, ruleName: 'not-ok', field: 'record', line: 7, column: 17 }]);
      expect((e as Error).message).toBe('7:17, group "b", rule 2 ("not-ok"), field record: invalid recording rule name: not-ok');
    }
  });

  it('query_offset (newer Prometheus) is accepted and parsed', () => {
    const f = parseRuleFile('groups:\n  - name: a\n    interval: 2m\n    query_offset: 30s\n    limit: 5\n    rules: []\n');
    expect(f.groups[0]).toMatchObject({ name: 'a', intervalMs: 120_000, queryOffsetMs: 30_000, limit: 5 });
  });
});
