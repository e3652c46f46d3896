// Prometheus 3 semantics checked as promqltest scripts (the format of test/fixtures/promql),
// each case written from Prometheus's docs and promql/ source, run over the real encrypted store.
import { describe, expect, it } from 'vitest';
import { runScript } from '../../../main/query/promqltest/runner';

function expectScript(script: string): void {
  const r = runScript(script);
  const bad = r.outcomes.filter((o) => o.status !== 'pass').map((o) => `line ${o.line}: ${o.expr}\n  ${o.status}: ${o.reason}`);
  expect(bad).toEqual([]);
  expect(r.passed).toBeGreaterThan(0);
}

describe('Prometheus 3 semantics', () => {
  it('binds a unary sign looser than ^ and tighter than * (unary_op expr %prec MUL)', () => {
    expectScript(`
load 1m
  x 3

eval instant at 0m -1 ^ 2
  -1

eval instant at 0m -2 ^ 2
  -4

eval instant at 0m 2 ^ -1 ^ 2
  0.5

eval instant at 0m (-2) ^ 2
  4

eval instant at 0m -2 * 3 ^ 2
  -18

eval instant at 0m - - 2 ^ 2
  4

eval instant at 0m -x ^ 2
  {} -9

eval instant at 0m 2 ^ -x
  {} 0.125

eval instant at 0m 1 - -2 ^ 2
  5
`);
  });
});
