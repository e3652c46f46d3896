// Rule queries and ingestion on a real server: a recording rule whose query takes a second or two
// of CPU (a subquery of 172,800 steps) is evaluated through the host's query pool, and a
// remote-write request sent while it runs gets its 204 before the evaluation ends — ordering, not
// timing. The same server with the pool off (queryThreads 0, the in-thread fallback) answers the
// request only after the rule finished: the check that the first case could fail. Either way the
// recorded sample is appended with the query's value and the rule's health is ok.
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, keychainSkipNote, noKeychainReason, send, startHarness, type Harness } from './harness';
import { encodeV1, snappy, V1_TYPE } from '../ingest/encode';

const RW_HEADERS = { 'Content-Type': V1_TYPE, 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' };
// One hour: the group's own timer does not fire while the test drives it.
const SLOW_RULES = `groups:
  - name: slow
    interval: 1h
    rules:
      - record: slow:steps
        expr: count_over_time(vector(1)[2d:1s])
`;

describe.skipIf(noKeychainReason)(`rule queries and remote write${keychainSkipNote}`, () => {
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  /** Starts the slow rule's evaluation, sends one remote write meanwhile; what finished first. */
  async function race(queryThreads: number | undefined): Promise<{ writeStatus: number; ruleDoneAtWrite: boolean; ruleRunningAtWrite: boolean }> {
    h = await startHarness(queryThreads === undefined ? {} : { queryThreads }, {});
    const writer = h.token(h.wsA, ['remote_write']);
    const reader = h.token(h.wsA, ['query']);
    h.appliance.ruleNamespaces.put(h.wsA, 'slow', SLOW_RULES);
    const { scheduler } = h.host.rules!.workspace(h.wsA)!;
    const group = scheduler.groups()[0]!;
    const ts = Date.now();
    let ruleDone = false;
    const evaluation = scheduler.evaluate(group, ts).then(() => (ruleDone = true));
    expect(group.running).toBe(true);
    const body = snappy(encodeV1([{ labels: [['__name__', 'during_rule'], ['instance', 'a']], samples: [{ t: ts, v: 1 }] }]));
    const r = await send(h, { method: 'POST', path: `/workspaces/${h.wsA}/api/v1/remote_write`, headers: { ...RW_HEADERS, ...bearer(writer) }, body });
    const ruleDoneAtWrite = ruleDone;
    const ruleRunningAtWrite = group.running;
    await evaluation;

    const rule = group.evaluator.rules[0]!;
    expect([rule.health.health, rule.health.lastError]).toEqual(['ok', null]);
    const q = await send(h, { path: `/workspaces/${h.wsA}/api/v1/query?query=slow:steps&time=${ts / 1000}`, headers: bearer(reader) });
    expect((q.json().data as { result: { value: [number, string] }[] }).result.map((s) => s.value[1])).toEqual(['172800']);
    return { writeStatus: r.status, ruleDoneAtWrite, ruleRunningAtWrite };
  }

  it('answers remote write while the rule query runs on the query pool', async () => {
    const r = await race(undefined);
    expect(r).toEqual({ writeStatus: 204, ruleDoneAtWrite: false, ruleRunningAtWrite: true });
  }, 60_000);

  it("applies the server's query limits to a rule query on the pool: its health shows the error", async () => {
    h = await startHarness({ queryLimits: { maxSamples: 1000 } }, {});
    h.appliance.ruleNamespaces.put(h.wsA, 'slow', SLOW_RULES);
    const { scheduler } = h.host.rules!.workspace(h.wsA)!;
    const group = scheduler.groups()[0]!;
    await scheduler.evaluate(group, Date.now());
    const rule = group.evaluator.rules[0]!;
    expect(rule.health.health).toBe('err');
    expect(rule.health.lastError).toMatch(/too many samples/);
    expect(group.failed).toBe(1);
  }, 60_000);

  it('without the pool (in-thread fallback) the request waits for the rule', async () => {
    const r = await race(0);
    expect(r).toEqual({ writeStatus: 204, ruleDoneAtWrite: true, ruleRunningAtWrite: false });
  }, 60_000);
});
