// Prometheus 3 semantics checked as promqltest scripts (the format of test/fixtures/promql),
// each case written from Prometheus's docs and promql/ source, run over the real encrypted store.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../../../shared/labels';
import { ratioOffset } from '../../../main/query/aggregate';
import type { EngineOptions } from '../../../main/query/engine';
import { TEST_ENGINE_OPTIONS, runScript } from '../../../main/query/promqltest/runner';
import { xxhash64 } from '../../../main/query/xxhash64';

/** Prometheus as served: names dropped where functions and operators drop them. */
const SERVED: EngineOptions = { ...TEST_ENGINE_OPTIONS, delayedNameRemoval: false };

function expectScript(script: string, options: EngineOptions = SERVED): void {
  const r = runScript(script, options);
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

# The same for a function evaluated step by step: the first steps see only c, one name, and the
# check must still catch d later.
eval range from 0 to 3m step 1m quantile_over_time(0.5, {__name__=~"c|d"}[30s])
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

  it('with delayed name removal (the promqltest harness), keeps names until the end', () => {
    expectScript(`
load 1m
  a{job="x"} 1 2 3
  b{job="x"} 4 5 6

eval instant at 2m sum(count_over_time({__name__=~"a|b"}[1m]))
  {} 2

eval instant at 2m count_over_time({__name__=~"a|b"}[1m])
  expect fail msg: vector cannot contain metrics with the same labelset
`, TEST_ENGINE_OPTIONS);
    const file = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/promql-experimental/name_label_dropping.test');
    const r = runScript(readFileSync(file, 'utf8'));
    console.log(`name_label_dropping.test: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
    expect(r.outcomes.filter((o) => o.status !== 'pass').map((o) => `line ${o.line}: ${o.expr}: ${o.reason}`)).toEqual([]);
    expect(r.passed).toBe(30);
  });

  it('hashes as xxhash64 (reference vectors of the xxHash project, seed 0)', () => {
    const h = (s: string): string => xxhash64(new TextEncoder().encode(s)).toString(16);
    expect(h('')).toBe('ef46db3751d8e999');
    expect(h('a')).toBe('d24ec4f1a98c6e5b');
    expect(h('abc')).toBe('44bc2cf5ad770999');
    // 39 bytes: one 32-byte stripe, then the 4-byte and 1-byte tails.
    expect(h('Nobody inspects the spammish repetition')).toBe('fbcea83c8a378bf1');
    // Bytes 0..255 then "tail!" (261 bytes, every byte value), by the system libxxhash 0.8.1.
    const all = new Uint8Array([...Array.from({ length: 256 }, (_, i) => i), ...new TextEncoder().encode('tail!')]);
    expect(xxhash64(all).toString(16)).toBe('61a232724fdaa098');
  });

  it('places a label set where Prometheus labels.Hash puts it for limit_ratio', () => {
    // XXH64 of "__name__\xffhttp_requests\xffgroup\xffcanary\xffinstance\xff0\xffjob\xffapi-server\xff",
    // computed with the system libxxhash 0.8.1 (python ctypes), over 2^64.
    const l = labelsFromRecord({ __name__: 'http_requests', job: 'api-server', instance: '0', group: 'canary' });
    expect(ratioOffset(l)).toBe(Number(0x72859264fb764a72n) / 2 ** 64);
    expect(ratioOffset(l)).toBe(0.4473506447352175);
  });

  it('limit_ratio picks the series Prometheus picks; limitk the first k per group', () => {
    // Offsets (libxxhash, as above): with the name production/0 0.311, production/1 0.744,
    // canary/0 0.447, canary/1 0.831, canary/2 0.462, canary/3 0.849; without it
    // 0.828, 0.102, 0.461, 0.817, 0.448, 0.493.
    expectScript(`
load 5m
  http_requests{job="api-server", instance="0", group="production"} 0+10x10
  http_requests{job="api-server", instance="1", group="production"} 0+20x10
  http_requests{job="api-server", instance="0", group="canary"} 0+30x10
  http_requests{job="api-server", instance="1", group="canary"} 0+40x10
  http_requests{job="api-server", instance="2", group="canary"} 0+50x10
  http_requests{job="api-server", instance="3", group="canary"} 0+60x10

eval instant at 50m limit_ratio(0.5, http_requests)
  http_requests{job="api-server", instance="0", group="production"} 100
  http_requests{job="api-server", instance="0", group="canary"} 300
  http_requests{job="api-server", instance="2", group="canary"} 500

eval instant at 50m limit_ratio(-0.5, http_requests)
  http_requests{job="api-server", instance="1", group="production"} 200
  http_requests{job="api-server", instance="1", group="canary"} 400
  http_requests{job="api-server", instance="3", group="canary"} 600

eval instant at 50m limit_ratio(0.4473506447352175, http_requests)
  http_requests{job="api-server", instance="0", group="production"} 100

eval instant at 50m limit_ratio(0.5, http_requests * 1)
  {job="api-server", instance="1", group="production"} 200
  {job="api-server", instance="0", group="canary"} 300
  {job="api-server", instance="2", group="canary"} 500
  {job="api-server", instance="3", group="canary"} 600

eval instant at 50m limitk by (group) (1, http_requests)
  http_requests{job="api-server", instance="0", group="production"} 100
  http_requests{job="api-server", instance="0", group="canary"} 300
`);
  });

  it('passes the float cases of Prometheus limit.test (Apache-2.0, see test/fixtures/promql/NOTICE.md)', () => {
    // The script at the NOTICE's commit without its two histogram series (so 6 series, not 8).
    expectScript(`
load 5m
	http_requests{job="api-server", instance="0", group="production"}	0+10x10
	http_requests{job="api-server", instance="1", group="production"}	0+20x10
	http_requests{job="api-server", instance="0", group="canary"}		0+30x10
	http_requests{job="api-server", instance="1", group="canary"}		0+40x10
	http_requests{job="api-server", instance="2", group="canary"}		0+50x10
	http_requests{job="api-server", instance="3", group="canary"}		0+60x10
	foo 1+1x10
	bar 0 1 0 -1 0 1 0 -1 0 1 0

eval instant at 50m count(limitk by (group) (0, http_requests))
    expect no_info
    expect no_warn

eval instant at 50m count(limitk by (group) (-1, http_requests))
    expect no_info
    expect no_warn

eval instant at 50m count(limitk by (group) (1, http_requests) and http_requests)
    {} 2

eval instant at 50m count(limitk by (group) (2, http_requests) and http_requests)
    {} 4

eval instant at 50m count(limitk(100, http_requests) and http_requests)
    {} 6

eval range from 0m to 50m step 5m count(limitk(scalar(foo), http_requests))
	{} 1 2 3 4 5 6 6 6 6 6 6

eval range from 0 to 50m step 5m count(limit_ratio(0.0, http_requests))

eval range from 0 to 50m step 5m count(limitk(2, http_requests) and http_requests)
    {} 2+0x10

eval range from 0 to 50m step 5m count(limit_ratio(0.5, http_requests) and http_requests) <= bool (4+1)
    {} 1+0x10

eval range from 0 to 50m step 5m count(limit_ratio(0.5, http_requests) and http_requests) >= bool (4-1)
    {} 1+0x10

eval range from 0 to 50m step 5m count(limit_ratio(1.0, http_requests) and http_requests)
    {} 6+0x10

eval range from 0 to 50m step 5m count(limit_ratio(-1.0, http_requests) and http_requests)
    {} 6+0x10

eval range from 0 to 50m step 5m count(limit_ratio(1.1, http_requests) and http_requests)
	expect warn msg: PromQL warning: ratio value should be between -1 and 1, got 1.1, capping to 1 (1:19)
    {} 6+0x10

eval range from 0 to 50m step 5m count(limit_ratio(-1.1, http_requests) and http_requests)
	expect warn msg: PromQL warning: ratio value should be between -1 and 1, got -1.1, capping to -1 (1:19)
    {} 6+0x10

eval range from 0 to 50m step 5m count(limit_ratio(0.2, http_requests) or limit_ratio(-0.8, http_requests))
    {} 6+0x10

eval range from 0 to 50m step 5m count(limit_ratio(0.2, http_requests) and limit_ratio(-0.8, http_requests))

eval range from 0 to 50m step 5m count(limit_ratio(0.5, http_requests) or limit_ratio(-0.5, http_requests))
    {} 6+0x10

eval range from 0 to 50m step 5m count(limit_ratio(0.5, http_requests) and limit_ratio(-0.5, http_requests))

eval range from 0 to 50m step 5m count(limit_ratio(0.8, http_requests) or limit_ratio(-0.2, http_requests))
    {} 6+0x10

eval range from 0 to 50m step 5m count(limit_ratio(0.8, http_requests) and limit_ratio(-0.2, http_requests))

eval range from 0 to 50m step 5m count(limit_ratio(time() % 17/17, http_requests) or limit_ratio( - (1.0 - (time() % 17/17)), http_requests))
    {} 6+0x10

eval range from 0 to 50m step 5m count(limit_ratio(time() % 17/17, http_requests) and limit_ratio( - (1.0 - (time() % 17/17)), http_requests))

eval range from 0 to 50m step 5m abs(avg(limit_ratio(0.5, http_requests)) - avg(limit_ratio(-0.5, http_requests))) <= bool stddev(http_requests)
	{} 1+0x10

eval range from 0m to 50m step 5m count(limit_ratio(scalar(bar), http_requests))
	{} _ 6 _ 6 _ 6 _ 6 _ 6 _
`);
  });

  it('passes Prometheus duration_expression.test (step(), range(), min_of, max_of, arithmetic)', () => {
    const file = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/promql-experimental/duration_expression.test');
    const r = runScript(readFileSync(file, 'utf8'));
    console.log(`duration_expression.test: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
    expect(r.outcomes.filter((o) => o.status !== 'pass').map((o) => `line ${o.line}: ${o.expr}: ${o.reason}`)).toEqual([]);
    expect(r.passed).toBe(59);
  });

  it('computes durations with step() and range() per query, keywords in any case, units in lower case', () => {
    expectScript(`
load 1m
  x_total 0+60x20

eval instant at 10m rate(x_total[5m+1m])
  {} 1

eval instant at 10m x_total offset (1m*2)
  x_total 480

eval range from 5m to 10m step 1m count_over_time(x_total[STEP()*3])
  {} 3 3 3 3 3 3

eval range from 5m to 9m step 2m x_total offset Max_Of(range(), StEp())
  x_total 60 180 300

eval range from 5m to 10m step 1m x_total offset -step()
  x_total 360 420 480 540 600 660

eval instant at 10m count_over_time(x_total[step()])
  expect fail msg: 24:30: duration must be greater than 0

eval instant at 10m count_over_time(x_total[5M])
  expect fail

eval range from 0 to 2m step 1m count_over_time(x_total[step()/(range()-range())])
  expect fail msg: 24:48: division by zero
`);
  });
});
