// Native histograms in outgoing remote write, decoded by main/ingest's own decoder (written
// independently of the encoder): integer form when every count is whole (what Prometheus 2.42's
// receiver reads), float form otherwise; custom buckets, negative offsets, reset hints, big counts.
import { describe, expect, it } from 'vitest';
import { Batch } from '../../../main/forward/batch';
import { RemoteWriteEncoder } from '../../../main/forward/encode';
import { isIntegerHistogram } from '../../../main/forward/encode-histogram';
import { histogramProblem } from '../../../main/ingest/histogram-proto';
import type { FloatHistogram } from '../../../main/tsdb/histogram';
import { labelsFromRecord } from '../../../shared/labels';
import { decodeBody } from './decode';

const integer: FloatHistogram = {
  counterResetHint: 'not_reset', schema: 3, zeroThreshold: 1e-3, zeroCount: 5, count: 5 + 10 + 2 ** 40 + 7 + 3 + 1,
  sum: 1234.5, positiveSpans: [{ offset: -3, length: 2 }, { offset: 200, length: 1 }], negativeSpans: [{ offset: 0, length: 2 }],
  positiveBuckets: [10, 2 ** 40, 7], negativeBuckets: [3, 1],
};
const float: FloatHistogram = {
  counterResetHint: 'gauge', schema: -2, zeroThreshold: 0, zeroCount: 0.25, count: 3.75, sum: -1,
  positiveSpans: [{ offset: 1, length: 3 }], negativeSpans: [], positiveBuckets: [0.5, 1.5, 1.5], negativeBuckets: [],
};
const custom: FloatHistogram = {
  counterResetHint: 'reset', schema: -53, zeroThreshold: 0, zeroCount: 0, count: 6, sum: 2.5,
  positiveSpans: [{ offset: 0, length: 3 }], negativeSpans: [], positiveBuckets: [1, 2, 3], negativeBuckets: [], customValues: [0.1, 0.5, 1],
};
const empty: FloatHistogram = {
  counterResetHint: 'unknown', schema: 0, zeroThreshold: 0, zeroCount: 0, count: 0, sum: 0,
  positiveSpans: [], negativeSpans: [], positiveBuckets: [], negativeBuckets: [],
};

describe('native histograms in remote write', () => {
  it('chooses the integer form only when every count is whole and within 2^53', () => {
    expect(isIntegerHistogram(integer)).toBe(true);
    expect(isIntegerHistogram(custom)).toBe(true);
    expect(isIntegerHistogram(float)).toBe(false);
    expect(isIntegerHistogram({ ...integer, count: 2 ** 54 })).toBe(false);
  });

  for (const [message, version] of [
    ['prometheus.WriteRequest', 1],
    ['io.prometheus.write.v2.Request', 2],
  ] as const) {
    it(`${message}: histograms and floats of a series decode to what was queued`, () => {
      const batch = new Batch();
      const a = batch.add(labelsFromRecord({ __name__: 'lat', job: 'api' }));
      batch.sample(a, 1000, 1.5);
      batch.histogram(a, 1000, integer);
      batch.histogram(a, -7, float); // negative timestamps take ten bytes
      batch.histogram(a, 3000, custom);
      const b = batch.add(labelsFromRecord({ __name__: 'plain' }));
      batch.sample(b, 5, 2);
      const c = batch.add(labelsFromRecord({ __name__: 'only_h' }));
      batch.histogram(c, 9, empty);
      expect(batch.samples).toBe(6);
      const enc = new RemoteWriteEncoder();
      for (let round = 0; round < 2; round++) {
        // Twice: the encoder's reused buffers must not leak one batch into the next.
        const decoded = decodeBody(enc.encode(batch, message), version);
        expect(decoded.map((s) => s.labels)).toEqual(batch.series.slice(0, 3).map((s) => s.labels));
        expect(decoded[0]!.samples.map((s) => [s.t, s.v])).toEqual([[1000, 1.5]]);
        expect(decoded[0]!.histograms.map((d) => [d.t, d.integer])).toEqual([[1000, true], [-7, false], [3000, true]]);
        expect(decoded[0]!.histograms.map((d) => d.h)).toEqual([integer, float, custom]);
        for (const d of decoded[0]!.histograms) expect(histogramProblem(d)).toBeNull();
        expect(decoded[1]!.histograms).toEqual([]);
        expect(decoded[2]!.samples).toEqual([]);
        expect(decoded[2]!.histograms.map((d) => [d.t, d.h])).toEqual([[9, empty]]);
      }
    });
  }

  it('a histogram with more than 127 bytes of buckets keeps its length prefix right', () => {
    const n = 300;
    const big: FloatHistogram = { ...empty, count: n * 2.5, positiveSpans: [{ offset: 0, length: n }], positiveBuckets: Array.from({ length: n }, () => 2.5) };
    const batch = new Batch();
    batch.histogram(batch.add(labelsFromRecord({ __name__: 'wide' })), 1, big);
    const [s] = decodeBody(new RemoteWriteEncoder().encode(batch, 'prometheus.WriteRequest'), 1);
    expect(s!.histograms[0]!.h).toEqual(big);
  });
});
