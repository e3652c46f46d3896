// mergeSamples' room: a query reading series one at a time passes its pool (`into`); one too small
// must come back as arrays that hold every decoded sample, so the pool adopts them and fits the next
// series; without a pool only the window is copied out.
import { describe, expect, it } from 'vitest';
import { BitWriter, PAD_BYTES } from '../../../main/tsdb/bitstream';
import { encodeChunk } from '../../../main/tsdb/chunkenc';
import { OneChunk } from '../../../main/tsdb/one-chunk';
import { mergeSamples } from '../../../main/tsdb/querier';
import { STALE_NAN_BITS } from '../../../main/tsdb/types';

const N = 480;
const T0 = 1_790_000_000_000;

function chunk(value: (i: number) => number = (i) => i * 2.5): OneChunk {
  const ts = Float64Array.from({ length: N }, (_, i) => T0 + i * 15_000);
  const vs = Float64Array.from({ length: N }, (_, i) => value(i));
  const w = new BitWriter(4096);
  encodeChunk(w, ts, vs, 0, N, T0);
  const coded = w.finish();
  const buf = new Uint8Array(coded.length + PAD_BYTES);
  buf.set(coded);
  return new OneChunk(buf, 0, T0);
}

const noHead = { timestamps: new Float64Array(0), values: new Float64Array(0) };
// The last 5 minutes: samples 460..479.
const mint = T0 + 460 * 15_000, maxt = T0 + 479 * 15_000;

describe('mergeSamples', () => {
  it('copies out only the window when no room is given', () => {
    const got = mergeSamples([chunk()], 0, noHead, mint, maxt);
    expect(Array.from(got.values)).toEqual(Array.from({ length: 20 }, (_, i) => (460 + i) * 2.5));
    expect(got.timestamps.buffer.byteLength).toBe(20 * 8);
  });

  it('decodes into new arrays for every sample when the room given is too small, which then fit the next call', () => {
    const small = { timestamps: new Float64Array(8), values: new Float64Array(8) };
    const first = mergeSamples([chunk()], 0, noHead, mint, maxt, small);
    expect(first.timestamps[0]).toBe(mint);
    expect(first.timestamps.length).toBe(20);
    expect(first.timestamps.buffer.byteLength).toBeGreaterThanOrEqual(N * 8);
    const pool = { timestamps: new Float64Array(first.timestamps.buffer), values: new Float64Array(first.values.buffer) };
    const second = mergeSamples([chunk()], 0, noHead, mint, maxt, pool);
    expect(second.timestamps.buffer).toBe(pool.timestamps.buffer);
    expect(second.values.buffer).toBe(pool.values.buffer);
    expect(Array.from(second.values)).toEqual(Array.from(first.values));
  });

  it('says the values hold no NaN only when no chunk coded floats as such and the head has none', () => {
    const stale = new Float64Array(new BigUint64Array([STALE_NAN_BITS]).buffer)[0]!;
    expect(mergeSamples([chunk()], 0, noHead, T0, maxt).nanFree).toBe(true); // decimals at a scale
    expect(mergeSamples([chunk((i) => (i === 3 ? stale : i))], 0, noHead, T0, maxt).nanFree).toBe(false);
    expect(mergeSamples([chunk((i) => Math.sin(i))], 0, noHead, T0, maxt).nanFree).toBe(false); // XOR, even without a NaN
    const head = { timestamps: Float64Array.of(maxt + 15_000), values: Float64Array.of(stale) };
    expect(mergeSamples([chunk()], 0, head, T0, maxt + 15_000).nanFree).toBe(false);
  });

  it('says the values never decrease only when every chunk\'s coding says so, and each join and the head agree', () => {
    const next = (t: number, v: number) => ({ timestamps: Float64Array.of(t), values: Float64Array.of(v) });
    const later = (value: (i: number) => number): OneChunk => {
      const ts = Float64Array.from({ length: N }, (_, i) => T0 + (N + i) * 15_000);
      const w = new BitWriter(4096);
      encodeChunk(w, ts, Float64Array.from({ length: N }, (_, i) => value(i)), 0, N, T0);
      const buf = new Uint8Array(w.finish().length + PAD_BYTES);
      buf.set(w.finish());
      return new OneChunk(buf, 0, T0);
    };
    const end = T0 + 2 * N * 15_000;
    const counter = (i: number) => i * 3;
    expect(mergeSamples([chunk(counter), later((i) => (N + i) * 3)], 0, next(end, 1e6), T0, end).rising).toBe(true);
    expect(mergeSamples([chunk(counter), later((i) => i * 3)], 0, noHead, T0, end).rising).toBe(false); // reset at the join
    expect(mergeSamples([chunk(counter), later((i) => (N + i) * 3)], 0, next(end, 5), T0, end).rising).toBe(false); // reset in the head
    expect(mergeSamples([chunk(counter)], 0, next(end, NaN), T0, end).rising).toBe(false);
    expect(mergeSamples([chunk((i) => (i === 100 ? 0 : i * 3))], 0, noHead, T0, maxt).rising).toBe(false); // reset inside
    expect(mergeSamples([later((i) => (N + i) * 3), chunk(counter)], 0, noHead, T0, end).rising).toBe(false); // rows out of order: sorted
  });
});
