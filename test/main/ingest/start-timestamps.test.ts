// Remote write 2.0 start timestamps (Sample.start_timestamp) as Prometheus's receiver ingests them
// with created-timestamp-zero-ingestion (AppendSTZeroSample): a 0 at the start time when it is
// before the sample and after the series' last sample, so increase() sees the counter begin
// there; a repeated, newer-than-sample or older start is ignored, never refused. Into the real
// encrypted store, read back with PromQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createCipher } from '../../../main/crypto/cipher';
import { DEFAULT_LIMITS } from '../../../main/ingest/limits';
import { Ingester } from '../../../main/ingest/remote-write';
import { instantQuery } from '../../../main/query/engine';
import { openTsdb, type Tsdb } from '../../../main/tsdb/index';
import { ProtoWriter, snappy, V1_TYPE, V2_TYPE } from './encode';

const NOW = 1_790_000_000_000;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function store(): Tsdb {
  const dir = mkdtempSync(join(tmpdir(), 'ampule-st-'));
  const cipher = createCipher(randomBytes(32));
  const db = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'ws-starttest', keys: { current: 1, get: () => cipher } });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => db.close());
  return db;
}

/** A 2.0 body: one series `name` with samples [t, v, st] (st 0: none sent). */
function v2(name: string, samples: [number, number, number][]): Buffer {
  const w = new ProtoWriter();
  for (const s of ['', '__name__', name]) w.string(4, s);
  w.message(5, (ts) => {
    ts.bytes(1, new ProtoWriter().varint(1).varint(2).finish());
    for (const [t, v, st] of samples) ts.message(2, (m) => (st ? m.double(1, v).tag(2, 0).varint(t).tag(3, 0).varint(st) : m.double(1, v).tag(2, 0).varint(t)));
  });
  return w.finish();
}

/** The same with 1.0's framing, where Sample has no field 3. */
function v1(name: string, samples: [number, number, number][]): Buffer {
  const w = new ProtoWriter();
  w.message(1, (ts) => {
    ts.message(1, (l) => l.string(1, '__name__').string(2, name));
    for (const [t, v, st] of samples) ts.message(2, (m) => m.double(1, v).tag(2, 0).varint(t).tag(3, 0).varint(st));
  });
  return w.finish();
}

describe('start timestamps (remote write 2.0)', () => {
  const points = (db: Tsdb, name: string) => {
    const [s] = db.querier().select([{ type: '=', name: '__name__', value: name }], 0, NOW + 600_000);
    return s ? [...s.timestamps].map((t, i) => [t - NOW, s.values[i]]) : [];
  };

  it('adds a 0 at the start of a counter and of each restart, once; the rest of the start times are ignored', async () => {
    const db = store();
    const ing = new Ingester(db.appender());
    const send = (body: Buffer, type = V2_TYPE) => ing.ingest({ body: snappy(body), contentType: type, contentEncoding: 'snappy', version: undefined }, DEFAULT_LIMITS, NOW + 600_000);
    // Started 30 s before its first sample.
    let r = await send(v2('c_total', [[NOW, 10, NOW - 30_000], [NOW + 15_000, 20, NOW - 30_000]]));
    expect(r).toMatchObject({ status: 204, samplesWritten: 2 }); // the 0 is not counted
    // The same start again (a long-lived counter), one newer than its sample, none at all.
    r = await send(v2('c_total', [[NOW + 30_000, 30, NOW - 30_000], [NOW + 45_000, 40, NOW + 50_000], [NOW + 60_000, 50, 0]]));
    expect(r).toMatchObject({ status: 204, samplesWritten: 3 });
    // Restarted at +70 s: a 0 there, before the first sample after the restart.
    r = await send(v2('c_total', [[NOW + 75_000, 3, NOW + 70_000], [NOW + 90_000, 6, NOW + 70_000]]));
    expect(r).toMatchObject({ status: 204, samplesWritten: 2 });
    expect(points(db, 'c_total')).toEqual([[-30_000, 0], [0, 10], [15_000, 20], [30_000, 30], [45_000, 40], [60_000, 50], [70_000, 0], [75_000, 3], [90_000, 6]]);
    // So increase() counts from the starts: the 50 of the first life and the 6 of the second, with
    // no extrapolation before the first 0 (without the zeros it would be 46, extrapolated).
    const v = instantQuery(db.querier(), 'increase(c_total[5m])', NOW + 90_000).value;
    expect(v.type === 'vector' && v.samples.map((s) => s.f)).toEqual([56]);

    // 1.0 has no start timestamp: a field 3 in its Sample is not read.
    expect((await send(v1('d_total', [[NOW, 5, NOW - 10_000]]), V1_TYPE)).status).toBe(204);
    expect(points(db, 'd_total')).toEqual([[0, 5]]);
  });
});
