import { describe, expect, it } from 'vitest';
import { Batch } from '../../../main/forward/batch';
import { RemoteWriteEncoder, remoteWriteHeaders } from '../../../main/forward/encode';
import { remoteWriteVersion } from '../../../main/ingest/remote-write';
import { labelsFromRecord } from '../../../shared/labels';
import { decodeBody } from './decode';

const STALE_NAN = new DataView(new Uint8Array([0x7f, 0xf0, 0, 0, 0, 0, 0, 2]).buffer).getFloat64(0);

function fill(batch: Batch): void {
  batch.clear();
  const a = batch.add(labelsFromRecord({ __name__: 'up', job: 'node', instance: 'höst:9100' }));
  batch.sample(a, 1_700_000_000_000, 1);
  batch.sample(a, 1_700_000_015_000, STALE_NAN);
  const b = batch.add(labelsFromRecord({ __name__: 'temp', room: 'k' }));
  batch.sample(b, -5, -0.5); // negative timestamps take ten bytes
  batch.sample(b, 0, 0);
  batch.sample(b, 2 ** 52, Number.MAX_VALUE);
  batch.add(labelsFromRecord({ __name__: 'empty' })); // a series with no samples
  const c = batch.add(labelsFromRecord({ __name__: 'inf', le: '+Inf' }));
  batch.sample(c, 127, Infinity);
  batch.sample(c, 128, -Infinity);
}

describe('remote-write encoding', () => {
  for (const [message, version] of [
    ['prometheus.WriteRequest', 1],
    ['io.prometheus.write.v2.Request', 2],
  ] as const) {
    it(`${message} decodes with main/ingest to the same series, values bit-exact`, () => {
      const batch = new Batch();
      fill(batch);
      const enc = new RemoteWriteEncoder();
      const decoded = decodeBody(enc.encode(batch, message), version);
      expect(decoded.map((s) => s.labels)).toEqual(batch.series.slice(0, batch.length).map((s) => s.labels));
      const bits = new DataView(new ArrayBuffer(8));
      for (let i = 0; i < batch.length; i++) {
        const s = batch.series[i]!;
        expect(decoded[i]!.samples.map((x) => x.t)).toEqual([...s.timestamps.subarray(0, s.count)]);
        const want = [...s.values.subarray(0, s.count)].map((v) => {
          bits.setFloat64(0, v);
          return bits.getBigUint64(0);
        });
        expect(decoded[i]!.samples.map((x) => x.bits)).toEqual(want);
      }
      expect(decoded[0]!.samples[1]!.bits).toBe(0x7ff0000000000002n);
      const h = remoteWriteHeaders(message);
      expect(remoteWriteVersion(h['Content-Type'], h['Content-Encoding'])).toBe(version);
    });

    it(`${message}: reusing the encoder for a smaller and a larger batch gives correct bodies`, () => {
      const enc = new RemoteWriteEncoder();
      const big = new Batch();
      for (let i = 0; i < 3000; i++) {
        const s = big.add(labelsFromRecord({ __name__: 'm', i: String(i), pad: 'x'.repeat(i % 50) }));
        for (let j = 0; j < 10; j++) big.sample(s, 1_700_000_000_000 + j * 1000, i * 10 + j);
      }
      const small = new Batch();
      fill(small);
      expect(decodeBody(enc.encode(small, message), version)).toHaveLength(4);
      const d = decodeBody(enc.encode(big, message), version);
      expect(d).toHaveLength(3000);
      expect(d[2999]!.samples[9]!.v).toBe(29999);
      expect(d[1234]!.labels.find((l) => l.name === 'pad')!.value).toBe('x'.repeat(1234 % 50));
      expect(decodeBody(enc.encode(small, message), version)[1]!.samples[0]!.t).toBe(-5);
    });
  }

  it('2.0 puts each string once in the symbol table, the empty string first', () => {
    const batch = new Batch();
    for (let i = 0; i < 100; i++) batch.sample(batch.add(labelsFromRecord({ __name__: 'same_name', job: 'same_job', i: String(i % 2) })), i, i);
    const enc = new RemoteWriteEncoder();
    const raw = enc.encodeV2(batch);
    const text = raw.toString('latin1');
    expect(text.split('same_name').length - 1).toBe(1);
    expect(raw[0]).toBe((4 << 3) | 2);
    expect(raw[1]).toBe(0); // symbols[0] = ""
    const v1 = Buffer.from(enc.encodeV1(batch));
    expect(v1.toString('latin1').split('same_name').length - 1).toBe(100);
  });

  it('timestamps at every varint length boundary decode exactly (fast paths below and above 2^28)', () => {
    const ts: number[] = [];
    for (let bits = 7; bits <= 53; bits += 7) ts.push(2 ** bits - 1, 2 ** bits);
    ts.push(2 ** 28 + 127, 2 ** 31, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER);
    ts.sort((a, b) => a - b);
    const batch = new Batch();
    const s = batch.add(labelsFromRecord({ __name__: 'edges' }));
    for (const t of ts) batch.sample(s, t, 1);
    for (const [message, version] of [['prometheus.WriteRequest', 1], ['io.prometheus.write.v2.Request', 2]] as const) {
      expect(decodeBody(new RemoteWriteEncoder().encode(batch, message), version)[0]!.samples.map((x) => x.t)).toEqual(ts);
    }
  });
});
