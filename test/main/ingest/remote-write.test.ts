import { describe, expect, it } from 'vitest';
import type { WorkspaceLimits } from '../../../main/control/types';
import { DEFAULT_LIMITS } from '../../../main/ingest/limits';
import { Ingester, remoteWriteVersion } from '../../../main/ingest/remote-write';
import { activeSeries, ACTIVE_SERIES_GENERATION_MS, type IngestState } from '../../../main/ingest/state';
import { IngestError } from '../../../main/ingest/types';
import { AppendError, STALE_NAN_BITS, type Appender } from '../../../main/tsdb/types';
import { encodeV1, encodeV2, snappy, V1_TYPE, V2_TYPE, type SeriesInput } from './encode';
import { MemoryAppender } from './memory-appender';

const NOW = 1_790_000_000_000;

function series(name: string, extra: Record<string, string>, samples: [number, number][]): SeriesInput {
  const labels = Object.entries({ __name__: name, ...extra }).sort(([a], [b]) => (a < b ? -1 : 1));
  return { labels, samples: samples.map(([t, v]) => ({ t, v })) };
}

interface Target {
  ingester: Ingester;
  appender: Appender;
  limits: WorkspaceLimits & { retentionMs?: number };
  state: IngestState;
}

function target(limits: Partial<WorkspaceLimits> & { retentionMs?: number } = {}, appender: Appender = new MemoryAppender()): Target {
  const ingester = new Ingester(appender);
  return { ingester, appender, limits: { ...DEFAULT_LIMITS, ...limits }, state: ingester.state };
}

function send(t: Target, raw: Buffer, contentType: string | undefined = V1_TYPE, now = NOW) {
  return t.ingester.ingest({ body: snappy(raw), contentType, contentEncoding: 'snappy', version: '0.1.0' }, t.limits, now);
}

describe('remote write round trip', () => {
  for (const [version, encode, type] of [
    ['1.0', encodeV1, V1_TYPE],
    ['2.0', encodeV2, V2_TYPE],
  ] as const) {
    it(`stores ${version} samples bit-exact, stale marker included, and commits before 204`, async () => {
      const t = target();
      const mem = t.appender as MemoryAppender;
      const input: SeriesInput[] = [
        series('up', { instance: 'a:9100', job: 'node' }, [[NOW - 1000, 1], [NOW, 0]]),
        series('node_cpu_seconds_total', { cpu: '0', mode: 'idle' }, [[NOW, 12345.678]]),
        { ...series('temperature', { room: 'küche' }, [[NOW - 5, -0.5]]), exemplars: 2 },
      ];
      input[2]!.samples.push({ t: NOW, v: NaN, bits: STALE_NAN_BITS });
      const res = await send(t, encode(input), type);
      expect(res).toMatchObject({ status: 204, samplesWritten: 5, histogramsWritten: 0, exemplarsWritten: 0, exemplarsReceived: 2, rejected: [] });
      expect(mem.commits).toBe(1);
      const up = mem.find('up')!;
      expect(up.labels).toEqual([
        { name: '__name__', value: 'up' },
        { name: 'instance', value: 'a:9100' },
        { name: 'job', value: 'node' },
      ]);
      expect(up.t).toEqual([NOW - 1000, NOW]);
      expect(mem.value(up, 0)).toBe(1);
      const temp = mem.find('temperature')!;
      expect(temp.labels[1]).toEqual({ name: 'room', value: 'küche' });
      expect(mem.value(temp, 0)).toBe(-0.5);
      expect(temp.bits[1]).toBe(STALE_NAN_BITS);
      expect(mem.value(mem.find('node_cpu_seconds_total')!, 0)).toBe(12345.678);
    });

    it(`${version}: a series seen before reuses its SeriesRef without a store lookup`, async () => {
      const t = target();
      const mem = t.appender as MemoryAppender;
      const one = (ts: number) => encode([series('up', { job: 'a' }, [[ts, 1]]), series('up', { job: 'b' }, [[ts, 2]])]);
      expect((await send(t, one(NOW), type)).status).toBe(204);
      expect(mem.lookups).toBe(2);
      expect((await send(t, one(NOW + 1000), type)).status).toBe(204);
      expect(mem.lookups).toBe(2);
      expect(mem.find('up')!.t).toEqual([NOW, NOW + 1000]);
      expect(activeSeries(t.state)).toBe(2);
    });
  }

  it('2.0: a series is known by its strings, not by where they are in the symbol table, long ones (not kept as label strings) included', async () => {
    const t = target();
    const mem = t.appender as MemoryAppender;
    const long = (c: string) => c.repeat(300);
    const a = (ts: number) => series('up', { job: 'a', note: long('x') }, [[ts, 1]]);
    const b = (ts: number) => series('up', { job: 'b', note: long('y') }, [[ts, 2]]);
    const c = (ts: number) => series('up', { job: 'a', note: long('y') }, [[ts, 3]]);
    expect((await send(t, encodeV2([a(NOW), b(NOW), c(NOW)]), V2_TYPE)).status).toBe(204);
    expect(mem.lookups).toBe(3);
    // Reversed: every string has another symbol number than before.
    expect((await send(t, encodeV2([c(NOW + 1000), b(NOW + 1000), a(NOW + 1000)]), V2_TYPE)).status).toBe(204);
    expect(mem.lookups).toBe(3);
    expect(mem.series.length - 1).toBe(3);
    for (const [job, note, v] of [['a', 'x', 1], ['b', 'y', 2], ['a', 'y', 3]] as const) {
      const s = mem.series.find((x) => x?.labels.some((l) => l.name === 'job' && l.value === job) && x.labels.some((l) => l.name === 'note' && l.value === long(note)))!;
      expect(s.t).toEqual([NOW, NOW + 1000]);
      expect(mem.value(s, 1)).toBe(v);
    }
  });

  it('keeps negative and large timestamps exact', async () => {
    const t = target();
    const mem = t.appender as MemoryAppender;
    const ts = [-1, -86_400_000, 2 ** 52 + 1, Number.MAX_SAFE_INTEGER];
    // With no retention and a clock at the far end, the time bounds let all of them through.
    expect((await send(t, encodeV1([series('x', {}, ts.map((x) => [x, 1]).sort((a, b) => a[0]! - b[0]!) as [number, number][])]), V1_TYPE, Number.MAX_SAFE_INTEGER)).status).toBe(204);
    expect(mem.find('x')!.t).toEqual([...ts].sort((a, b) => a - b));
  });

  it('counts metadata and accepts requests with only metadata', async () => {
    const t = target();
    const res = await send(t, encodeV1([], 3));
    expect(res).toMatchObject({ status: 204, samplesWritten: 0, metadataReceived: 3 });
    const res2 = await send(t, encodeV2([series('up', {}, [[NOW, 1]])]), V2_TYPE);
    expect(res2).toMatchObject({ status: 204, metadataReceived: 1 });
  });
});

describe('validation and partial acceptance', () => {
  it('stores the valid series of a request and names the rejected ones with the rule', async () => {
    const t = target();
    const mem = t.appender as MemoryAppender;
    const input: SeriesInput[] = [
      series('good_one', { job: 'a' }, [[NOW, 1]]),
      { labels: [['__name__', 'unsorted'], ['b', '1'], ['a', '2']], samples: [{ t: NOW, v: 1 }] },
      series('1bad', {}, [[NOW, 1]]),
      series('bad_label', { 'a-b': 'x' }, [[NOW, 1]]),
      { labels: [['__name__', 'dup'], ['a', '1'], ['a', '2']], samples: [{ t: NOW, v: 1 }] },
      series('empty_value', { a: '' }, [[NOW, 1]]),
      { labels: [['job', 'noname']], samples: [{ t: NOW, v: 1 }] },
      { labels: [['', 'x'], ['__name__', 'empty_name']], samples: [{ t: NOW, v: 1 }] },
      series('good_two', {}, [[NOW, 2], [NOW + 1, 3]]),
    ];
    const res = await send(t, encodeV1(input));
    expect(res.status).toBe(400);
    expect(res.samplesWritten).toBe(3);
    expect(res.rejected).toEqual([{ reason: 'invalid_labels', count: 7 }]);
    expect(mem.commits).toBe(1);
    expect(mem.find('good_one')).toBeDefined();
    expect(mem.find('good_two')!.t).toHaveLength(2);
    const msg = res.message!;
    expect(msg).toContain('7 of 10 samples rejected, 3 written');
    expect(msg).toContain('series unsorted{b="1", a="2"}: labels are not sorted by name ("b" before "a")');
    expect(msg).toContain('metric name "1bad" is invalid: must match [a-zA-Z_:][a-zA-Z0-9_:]*');
    expect(msg).toContain('label name "a-b" is invalid: must match [a-zA-Z_][a-zA-Z0-9_]*');
    expect(msg).toContain('label "a" appears twice');
    expect(msg).toContain('label "a" has an empty value');
    expect(msg).toContain('and 2 more');
  });

  it('rejects the label limits with the limit named', async () => {
    const t = target({ labelsPerSeries: 3, labelNameLength: 10, labelValueLength: 20 });
    const res = await send(t, encodeV1([
      series('many', { a: '1', b: '2', c: '3' }, [[NOW, 1]]),
      series('long_name', { abcdefghijk: '1' }, [[NOW, 1]]),
      series('long_value', { a: 'é'.repeat(11) }, [[NOW, 1]]),
      series('fine', { a: 'x' }, [[NOW, 1]]),
    ]));
    expect(res.status).toBe(400);
    expect(res.samplesWritten).toBe(1);
    expect(res.rejected).toEqual([{ reason: 'label_limit', count: 3 }]);
    expect(res.message).toContain('series many{a="1", b="2"}…: has 4 labels, over the limit labelsPerSeries=3');
    expect(res.message).toContain('label name of 11 bytes is over the limit labelNameLength=10');
    expect(res.message).toContain('value of label "a" is 22 bytes, over the limit labelValueLength=20');
  });

  it('allows UTF-8 metric and label names in 2.0 only', async () => {
    const input = [series('http.requests', { 'service.name': 'api' }, [[NOW, 1]])];
    const v2 = await send(target(), encodeV2(input), V2_TYPE);
    expect(v2.status).toBe(204);
    const v1 = await send(target(), encodeV1(input));
    expect(v1.status).toBe(400);
    expect(v1.message).toContain('must match');
  });

  it('rejects label strings that are not UTF-8 (1.0), per series', async () => {
    const bad = Buffer.from([0x0a, 0x0d, 0x0a, 0x08, ...Buffer.from('__name__'), 0x12, 0x01, 0xff]);
    const sample = Buffer.from([0x12, 0x09, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
    const ts = Buffer.concat([Buffer.from([0x0a, bad.length + sample.length]), bad, sample]);
    const t = target();
    const res = await send(t, Buffer.concat([ts, encodeV1([series('ok', {}, [[NOW, 1]])])]));
    expect(res.status).toBe(400);
    expect(res.samplesWritten).toBe(1);
    expect(res.message).toContain('not valid UTF-8');
  });
});

describe('store refusals', () => {
  it('maps out-of-order and duplicate samples to 400 naming the series, keeping the rest', async () => {
    const t = target();
    expect((await send(t, encodeV1([series('a', {}, [[NOW, 1]])]))).status).toBe(204);
    const res = await send(t, encodeV1([
      series('a', {}, [[NOW - 1, 1], [NOW, 2], [NOW, 1], [NOW + 1, 5]]),
      series('b', {}, [[NOW, 1]]),
    ]));
    expect(res.status).toBe(400);
    expect(res.samplesWritten).toBe(3); // a@NOW=1 again is an identical duplicate: accepted
    expect(res.rejected).toEqual([{ reason: 'out_of_order', count: 1 }, { reason: 'duplicate', count: 1 }]);
    expect(res.message).toContain('series a: out of order sample');
    expect(res.message).toContain('series a: duplicate sample');
  });

  it('rolls back and rethrows when the store fails for another reason', async () => {
    const mem = new MemoryAppender();
    const failing: Appender = {
      append: (r, l, ts, v) => mem.append(r, l, ts, v),
      appendHistogram: (r, l, ts, h) => mem.appendHistogram(r, l, ts, h),
      commit: () => {
        throw new Error('disk full (test fault: a real full disk cannot be made here)');
      },
      rollback: () => mem.rollback(),
    };
    const t = target({}, failing);
    await expect(send(t, encodeV1([series('a', {}, [[NOW, 1]])]))).rejects.toThrow('disk full');
    expect(mem.rollbacks).toBe(1);
  });

  it('maps a store series_limit AppendError to 429', async () => {
    const refusing: Appender = {
      append: () => {
        throw new AppendError('series_limit', 'store is full');
      },
      appendHistogram: () => {
        throw new AppendError('series_limit', 'store is full');
      },
      commit: () => {},
      rollback: () => {},
    };
    const res = await send(target({}, refusing), encodeV1([series('a', {}, [[NOW, 1]])]));
    expect(res.status).toBe(429);
    expect(res.retryAfterSeconds).toBeGreaterThan(0);
  });
});

describe('limits', () => {
  it('stores each sample under its own series whatever order the series come in, request after request', async () => {
    const t = target();
    const mem = t.appender as MemoryAppender;
    const names = ['a', 'b', 'c', 'd', 'e'];
    // Same order (the guess holds), reordered, with one missing, one new and one sent twice.
    const orders = [names, names, ['c', 'a', 'e', 'b', 'd'], ['a', 'c', 'd', 'e'], ['a', 'f', 'b', 'c', 'd', 'e'], ['b', 'b', 'a']];
    for (const [k, order] of orders.entries()) {
      const res = await send(t, encodeV1(order.map((n, i) => series(n, { job: 'x' }, [[NOW + k * 1000 + (order.indexOf(n) === i ? 0 : 1), names.indexOf(n) * 100 + k]]))), V1_TYPE, NOW + k * 1000);
      expect(res.status, `request ${k}`).toBe(204);
    }
    for (const n of [...names, 'f']) {
      const s = mem.find(n)!;
      const sent = orders.flatMap((order, k) => order.flatMap((m, i) => (m === n ? [{ t: NOW + k * 1000 + (order.indexOf(m) === i ? 0 : 1), v: names.indexOf(n) * 100 + k }] : [])));
      expect(s.t, n).toEqual(sent.map((x) => x.t));
      expect(s.t.map((_, i) => mem.value(s, i)), n).toEqual(sent.map((x) => x.v));
    }
    expect(activeSeries(t.state)).toBe(6);
  });

  it('refuses new series over the active-series limit with 429, keeps known series, and frees idle ones', async () => {
    const t = target({ activeSeries: 2 });
    expect((await send(t, encodeV1([series('a', {}, [[NOW, 1]]), series('b', {}, [[NOW, 1]])]))).status).toBe(204);
    const res = await send(t, encodeV1([series('a', {}, [[NOW + 1, 1]]), series('c', {}, [[NOW + 1, 1]])]), V1_TYPE, NOW + 1);
    expect(res.status).toBe(429);
    expect(res.retryAfterSeconds).toBe(60);
    expect(res.samplesWritten).toBe(1);
    expect(res.message).toContain('series c: active series limit activeSeries=2 reached');
    // b goes idle for two generations: c fits again.
    const later = NOW + 2 * ACTIVE_SERIES_GENERATION_MS;
    expect((await send(t, encodeV1([series('a', {}, [[later, 1]])]), V1_TYPE, later)).status).toBe(204);
    const later2 = later + ACTIVE_SERIES_GENERATION_MS;
    expect((await send(t, encodeV1([series('a', {}, [[later2, 1]]), series('c', {}, [[later2, 1]])]), V1_TYPE, later2)).status).toBe(204);
    expect(activeSeries(t.state)).toBe(2);
  });

  it('rate-limits with a token bucket: 429 with Retry-After, nothing stored, refilled later', async () => {
    const t = target({ ingestionRate: 10, ingestionBurst: 20 });
    const mem = t.appender as MemoryAppender;
    const batch = (ts: number, n: number) => encodeV1(Array.from({ length: n }, (_, i) => series('s', { i: String(i) }, [[ts, 1]])));
    expect((await send(t, batch(NOW, 15))).status).toBe(204);
    const res = await send(t, batch(NOW + 1, 15), V1_TYPE, NOW + 100);
    expect(res.status).toBe(429);
    expect(res.retryAfterSeconds).toBe(1);
    expect(res.message).toContain('ingestionRate=10 samples/s, ingestionBurst=20');
    expect(res.message).toContain('raise the limit (ampule limits set --ingestion-rate N'); // says how, to whoever reads the sender's log
    expect(mem.find('s')!.t).toHaveLength(1);
    expect((await send(t, batch(NOW + 2, 15), V1_TYPE, NOW + 1100)).status).toBe(204);
    const tooBig = await send(t, batch(NOW + 3, 21), V1_TYPE, NOW + 100_000);
    expect(tooBig.status).toBe(413);
    expect(tooBig.message).toContain('ingestionBurst=20');
  });

  it('refuses samples older than the retention or over 10 minutes ahead with 400 naming the bound, storing the rest', async () => {
    const t = target({ retentionMs: 150 * 86_400_000 });
    const mem = t.appender as MemoryAppender;
    const res = await send(t, encodeV1([
      series('epoch', {}, [[0, 1]]),
      series('ahead', {}, [[NOW + 11 * 60_000, 1]]),
      series('ok', {}, [[NOW - 149 * 86_400_000, 1], [NOW + 9 * 60_000, 2]]),
    ]));
    expect(res.status).toBe(400);
    expect(res.samplesWritten).toBe(2);
    expect(res.rejected).toEqual([{ reason: 'too_old', count: 1 }, { reason: 'too_far_in_future', count: 1 }]);
    expect(res.message).toContain('series epoch: too old: sample at 1970-01-01T00:00:00.000Z is older than the retention of 150d');
    expect(res.message).toContain(`series ahead: too far in the future: sample at ${new Date(NOW + 11 * 60_000).toISOString()} is more than 10m ahead`);
    expect(mem.find('ok')!.t).toEqual([NOW - 149 * 86_400_000, NOW + 9 * 60_000]);
    expect(mem.find('epoch')).toBeUndefined();
  });

  it('re-validates cached series when the limits change', async () => {
    const t = target();
    expect((await send(t, encodeV1([series('a', { x: 'long value' }, [[NOW, 1]])]))).status).toBe(204);
    const stricter: Target = { ...t, limits: { ...t.limits, labelValueLength: 4 } };
    const res = await send(stricter, encodeV1([series('a', { x: 'long value' }, [[NOW + 1, 1]])]));
    expect(res.status).toBe(400);
    expect(res.rejected).toEqual([{ reason: 'label_limit', count: 1 }]);
  });
});

describe('content negotiation', () => {
  it('picks the version from Content-Type, defaulting to 1.0', () => {
    expect(remoteWriteVersion(undefined, undefined)).toBe(1);
    expect(remoteWriteVersion('application/x-protobuf', 'snappy')).toBe(1);
    expect(remoteWriteVersion('Application/X-Protobuf; proto=prometheus.WriteRequest', 'SNAPPY')).toBe(1);
    expect(remoteWriteVersion('application/x-protobuf;proto=io.prometheus.write.v2.Request', 'snappy')).toBe(2);
  });

  it('answers 415 listing the supported types and encodings', async () => {
    const t = target();
    const raw = encodeV1([series('a', {}, [[NOW, 1]])]);
    const json = await send(t, raw, 'application/json');
    expect(json.status).toBe(415);
    expect(json.message).toContain('application/x-protobuf;proto=io.prometheus.write.v2.Request (2.0)');
    expect((await send(t, raw, 'application/x-protobuf;proto=io.prometheus.write.v3.Request')).status).toBe(415);
    const gz = await t.ingester.ingest({ body: snappy(raw), contentType: V1_TYPE, contentEncoding: 'gzip', version: undefined }, t.limits, NOW);
    expect(gz.status).toBe(415);
    expect(gz.message).toContain('only snappy');
    expect(() => remoteWriteVersion('text/plain', undefined)).toThrow(IngestError);
  });

  it('answers 400 with the right Content-Type when a body is sent as the other version', async () => {
    const v2as1 = await send(target(), encodeV2([series('a', {}, [[NOW, 1]])]), V1_TYPE);
    expect(v2as1.status).toBe(400);
    expect(v2as1.message).toContain('this is a remote write 2.0 body; send it with Content-Type: application/x-protobuf;proto=io.prometheus.write.v2.Request');
    const v1as2 = await send(target(), encodeV1([series('a', {}, [[NOW, 1]])]), V2_TYPE);
    expect(v1as2.status).toBe(400);
    expect(v1as2.message).toContain('this is a remote write 1.0 body');
  });
});
