// Prometheus's own PromQL test scripts (test/fixtures/promql, see its NOTICE) run against
// our engine over the real encrypted store, native histograms included. Every eval of every
// script must run and pass.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScript } from '../../../main/query/promqltest/runner';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const testdata = resolve(repoRoot, 'test/fixtures/promql');
const files = existsSync(testdata) ? readdirSync(testdata).filter((f) => f.endsWith('.test')).sort() : [];

describe('promqltest scripts', () => {
  it('finds the script corpus', () => {
    if (files.length === 0) console.warn(`no promqltest scripts at ${testdata}`);
    expect(files.length).toBe(13);
  });

  for (const file of files) {
    it(file, () => {
      const r = runScript(readFileSync(resolve(testdata, file), 'utf8'));
      const failures = r.outcomes.filter((o) => o.status === 'fail').map((o) => `line ${o.line}: ${o.expr}\n  ${o.reason}`);
      console.log(`${file}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
      expect(failures).toEqual([]);
      expect(r.passed).toBeGreaterThan(0);
      expect(r.outcomes.filter((o) => o.status === 'skip').map((o) => `line ${o.line}: ${o.reason}`)).toEqual([]);
    });
  }
});
