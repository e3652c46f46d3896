// Prometheus's promqltest scripts for its Prometheus 3 features (test/fixtures/promql-experimental,
// see its NOTICE): anchored/smoothed range selectors, info(), fill modifiers, limitk/limit_ratio,
// type and unit labels, native histograms included. Every eval must run and pass.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScript } from '../../../main/query/promqltest/runner';

const testdata = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/promql-experimental');

describe('promqltest scripts of Prometheus 3 features', () => {
  // duration_expression.test and name_label_dropping.test are run by prometheus3.test.ts.
  const scripts = [['extended_vectors.test', 169], ['info.test', 53], ['fill-modifier.test', 46], ['limit.test', 1], ['type_and_unit.test', 58]] as const;
  for (const [file, minPassed] of scripts) {
    it(file, () => {
      const r = runScript(readFileSync(resolve(testdata, file), 'utf8'));
      const failures = r.outcomes.filter((o) => o.status === 'fail').map((o) => `line ${o.line}: ${o.expr}\n  ${o.reason}`);
      console.log(`${file}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
      expect(failures).toEqual([]);
      expect(r.passed).toBeGreaterThanOrEqual(minPassed);
      expect(r.outcomes.filter((o) => o.status === 'skip').map((o) => `line ${o.line}: ${o.reason}`)).toEqual([]);
    });
  }
});
