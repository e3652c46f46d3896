// Query API answers compressed for clients that ask (Accept-Encoding), on the query threads' path
// and on this thread's; the same choice of encoding as a real Prometheus for the same headers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
import { bearer, keychainSkipNote, noKeychainReason, send, startHarness, type Harness } from './harness';
import { acceptedEncoding, MIN_COMPRESSED_BYTES } from '../../../main/http/answer-encoding';
import { HAVE_PROMETHEUS, startPrometheus, type RealReceiver } from '../forward/real-receivers';
import { makeTls, type TlsFixture } from '../forward/tls-fixture';

/** A range answer of 2,001 points: 34 KB of JSON, no data needed. */
const RANGE = `api/v1/query_range?${new URLSearchParams({ query: 'vector(1)', start: '1700000000', end: '1700002000', step: '1' })}`;
const INSTANT = `api/v1/query?${new URLSearchParams({ query: 'vector(1)', time: '1700000000' })}`;

describe('acceptedEncoding', () => {
  it.each([
    [undefined, null],
    ['', null],
    ['gzip', 'gzip'],
    ['deflate', 'deflate'],
    ['gzip, deflate', 'gzip'],
    ['deflate, gzip', 'deflate'],
    ['br, zstd, GZip', 'gzip'],
    ['identity', null],
    ['*', null],
    ['gzip;q=0, deflate', 'deflate'],
    ['gzip; q=0.000, deflate;q=0', null],
    ['gzip;q=0.5', 'gzip'],
    ['gzip;q=oops, deflate', 'deflate'],
    [['br', 'deflate, gzip'], 'deflate'],
  ] as const)('%j → %s', (header, expected) => {
    expect(acceptedEncoding(header as string | string[] | undefined)).toBe(expected);
  });
});

const decode: Record<string, (b: Buffer) => Buffer> = { gzip: gunzipSync, deflate: inflateSync };

describe.skipIf(!!noKeychainReason).each([
  ['on the query threads', undefined],
  ['on this thread', 0],
])(`query answers compressed when accepted, %s${keychainSkipNote}`, (_where, queryThreads) => {
  let h: Harness;
  let token: string;
  beforeAll(async () => {
    h = await startHarness(queryThreads === undefined ? {} : { queryThreads });
    token = h.token(h.wsA, ['query']);
  });
  afterAll(() => h?.close());
  const ask = (path: string, acceptEncoding?: string) =>
    send(h, { path: `/workspaces/${h.wsA}/${path}`, headers: { ...bearer(token), ...(acceptEncoding === undefined ? {} : { 'Accept-Encoding': acceptEncoding }) } });

  it('sends the same bytes gzip- or deflate-coded, as the client named first, with Vary', async () => {
    const plain = await ask(RANGE);
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.length).toBeGreaterThan(MIN_COMPRESSED_BYTES);
    expect(plain.json().data).toMatchObject({ resultType: 'matrix' });
    for (const [header, encoding] of [['gzip, deflate', 'gzip'], ['br, deflate, gzip', 'deflate']] as const) {
      const coded = await ask(RANGE, header);
      expect(coded.status).toBe(200);
      expect(coded.headers['content-encoding']).toBe(encoding);
      expect(coded.headers.vary).toBe('Accept-Encoding');
      expect(Number(coded.headers['content-length'])).toBe(coded.body.length);
      expect(coded.body.length).toBeLessThan(plain.body.length / 4);
      expect(decode[encoding]!(coded.body).equals(plain.body)).toBe(true);
    }
  });

  it('sends a refused encoding, an unknown one and a small answer as they are', async () => {
    const plain = await ask(RANGE);
    for (const header of ['gzip;q=0, deflate;q=0', 'br, identity']) {
      const r = await ask(RANGE, header);
      expect(r.headers['content-encoding']).toBeUndefined();
      expect(r.body.equals(plain.body)).toBe(true);
    }
    const small = await ask(INSTANT, 'gzip');
    expect(small.status).toBe(200);
    expect(small.body.length).toBeLessThan(MIN_COMPRESSED_BYTES);
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(small.headers.vary).toBe('Accept-Encoding');
    expect(small.json().data).toMatchObject({ resultType: 'vector' });
  });

  it('compresses an error answer only by the same rule (a bad query is small and plain)', async () => {
    const r = await ask(`api/v1/query?${new URLSearchParams({ query: 'sum(' })}`, 'gzip');
    expect(r.status).toBe(400);
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.json()).toMatchObject({ status: 'error', errorType: 'bad_data' });
  });
});

function headersOf(url: URL, ca: string, headers: Record<string, string>): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    get(url, { ca, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.headers));
    }).on('error', reject);
  });
}

const prometheusSkip = HAVE_PROMETHEUS ? '' : ' (skipped: /usr/bin/prometheus is not installed; apt-get install prometheus)';
describe.skipIf(!!noKeychainReason || !HAVE_PROMETHEUS)(`the encoding chosen matches a real Prometheus's${keychainSkipNote}${prometheusSkip}`, () => {
  let h: Harness;
  let tls: TlsFixture;
  let prom: RealReceiver;
  beforeAll(async () => {
    tls = await makeTls();
    [h, prom] = await Promise.all([startHarness(), startPrometheus(tls, 'prom-encoding')]);
  }, 60_000);
  afterAll(async () => {
    await prom?.stop();
    await h?.close();
    tls?.cleanup();
  });

  // Prometheus takes the first of gzip and deflate named bare; a header it does not parse
  // (parameters) is left out here, where Ampule follows RFC 9110's q-values instead.
  it.each(['gzip', 'deflate', 'gzip, deflate', 'deflate, gzip', 'br, deflate', 'br', 'identity', 'zstd, gzip'])('Accept-Encoding: %s', async (header) => {
    const ours = await send(h, { path: `/workspaces/${h.wsA}/${RANGE}`, headers: { ...bearer(h.token(h.wsA, ['query'])), 'Accept-Encoding': header } });
    const theirs = await headersOf(new URL(`/${RANGE}`, prom.base), tls.caPem, { 'Accept-Encoding': header });
    expect(ours.status).toBe(200);
    expect(ours.headers['content-encoding']).toBe(theirs['content-encoding']);
  });
});
