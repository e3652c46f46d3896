// The window's queries (the desktop's charts, the web console's) and ingestion on a real server: a
// query that takes a second or two of CPU (a subquery of 172,800 steps), asked through the host's
// service API, runs on the host's query threads, and a remote-write request sent while it runs gets
// its 204 before the query ends — ordering, not timing. With the threads off (queryThreads 0, the
// in-thread fallback) the request is answered only after the query: the check that the first case
// could fail. Either way the query's answer is the same.
import { afterEach, describe, expect, it } from 'vitest';
import { bearer, keychainSkipNote, noKeychainReason, send, startHarness, type Harness } from './harness';
import { encodeV1, snappy, V1_TYPE } from '../ingest/encode';

const RW_HEADERS = { 'Content-Type': V1_TYPE, 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' };

describe.skipIf(noKeychainReason)(`the window's queries and remote write${keychainSkipNote}`, () => {
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  /** Starts the slow query through the window's API, sends one remote write meanwhile; what finished first. */
  async function race(queryThreads: number | undefined): Promise<{ writeStatus: number; queryDoneAtWrite: boolean; answer: unknown }> {
    h = await startHarness(queryThreads === undefined ? {} : { queryThreads });
    const writer = h.token(h.wsA, ['remote_write']);
    const ts = Date.now();
    let queryDone = false;
    const query = h.host.api('desktop').query(h.wsA, { query: 'count_over_time(vector(1)[2d:1s])', time: ts / 1000 });
    void query.then(() => (queryDone = true));
    const body = snappy(encodeV1([{ labels: [['__name__', 'during_query'], ['instance', 'a']], samples: [{ t: ts, v: 1 }] }]));
    const r = await send(h, { method: 'POST', path: `/workspaces/${h.wsA}/api/v1/remote_write`, headers: { ...RW_HEADERS, ...bearer(writer) }, body });
    const queryDoneAtWrite = queryDone;
    return { writeStatus: r.status, queryDoneAtWrite, answer: await query };
  }

  const answer = { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [expect.any(Number), '172800'] }] } };

  it('answers remote write while the query runs on the query threads', async () => {
    expect(await race(undefined)).toEqual({ writeStatus: 204, queryDoneAtWrite: false, answer });
  }, 60_000);

  it('without the query threads (in-thread fallback) the request waits for the query', async () => {
    expect(await race(0)).toEqual({ writeStatus: 204, queryDoneAtWrite: true, answer });
  }, 60_000);
});
