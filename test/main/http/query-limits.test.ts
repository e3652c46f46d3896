// `ampule serve --query.max-samples / --query.timeout` reach every query through the HTTPS API
// (the query pool's threads and this thread alike), with Prometheus's error text and status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, keychainSkipNote, noKeychainReason, send, startHarness, type Harness } from './harness';

const queryPath = (ws: string, q: string) => `/workspaces/${ws}/api/v1/query?${new URLSearchParams({ query: q, time: '1700000000' })}`;

describe.skipIf(!!noKeychainReason).each([
  ['on the query pool', undefined],
  ['on this thread', 0],
])(`query limits set for the server, %s${keychainSkipNote}`, (_where, queryThreads) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queryLimits: { maxSamples: 100 }, ...(queryThreads === undefined ? {} : { queryThreads }) });
  });
  afterAll(() => h?.close());

  it('answers 422 with Prometheus text once a query would hold more samples than allowed, and keeps answering', async () => {
    const headers = bearer(h.token(h.wsA, ['query']));
    const over = await send(h, { path: queryPath(h.wsA, 'count_over_time(vector(1)[10m:1s])'), headers });
    expect(over.status).toBe(422);
    expect(JSON.parse(over.text)).toEqual({ status: 'error', errorType: 'execution', error: 'query processing would load too many samples into memory in query execution' });
    const under = await send(h, { path: queryPath(h.wsA, 'count_over_time(vector(1)[1m:1s])'), headers });
    expect(under.status).toBe(200);
    expect(JSON.parse(under.text).data.result[0].value[1]).toBe('60');
  });
});
