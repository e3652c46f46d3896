// Metric metadata from remote write 1.0 and 2.0 into the real encrypted store: decoded from
// encoded bodies (test/main/ingest/encode.ts, an encoder independent of the decoder), kept across a
// reopen, written only when new, sealed (help text never in clear on disk), damage detected, and
// answered by /api/v1/metadata in Prometheus's shape.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createCipher } from '../../../main/crypto/cipher';
import { DEFAULT_LIMITS } from '../../../main/ingest/limits';
import { MetadataTable, metadataV1, metadataV2 } from '../../../main/ingest/metadata';
import { Ingester } from '../../../main/ingest/remote-write';
import { SeriesLayout } from '../../../main/ingest/layout';
import { ProtoReader } from '../../../main/ingest/proto';
import { scanV2, Symbols } from '../../../main/ingest/rw2';
import { metricMetadata } from '../../../main/query/api';
import type { DataKeys, Tsdb } from '../../../main/tsdb/index';
import { scratchStore } from '../tsdb/helpers';
import { ProtoWriter, encodeV1, snappy, V1_TYPE, V2_TYPE } from './encode';

const NOW = 1_790_000_000_000;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const SECRET_HELP = `help text that must stay sealed ${randomBytes(6).toString('hex')}`;

const store = (dir?: string, keys?: DataKeys) => scratchStore(cleanups, 'ws-metatest', dir, keys);

/** A 1.0 body with WriteRequest.metadata entries only (how Prometheus sends metadata). */
function v1Metadata(entries: [type: number, name: string, help: string, unit: string][]): Buffer {
  const w = new ProtoWriter();
  for (const [type, name, help, unit] of entries) w.message(3, (m) => m.tag(1, 0).varint(type).string(2, name).string(4, help).string(5, unit));
  return w.finish();
}

/** A 2.0 body: one series per entry, with its per-series Metadata (type=1, help_ref=3, unit_ref=4). */
function v2Metadata(entries: [type: number, name: string, help: string, unit: string][]): Buffer {
  const symbols = [''];
  const ref = (s: string): number => {
    const i = symbols.indexOf(s);
    return i >= 0 ? i : symbols.push(s) - 1;
  };
  const body = new ProtoWriter();
  for (const [type, name, help, unit] of entries) {
    const refs = new ProtoWriter().varint(ref('__name__')).varint(ref(name)).varint(ref('job')).varint(ref('x')).finish();
    body.message(5, (ts) => {
      ts.bytes(1, refs);
      ts.message(2, (s) => s.double(1, 1).tag(2, 0).varint(NOW));
      ts.message(5, (m) => m.tag(1, 0).varint(type).tag(3, 0).varint(ref(help)).tag(4, 0).varint(ref(unit)));
    });
  }
  const w = new ProtoWriter();
  for (const s of symbols) w.string(4, s);
  return Buffer.concat([w.finish(), body.finish()]);
}

/** The 2.0 metadata of a body, read as ingest reads it: after scanV2 noted the body's layout. */
function v2Entries(raw: Buffer): ReturnType<typeof metadataV2> {
  const symbols = new Symbols();
  const layout = new SeriesLayout();
  scanV2(new ProtoReader(raw), symbols, layout);
  return metadataV2(raw, symbols, layout);
}

function table(db: Tsdb, counter = { writes: 0 }): MetadataTable {
  return new MetadataTable({ read: () => db.readBlob('metadata'), write: (p) => (counter.writes++, db.writeBlob('metadata', p)) });
}

describe('metric metadata', () => {
  it('1.0: decodes type, name, help and unit; skips entries without a name or with bad UTF-8', () => {
    const body = Buffer.concat([
      v1Metadata([[1, 'http_requests_total', 'Requests served.', ''], [3, 'req_duration_seconds', 'Latency.', 'seconds'], [0, '', 'no name', '']]),
      new ProtoWriter().message(3, (m) => m.tag(1, 0).varint(2).string(2, 'bad').bytes(4, Buffer.from([0xff, 0xfe]))).finish(),
    ]);
    expect(metadataV1(body)).toEqual([
      { metric: 'http_requests_total', type: 'counter', help: 'Requests served.', unit: '' },
      { metric: 'req_duration_seconds', type: 'histogram', help: 'Latency.', unit: 'seconds' },
    ]);
    // An out-of-range enum is "unknown", as Prometheus's MetricType string for it.
    expect(metadataV1(v1Metadata([[42, 'm', 'h', '']]))[0]!.type).toBe('unknown');
  });

  it('2.0: a metric\'s series repeating its metadata give one entry; a change, or the same metadata for another metric, gives another', () => {
    const raw = v2Metadata([
      [1, 'a_total', 'A counter.', ''],
      [1, 'a_total', 'A counter.', ''],
      [1, 'b_total', 'A counter.', ''],
      [1, 'a_total', 'A counter.', ''],
      [1, 'a_total', 'Renamed.', ''],
      [1, 'a_total', 'A counter.', ''],
      [2, 'a_total', 'A counter.', ''],
    ]);
    expect(v2Entries(raw)).toEqual([
      { metric: 'a_total', type: 'counter', help: 'A counter.', unit: '' },
      { metric: 'b_total', type: 'counter', help: 'A counter.', unit: '' },
      { metric: 'a_total', type: 'counter', help: 'Renamed.', unit: '' },
      { metric: 'a_total', type: 'counter', help: 'A counter.', unit: '' },
      { metric: 'a_total', type: 'gauge', help: 'A counter.', unit: '' },
    ]);
  });

  it('1.0: the fixture encoder and a hand-assembled body decode alike', () => {
    // WriteRequest{metadata: [{type: GAUGE, metric_family_name: "up", help: "1 if up", unit: ""}]}, bytes written out by hand.
    const hand = Buffer.from([0x1a, 0x0f, 0x08, 0x02, 0x12, 0x02, 0x75, 0x70, 0x22, 0x07, ...Buffer.from('1 if up')]);
    expect(metadataV1(hand)).toEqual([{ metric: 'up', type: 'gauge', help: '1 if up', unit: '' }]);
    expect(metadataV1(encodeV1([], 2))).toEqual([
      { metric: 'metric_0', type: 'counter', help: 'help text', unit: 'seconds' },
      { metric: 'metric_1', type: 'counter', help: 'help text', unit: 'seconds' },
    ]);
  });

  it('2.0: decodes per-series metadata named by __name__; an out-of-range help reference is refused', () => {
    const raw = v2Metadata([[1, 'a_total', 'A counter.', ''], [2, 'b_bytes', 'B gauge.', 'bytes'], [0, 'c', '', '']]);
    expect(v2Entries(raw)).toEqual([
      { metric: 'a_total', type: 'counter', help: 'A counter.', unit: '' },
      { metric: 'b_bytes', type: 'gauge', help: 'B gauge.', unit: 'bytes' },
    ]);
    const bad = new ProtoWriter().string(4, '').string(4, '__name__').string(4, 'x')
      .message(5, (ts) => ts.bytes(1, new ProtoWriter().varint(1).varint(2).finish()).message(5, (m) => m.tag(1, 0).varint(1).tag(3, 0).varint(99)))
      .finish();
    expect(() => v2Entries(bad)).toThrow(/metadata reference 99 is out of range/);
    // Metadata before the labels, and twice (the last counts); a malformed one is a ProtoError of its own.
    const symbolsOf = () => new ProtoWriter().string(4, '').string(4, '__name__').string(4, 'y').string(4, 'first').string(4, 'last');
    const twice = symbolsOf()
      .message(5, (ts) => ts.message(5, (m) => m.tag(1, 0).varint(1).tag(3, 0).varint(3)).bytes(1, new ProtoWriter().varint(1).varint(2).finish()).message(5, (m) => m.tag(1, 0).varint(2).tag(3, 0).varint(4)))
      .finish();
    const s3 = new Symbols();
    const l3 = new SeriesLayout();
    expect(scanV2(new ProtoReader(twice), s3, l3).metadata).toBe(2);
    expect(metadataV2(twice, s3, l3)).toEqual([{ metric: 'y', type: 'gauge', help: 'last', unit: '' }]);
    const cut = symbolsOf().message(5, (ts) => ts.bytes(1, new ProtoWriter().varint(1).varint(2).finish()).message(5, (m) => m.tag(3, 0).raw(Buffer.from([0x80])))).finish();
    expect(scanV2(new ProtoReader(cut), s3, l3).metadata).toBe(1); // its framing is sound
    expect(() => metadataV2(cut, s3, l3)).toThrow(/truncated/);
  });

  for (const [version, encode, type] of [['1.0', v1Metadata, V1_TYPE], ['2.0', v2Metadata, V2_TYPE]] as const) {
    it(`${version}: ingested metadata is sealed, survives a reopen, and is written only when it changed`, async () => {
      const { db, dir, keys } = store();
      const writes = { writes: 0 };
      const ingester = new Ingester(db.appender(), { metadata: table(db, writes) });
      const entries: [number, string, string, string][] = [[1, 'jobs_done_total', SECRET_HELP, ''], [2, 'queue_bytes', 'Queue size.', 'bytes']];
      const send = (raw: Buffer) => ingester.ingest({ body: snappy(raw), contentType: type, contentEncoding: 'snappy', version: undefined }, DEFAULT_LIMITS, NOW);
      expect(await send(encode(entries))).toMatchObject({ status: 204, metadataReceived: 2 });
      expect(writes.writes).toBe(1);
      // Prometheus resends all metadata every minute: nothing new, nothing written.
      for (let i = 0; i < 5; i++) expect((await send(encode(entries))).status).toBe(204);
      expect(writes.writes).toBe(1);
      expect(await send(encode([[1, 'jobs_done_total', 'Reworded help.', '']]))).toMatchObject({ status: 204 });
      expect(writes.writes).toBe(2);
      db.close();

      // No file of the store holds the help text in clear.
      for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).includes(Buffer.from(SECRET_HELP)), f).toBe(false);

      const again = store(dir, keys).db;
      const answer = metricMetadata(new URLSearchParams(), (m) => table(again).entries(m));
      expect(answer.status).toBe(200);
      const data = (answer.body as { data: Record<string, unknown[]> }).data;
      expect(data).toEqual({
        jobs_done_total: [{ type: 'counter', help: SECRET_HELP, unit: '' }, { type: 'counter', help: 'Reworded help.', unit: '' }],
        queue_bytes: [{ type: 'gauge', help: 'Queue size.', unit: 'bytes' }],
      });
    });
  }

  it('a removed or older metadata row is damage, not silently empty metadata', () => {
    const { db, dir, keys } = store();
    db.writeBlob('metadata', Buffer.from('[["a",[[1,"first",""]]]]'));
    const file = join(dir, 'ws.db');
    const old = new Database(file).prepare("SELECT key_id, data FROM manifest WHERE name = 'metadata'").get() as { key_id: number; data: Buffer };
    db.writeBlob('metadata', Buffer.from('[["a",[[1,"second",""]]]]'));
    db.close();
    const sql = new Database(file);
    sql.prepare("UPDATE manifest SET data = ? WHERE name = 'metadata'").run(old.data);
    sql.close();
    const reopened = store(dir, keys).db;
    expect(() => reopened.readBlob('metadata')).toThrow(/manifest \(metadata\).*not the version the manifest lists/);
    reopened.close();
    const sql2 = new Database(file);
    sql2.prepare("DELETE FROM manifest WHERE name = 'metadata'").run();
    sql2.close();
    const third = store(dir, keys).db;
    expect(() => third.readBlob('metadata')).toThrow(/manifest \(metadata\).*missing/);
  });

  it('2.0: a bad metadata reference refuses the metadata only; the samples are stored', async () => {
    const { db } = store();
    const ingester = new Ingester(db.appender(), { metadata: table(db) });
    const body = new ProtoWriter().string(4, '').string(4, '__name__').string(4, 'x')
      .message(5, (ts) => ts.bytes(1, new ProtoWriter().varint(1).varint(2).finish()).message(2, (m) => m.double(1, 7).tag(2, 0).varint(NOW)).message(5, (m) => m.tag(1, 0).varint(1).tag(3, 0).varint(99)))
      .finish();
    const r = await ingester.ingest({ body: snappy(body), contentType: V2_TYPE, contentEncoding: 'snappy', version: undefined }, DEFAULT_LIMITS, NOW);
    expect(r).toMatchObject({ status: 400, samplesWritten: 1 });
    expect(r.message).toMatch(/metadata not kept: metadata reference 99 is out of range/);
    expect([...db.querier().select([{ type: '=', name: '__name__', value: 'x' }], NOW - 1, NOW + 1)]).toHaveLength(1);
  });

  it('data-key rotation re-seals the metadata and exemplar rows', async () => {
    const old = createCipher(randomBytes(32));
    const next = createCipher(randomBytes(32));
    const { db, dir } = store(undefined, { current: 1, get: () => old });
    db.writeBlob('metadata', Buffer.from('[]'));
    db.writeBlob('exemplars', Buffer.from('{"series":[],"slots":[]}'));
    db.close();
    const both = store(dir, { current: 2, get: (id) => (id === 1 ? old : next) }).db;
    await both.reencrypt();
    both.close();
    const onlyNew = store(dir, { current: 2, get: (id) => { if (id !== 2) throw new Error(`key ${id} destroyed`); return next; } }).db;
    expect(onlyNew.readBlob('metadata')!.toString()).toBe('[]');
    expect(onlyNew.readBlob('exemplars')!.toString()).toBe('{"series":[],"slots":[]}');
  });

  it('/api/v1/metadata: metric, limit, limit_per_metric and bad numbers as Prometheus answers them', () => {
    const entries: [string, { type: 'counter' | 'gauge'; help: string; unit: string }[]][] = [
      ['a', [{ type: 'counter', help: 'one', unit: '' }, { type: 'counter', help: 'two', unit: '' }]],
      ['b', [{ type: 'gauge', help: 'bee', unit: 'bytes' }]],
    ];
    const source = (m?: string) => (m === undefined ? entries : entries.filter(([n]) => n === m));
    const data = (q: string) => (metricMetadata(new URLSearchParams(q), source).body as { data: Record<string, unknown[]> }).data;
    expect(Object.keys(data(''))).toEqual(['a', 'b']);
    expect(data('metric=b')).toEqual({ b: [{ type: 'gauge', help: 'bee', unit: 'bytes' }] });
    expect(data('metric=nope')).toEqual({});
    expect(Object.keys(data('limit=1'))).toHaveLength(1);
    expect(data('limit=0')).toEqual({});
    expect(data('limit_per_metric=1').a).toHaveLength(1);
    expect(data('limit=-1').a).toHaveLength(2);
    const bad = metricMetadata(new URLSearchParams('limit=x'), source);
    expect(bad).toEqual({ status: 400, body: { status: 'error', errorType: 'bad_data', error: 'limit must be a number' } });
    expect((metricMetadata(new URLSearchParams('limit_per_metric=1.5'), source).body as { error: string }).error).toBe('limit_per_metric must be a number');
  });
});
