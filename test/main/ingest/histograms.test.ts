// Native histograms in remote write 1.0 and 2.0: decoded (integer deltas → absolute counts, float
// histograms, custom buckets, reset hints, stale markers), validated as Prometheus does (a 400
// naming the series and the rule, the rest stored), and stored in the real encrypted store.
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../../main/ingest/limits';
import { Ingester } from '../../../main/ingest/remote-write';
import { openTsdb, type Tsdb } from '../../../main/tsdb/index';
import { STALE_NAN_BITS, type Appender } from '../../../main/tsdb/types';
import type { Labels } from '../../../shared/labels';
import { encodeV1, encodeV2, ProtoWriter, snappy, V1_TYPE, V2_TYPE, type HistogramInput, type SeriesInput } from './encode';
import { MemoryAppender } from './memory-appender';
import { tempDir, TestKeys } from '../tsdb/helpers';

const NOW = 1_790_000_000_000;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const versions = [
  ['1.0', encodeV1, V1_TYPE],
  ['2.0', encodeV2, V2_TYPE],
] as const;

/** A real encrypted store in a temporary directory, closed and removed after the test. */
function encryptedStore(workspaceId: string): Tsdb {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const db = openTsdb({ path: dir.file('ws.db'), workspaceId, keys: new TestKeys() });
  cleanups.unshift(() => db.close());
  return db;
}

function send(ingester: Ingester, raw: Buffer, type: string, limits = DEFAULT_LIMITS) {
  return ingester.ingest({ body: snappy(raw), contentType: type, contentEncoding: 'snappy', version: undefined }, limits, NOW);
}

function hseries(name: string, histograms: HistogramInput[], samples: [number, number][] = []): SeriesInput {
  return { labels: [['__name__', name], ['job', 'api']], samples: samples.map(([t, v]) => ({ t, v })), histograms };
}

const integerExp: HistogramInput = {
  t: NOW - 2000, schema: 3, count: 12, sum: 18.4, zeroThreshold: 1e-128, zeroCount: 2,
  positiveSpans: [[-2, 2], [3, 2]], positive: [1, 4, 2, 0], negativeSpans: [[0, 1]], negative: [3], resetHint: 2,
};
const floatExp: HistogramInput = { t: NOW - 1000, schema: -4, float: true, count: 7.5, sum: -3.25, zeroCount: 0.5, positiveSpans: [[0, 2]], positive: [2.5, 4.5], resetHint: 3 };
const custom: HistogramInput = { t: NOW - 2000, schema: -53, count: 6, sum: 1.7, positiveSpans: [[0, 2], [1, 1]], positive: [1, 2, 3], customValues: [0.1, 0.5, 1] };
const stale: HistogramInput = { t: NOW - 500, schema: 3, count: 0, sum: NaN, sumBits: STALE_NAN_BITS };

describe('remote write native histograms', () => {
  for (const [version, encode, type] of versions) {
    it(`decodes ${version} integer, float, custom-bucket and stale histograms to absolute counts`, async () => {
      const mem = new MemoryAppender();
      const ingester = new Ingester(mem);
      const res = await send(ingester, encode([hseries('lat', [integerExp, stale]), hseries('gauge_h', [floatExp]), hseries('nhcb', [custom], [[NOW, 1]])]), type);
      expect(res).toMatchObject({ status: 204, samplesWritten: 1, histogramsWritten: 4, rejected: [] });
      const lat = mem.find('lat')!.histograms;
      expect(lat.map((x) => x.t)).toEqual([NOW - 2000, NOW - 500]);
      expect(lat[0]!.h).toEqual({
        counterResetHint: 'not_reset', schema: 3, zeroThreshold: 1e-128, zeroCount: 2, count: 12, sum: 18.4,
        positiveSpans: [{ offset: -2, length: 2 }, { offset: 3, length: 2 }], positiveBuckets: [1, 4, 2, 0],
        negativeSpans: [{ offset: 0, length: 1 }], negativeBuckets: [3],
      });
      const dv = new DataView(new ArrayBuffer(8));
      dv.setFloat64(0, lat[1]!.h.sum, true);
      expect(dv.getBigUint64(0, true)).toBe(STALE_NAN_BITS);
      expect(mem.find('gauge_h')!.histograms[0]!.h).toMatchObject({ counterResetHint: 'gauge', schema: -4, count: 7.5, zeroCount: 0.5, positiveBuckets: [2.5, 4.5] });
      expect(mem.find('nhcb')!.histograms[0]!.h).toMatchObject({ schema: -53, customValues: [0.1, 0.5, 1], positiveBuckets: [1, 2, 3], counterResetHint: 'unknown' });
    });

    it(`refuses ${version} histograms Prometheus refuses, naming series and rule, and stores the rest`, async () => {
      const mem = new MemoryAppender();
      const ingester = new Ingester(mem);
      const bad: [string, HistogramInput, string][] = [
        ['bad_schema', { ...integerExp, schema: 9 }, 'invalid schema 9'],
        ['span_mismatch', { ...integerExp, positive: [1, 4, 2] }, 'positive side: spans need 4 buckets, have 3 buckets'],
        ['negative_bucket', { ...integerExp, count: 4, rawPositiveDeltas: [1, -2, 3, 0], positive: [] }, 'positive side: bucket number 2 has observation count of -1'],
        ['count_short', { ...integerExp, count: 11 }, '12 observations found in buckets, but the Count field is 11'],
        ['neg_offset', { ...integerExp, positiveSpans: [[-2, 2], [-1, 2]] }, 'span number 2 with offset -1: histogram has a span whose offset is negative'],
        ['custom_order', { ...custom, customValues: [0.5, 0.1, 1] }, 'custom bounds must be in strictly increasing order'],
        ['custom_few', { ...custom, customValues: [0.1] }, 'only 1 custom bounds defined'],
        ['float_negative', { ...floatExp, positive: [2.5, -1] }, 'bucket number 2 has observation count of -1'],
      ];
      const res = await send(ingester, encode([...bad.map(([n, h]) => hseries(n, [h])), hseries('good', [integerExp])]), type);
      expect(res.status).toBe(400);
      expect(res.histogramsWritten).toBe(1);
      expect(res.rejected).toEqual([{ reason: 'invalid_histogram', count: bad.length }]);
      expect(mem.find('good')!.histograms).toHaveLength(1);
      // The message names the first five (the rest are counted).
      for (const [name, , rule] of bad.slice(0, 5)) expect(res.message).toContain(`series ${name}{job="api"}: histogram at ${integerExp.t}: `), expect(res.message).toContain(rule);
      expect(res.message).toContain('8 of 9 samples rejected, 1 written');
      for (const [name, h, rule] of bad.slice(5)) {
        const one = await send(new Ingester(new MemoryAppender()), encode([hseries(name, [h])]), type);
        expect(one.message).toContain(rule);
      }
    });
  }

  it('refuses a malformed Histogram message as a malformed body (nothing stored)', async () => {
    const mem = new MemoryAppender();
    const w = new ProtoWriter();
    w.message(1, (ts) => {
      ts.message(1, (l) => l.string(1, '__name__').string(2, 'x'));
      ts.message(2, (m) => m.double(1, 1).tag(2, 0).varint(NOW));
      ts.message(4, (h) => h.tag(11, 2).varint(40)); // a span that runs past the message
    });
    const res = await send(new Ingester(mem), w.finish(), V1_TYPE);
    expect(res.status).toBe(400);
    expect(res.message).toContain('invalid remote-write body');
    expect(mem.find('x')).toBeUndefined();
  });

  it('keeps one copy of a new series\' labels: the ingest cache holds the store\'s own', async () => {
    const db = encryptedStore('ws-ingestlabels');
    const announced: Labels[] = [];
    const ingester = new Ingester(db.appender(), { onNewSeries: (l) => announced.push(l) });
    const body = encodeV1([{ labels: [['__name__', 'up'], ['job', 'api']], samples: [{ t: NOW - 1000, v: 1 }], histograms: [] }]);
    expect((await send(ingester, body, V1_TYPE)).status).toBe(204);
    const stored = db.querier().select([{ type: '=', name: '__name__', value: 'up' }], 0, NOW)[0]!;
    expect(announced).toHaveLength(1);
    expect(announced[0]).toBe(stored.labels);
    expect(announced[0]).toEqual([{ name: '__name__', value: 'up' }, { name: 'job', value: 'api' }]);
  });

  it('stores remote-written histograms in the encrypted store, duplicates and order refused like floats', async () => {
    const db = encryptedStore('ws-ingesthist');
    const appender: Appender = db.appender();
    const ingester = new Ingester(appender);
    const ok = await send(ingester, encodeV2([hseries('lat', [integerExp, { ...integerExp, t: NOW - 1000, count: 13, zeroCount: 3 }])]), V2_TYPE);
    expect(ok).toMatchObject({ status: 204, histogramsWritten: 2 });
    const again = await send(ingester, encodeV1([hseries('lat', [integerExp, { ...integerExp, t: NOW - 1000, count: 14, zeroCount: 4 }, { ...integerExp, t: NOW - 5000 }])]), V1_TYPE);
    expect(again.status).toBe(400);
    // Older than the last sample is out of order even when identical (as for floats); another histogram at the last timestamp is a duplicate.
    expect(again.rejected).toEqual(expect.arrayContaining([{ reason: 'duplicate', count: 1 }, { reason: 'out_of_order', count: 2 }]));
    expect(again.histogramsWritten).toBe(0);
    const resend = await send(ingester, encodeV1([hseries('lat', [{ ...integerExp, t: NOW - 1000, count: 13, zeroCount: 3 }])]), V1_TYPE);
    expect(resend).toMatchObject({ status: 204, histogramsWritten: 1 }); // the same histogram again: accepted, stored once
    db.compact({ all: true });
    const s = db.querier().select([{ type: '=', name: '__name__', value: 'lat' }], 0, NOW)[0]!;
    expect(Array.from(s.histograms!.timestamps)).toEqual([NOW - 2000, NOW - 1000]);
    expect(s.histograms!.values[1]).toMatchObject({ count: 13, zeroCount: 3, positiveBuckets: [1, 4, 2, 0], schema: 3 });
  });
});
