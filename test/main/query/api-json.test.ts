// The API's JSON written from the engine's arrays (api-json.ts) is the JSON of the response's
// body object, byte for byte, for every kind of answer: floats of every shape, native histograms
// alone and beside floats, label text that needs escaping or UTF-8, integer-like label names
// (which an object puts first), warnings and infos, and the answers written the generic way.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../../../shared/labels';
import { createCipher } from '../../../main/crypto/cipher';
import { openTsdb, type Tsdb } from '../../../main/tsdb';
import { handlePromApi } from '../../../main/query/api';
import { promApiJson } from '../../../main/query/api-json';

let dir: string;
let db: Tsdb;
const T0 = 1_700_000_000_000;
const STEP = 15_000;
/** Floats whose text is not String(v): exponents both ways, -0, the shortest round trip. */
const VALUES = [0, -0, 1, -1.5, 0.1 + 0.2, 1e-7, -2.5e-12, 1e21, 1.7976931348623157e308, 5e-324, 123456789.123, Infinity, -Infinity];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ampule-api-json-'));
  const cipher = createCipher(randomBytes(32));
  db = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'ws-json', keys: { current: 1, get: () => cipher } });
  const app = db.appender();
  const series: Record<string, string>[] = [
    { __name__: 'm', job: 'plain' },
    { __name__: 'm', job: 'quote "and" \\ back\nslash' },
    { __name__: 'm', job: 'Grüße, 東京, 🙂' },
    { __name__: 'm', job: 'digits', '7': 'seven', '10': 'ten' },
    { __name__: 'm', job: 'control \u0001\u001f\u007f tab\t' },
    { __name__: 'm', job: 'ten digits', '4294967295': 'not an index', '4294967294': 'an index' },
    { __name__: 'm', job: 'proto', ['__proto__']: 'a name an object takes as its prototype' },
    { __name__: 'm', job: 'zz last', zz: 'after "the" rest' },
  ];
  for (const [s, rec] of series.entries()) {
    let ref = 0;
    for (let i = 0; i <= 40; i++) ref = app.append(ref, labelsFromRecord(rec), T0 + i * STEP, i === 40 ? NaN : VALUES[(i + s) % VALUES.length]!);
  }
  for (let i = 0; i <= 40; i++) {
    const buckets = [i, 2 * i, (i * 3) % 11];
    app.appendHistogram(0, labelsFromRecord({ __name__: 'lat', pod: 'a' }), T0 + i * STEP, {
      counterResetHint: 'unknown', schema: 2, zeroThreshold: 1e-128, zeroCount: i, count: i + buckets.reduce((a, b) => a + b, 0), sum: i * 0.25,
      positiveSpans: [{ offset: 0, length: 3 }], negativeSpans: [], positiveBuckets: buckets, negativeBuckets: [],
    });
  }
  app.commit();
});

afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function both(path: string, params: Record<string, string>): Promise<{ written: string; stringified: string }> {
  const r = await handlePromApi(path, new URLSearchParams(params), db.querier(), { now: () => T0 + 10 * 60_000 });
  const written = new TextDecoder('utf-8', { fatal: true }).decode(promApiJson(r));
  return { written, stringified: JSON.stringify(r.body) };
}

const range = (query: string, step = '15') => ({ query, start: String(T0 / 1000), end: String((T0 + 40 * STEP) / 1000), step });

describe('promApiJson', () => {
  it.each([
    ['floats of every shape, labels that need escaping', range('m')],
    ['a fractional step (timestamps with decimals)', range('m{job="plain"}', '7.5')],
    ['native histograms', range('lat')],
    ['histograms and floats in one answer', range('lat or m{job="plain"}')],
    ['an info annotation (rate of a name not ending in _total)', range('rate(m{job="plain"}[1m])')],
    ['a warning annotation', range('quantile(2, m)')],
    ['no series', range('absent_metric')],
    ['labels made by the query', range('label_replace(m, "x", "$1", "job", "(.*)")')],
  ])('query_range: %s', async (_name, params) => {
    const { written, stringified } = await both('query_range', params);
    expect(JSON.parse(written).status).toBe('success');
    expect(written).toBe(stringified);
  });

  it.each([
    ['a vector of floats', 'm'],
    ['a vector of histograms', 'lat'],
    ['histograms beside floats', 'lat or m'],
    ['a scalar', 'scalar(m{job="plain"})'],
    ['a string', '"text \\" here"'],
    ['an error', 'rate(m)'],
  ])('query: %s', async (_name, query) => {
    const { written, stringified } = await both('query', { query, time: String((T0 + 20 * STEP) / 1000) });
    expect(written).toBe(stringified);
  });

  it('other endpoints are their body object as JSON', async () => {
    const { written, stringified } = await both('labels', {});
    expect(JSON.parse(written)).toEqual({ status: 'success', data: ['10', '4294967294', '4294967295', '7', '__name__', '__proto__', 'job', 'pod', 'zz'] });
    expect(written).toBe(stringified);
  });

  it.each([
    ['every series', { 'match[]': '{__name__=~".+"}' }],
    ['two selectors, merged', { 'match[]': ['m{job="plain"}', '{__name__="lat"}'] }],
    ['cut by a limit, with its warning', { 'match[]': 'm', limit: '3' }],
    ['none', { 'match[]': 'absent_metric' }],
  ])('series: %s', async (_name, params) => {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const x of [v].flat()) search.append(k, x);
    const r = await handlePromApi('series', search, db.querier(), { now: () => T0 + 10 * 60_000 });
    const written = new TextDecoder('utf-8', { fatal: true }).decode(promApiJson(r));
    expect(written).toBe(JSON.stringify(r.body));
    expect(JSON.parse(written).data.length).toBe((r.body as { data: unknown[] }).data.length);
  });

  it('keeps a label named __proto__, which an assigned record key would take as its prototype', async () => {
    const at = { time: String((T0 + 20 * STEP) / 1000) };
    const series = JSON.parse(new TextDecoder().decode(promApiJson(await handlePromApi('series', new URLSearchParams({ 'match[]': 'm{job="proto"}' }), db.querier()))));
    expect(series.data).toEqual([JSON.parse('{"__name__":"m","__proto__":"a name an object takes as its prototype","job":"proto"}')]);
    const { written, stringified } = await both('query', { query: 'm{job="proto"}', ...at });
    expect(written).toBe(stringified);
    expect(written).toContain('"__proto__":"a name an object takes as its prototype"');
  });

  it('puts integer-like label names first, as the object does', async () => {
    const { written } = await both('query', { query: 'm{job="digits"}', time: String((T0 + 20 * STEP) / 1000) });
    expect(written).toContain('{"metric":{"7":"seven","10":"ten","__name__":"m","job":"digits"}');
  });
});
