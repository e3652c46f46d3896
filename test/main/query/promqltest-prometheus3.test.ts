// Prometheus's promqltest scripts for its experimental Prometheus 3 features (test/fixtures/promql3,
// see its NOTICE): anchored/smoothed range selectors and info(). Every eval that needs no native
// histogram must pass; the others are reported as skipped with their reason.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScript } from '../../../main/query/promqltest/runner';

const testdata = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/promql3');

describe('promqltest scripts of Prometheus 3 features', () => {
  for (const [file, minPassed] of [['extended_vectors.test', 120], ['info.test', 52]] as const) {
    it(file, () => {
      const r = runScript(readFileSync(resolve(testdata, file), 'utf8'));
      const failures = r.outcomes.filter((o) => o.status === 'fail').map((o) => `line ${o.line}: ${o.expr}\n  ${o.reason}`);
      console.log(`${file}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
      expect(failures).toEqual([]);
      expect(r.passed).toBeGreaterThanOrEqual(minPassed);
      for (const o of r.outcomes) if (o.status === 'skip') expect(o.reason).toMatch(/native histogram/);
    });
  }
});
