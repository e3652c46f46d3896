// Ingestion into the real encrypted store (main/tsdb): samples come back through its Querier,
// bit-exact, survive a reopen, and the store's own refusals reach the sender.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createCipher } from '../../../main/crypto/cipher';
import { DEFAULT_LIMITS } from '../../../main/ingest/limits';
import { Ingester } from '../../../main/ingest/remote-write';
import { openTsdb, type DataKeys, type Tsdb } from '../../../main/tsdb/index';
import { STALE_NAN_BITS } from '../../../main/tsdb/types';
import { encodeV1, encodeV2, snappy, V1_TYPE, V2_TYPE, type SeriesInput } from './encode';

const NOW = 1_790_000_000_000;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function openStore(dir?: string, keys?: DataKeys): { db: Tsdb; dir: string; keys: DataKeys } {
  dir ??= mkdtempSync(join(tmpdir(), 'ampule-ingest-'));
  if (!keys) {
    const cipher = createCipher(randomBytes(32));
    keys = { current: 1, get: () => cipher };
  }
  const db = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'ws-ingesttest', keys });
  const d = dir;
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return { db, dir, keys };
}

function send(ingester: Ingester, raw: Buffer, type: string) {
  return ingester.ingest({ body: snappy(raw), contentType: type, contentEncoding: 'snappy', version: undefined }, DEFAULT_LIMITS, NOW);
}

function bitsOf(v: number): bigint {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v, true);
  return dv.getBigUint64(0, true);
}

describe('ingestion into the real store', () => {
  for (const [version, encode, type] of [
    ['1.0', encodeV1, V1_TYPE],
    ['2.0', encodeV2, V2_TYPE],
  ] as const) {
    it(`${version}: stores, queries back bit-exact after a reopen, and reports store refusals`, async () => {
      const { db, dir, keys } = openStore();
      const ingester = new Ingester(db.appender());
      const input: SeriesInput[] = [];
      for (let i = 0; i < 50; i++) {
        input.push({
          labels: [['__name__', 'node_cpu_seconds_total'], ['cpu', String(i)], ['job', 'node']],
          samples: [{ t: NOW - 15_000, v: i }, { t: NOW, v: i + 0.5 }],
        });
      }
      input.push({ labels: [['__name__', 'up'], ['job', 'node']], samples: [{ t: NOW - 15_000, v: 1 }, { t: NOW, v: NaN, bits: STALE_NAN_BITS }] });
      expect(await send(ingester, encode(input), type)).toMatchObject({ status: 204, samplesWritten: 102 });

      // Known series take the cached ref path; an out-of-order sample is refused by the store.
      const again: SeriesInput[] = [
        { labels: [['__name__', 'up'], ['job', 'node']], samples: [{ t: NOW - 30_000, v: 1 }, { t: NOW + 15_000, v: 1 }] },
        { labels: [['__name__', 'node_cpu_seconds_total'], ['cpu', '7'], ['job', 'node']], samples: [{ t: NOW + 15_000, v: 42 }] },
      ];
      const res = await send(ingester, encode(again), type);
      expect(res.status).toBe(400);
      expect(res.samplesWritten).toBe(2);
      expect(res.rejected.map((r) => r.reason)).toEqual(['out_of_order']);
      expect(res.message).toContain('series up{job="node"}');
      db.close();

      const { db: reopened } = openStore(dir, keys);
      cleanups.push(() => reopened.close());
      const q = reopened.querier();
      const up = q.select([{ type: '=', name: '__name__', value: 'up' }], NOW - 60_000, NOW + 60_000);
      expect(up).toHaveLength(1);
      expect([...up[0]!.timestamps]).toEqual([NOW - 15_000, NOW, NOW + 15_000]);
      expect(bitsOf(up[0]!.values[1]!)).toBe(STALE_NAN_BITS);
      const cpu7 = q.select([{ type: '=', name: 'cpu', value: '7' }], NOW - 60_000, NOW + 60_000);
      expect([...cpu7[0]!.values]).toEqual([7, 7.5, 42]);
      expect(q.series([{ type: '=', name: '__name__', value: 'node_cpu_seconds_total' }], NOW - 60_000, NOW + 60_000)).toHaveLength(50);
    });
  }
});
