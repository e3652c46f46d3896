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

  it('fails where Prometheus (no delayed-name-removal flag) drops __name__ and two outputs collide', () => {
    expectScript(`
load 1m
  a{job="x"} 1 2 3
  b{job="x"} 4 5 6
  c{job="y"} 7 stale _
  d{job="y"} _ _ 8

eval instant at 2m sum(count_over_time({__name__=~"a|b"}[1m]))
  expect fail msg: vector cannot contain metrics with the same labelset

eval range from 0 to 2m step 1m sum by (job) (rate({__name__=~"a|b"}[2m]))
  expect fail msg: vector cannot contain metrics with the same labelset

eval instant at 2m sum(abs({__name__=~"a|b"}))
  expect fail msg: vector cannot contain metrics with the same labelset

# c and d never answer at the same step, but Prometheus checks the function's whole result matrix.
eval range from 0 to 3m step 1m count_over_time({__name__=~"c|d"}[30s])
  expect fail msg: vector cannot contain metrics with the same labelset

eval instant at 2m sum({__name__=~"a|b"} * 2)
  expect fail msg: vector cannot contain metrics with the same labelset

eval range from 0 to 2m step 1m sum by (job) ({__name__=~"a|b"} * 2)
  expect fail msg: vector cannot contain metrics with the same labelset

eval instant at 2m sum(-{__name__=~"a|b"})
  expect fail msg: vector cannot contain metrics with the same labelset

# c and d never answer at the same step: an operator checks step by step.
eval range from 0 to 3m step 1m sum by (job) ({__name__=~"c|d"} * 2)
  {job="y"} 14 _ 16 16

eval instant at 2m sum({__name__=~"a|b"} > 1)
  {} 9

eval instant at 2m sum(last_over_time({__name__=~"a|b"}[1m]))
  {} 9

eval instant at 2m sum(count_over_time(a[1m]))
  {} 1

`);
  });
});
