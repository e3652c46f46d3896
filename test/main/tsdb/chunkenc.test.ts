import { describe, expect, it } from 'vitest';
import { BitWriter, PAD_BYTES } from '../../../main/tsdb/bitstream';
import { chunkValueCoding, decodeChunk, decodeChunkInto, encodeChunk, lastDecode } from '../../../main/tsdb/chunkenc';
import { STALE_NAN_BITS } from '../../../main/tsdb/types';
import { fromBits, toBits } from './helpers';

function roundTrip(ts: number[], vs: number[] | Float64Array, bucketStart = 0): { bytes: number; t: Float64Array; v: Float64Array; coding: string; buf: Uint8Array } {
  const w = new BitWriter(16);
  encodeChunk(w, Float64Array.from(ts), Float64Array.from(vs), 0, ts.length, bucketStart);
  const enc = w.finish();
  const buf = new Uint8Array(enc.length + PAD_BYTES);
  buf.set(enc);
  const d = decodeChunk(buf, 0, bucketStart);
  return { bytes: enc.length, t: d.timestamps, v: d.values, coding: chunkValueCoding(buf, 0), buf };
}

function expectBitExact(actual: Float64Array, expected: ArrayLike<number>): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(toBits(actual[i]!), `index ${i}`).toBe(toBits(expected[i]!));
}

describe('chunkenc', () => {
  const base = 1_700_000_000_000;
  const regular = Array.from({ length: 480 }, (_, i) => base + i * 15_000);

  it('codes a constant series on a regular scrape in a few bytes', () => {
    const r = roundTrip(regular, regular.map(() => 1), base);
    expect(Array.from(r.t)).toEqual(regular);
    expectBitExact(r.v, regular.map(() => 1));
    expect(r.bytes).toBeLessThan(24);
  });

  it('codes integer counters and decimal gauges exactly and compactly', () => {
    let c = 1000;
    const counter = regular.map((_, i) => (c += 100 + ((i * 7919) % 23)));
    const cpu = regular.map((_, i) => Math.round((12345.67 + i * 14.99 + ((i * 31) % 7) / 100) * 100) / 100);
    for (const vs of [counter, cpu]) {
      const r = roundTrip(regular, vs, base);
      expectBitExact(r.v, vs);
      expect(r.bytes / vs.length).toBeLessThan(1.2);
    }
  });

  it('falls back to XOR for arbitrary floats and keeps special values bit-exact', () => {
    // A Float64Array, not a JS array: V8 canonicalizes NaN payloads stored in double arrays.
    const vs = new Float64Array(58);
    for (let i = 0; i < 50; i++) vs[i] = Math.sin(i) * 1e3;
    vs.set([NaN, 0, -0, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE, 0], 50);
    vs[51] = fromBits(STALE_NAN_BITS);
    const ts = Array.from({ length: vs.length }, (_, i) => base + i * 15_000 + (i % 3 === 0 ? 3 : 0));
    const r = roundTrip(ts, vs, base - 1234);
    expect(Array.from(r.t)).toEqual(ts);
    expectBitExact(r.v, vs);
    expect(toBits(r.v[51]!)).toBe(STALE_NAN_BITS);
    expect(toBits(r.v[50]!)).not.toBe(STALE_NAN_BITS);
  });

  it('handles single samples, huge integers and irregular timestamps', () => {
    for (const [ts, vs] of [
      [[base], [42]],
      [[base, base + 1], [2 ** 52, -(2 ** 52)]],
      [[base, base + 1, base + 10_000_000, base + 10_000_001], [1.5, 2.25, -3.125, 1e-300]],
    ] as [number[], number[]][]) {
      const r = roundTrip(ts, vs, base);
      expect(Array.from(r.t)).toEqual(ts);
      expectBitExact(r.v, vs);
    }
  });
  it('decodes rising counters exactly for every code width (zero, small and wide deltas, wide codes past 30 bits, scaled values)', () => {
    let seed = 11;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    // Largest delta 2^e: the wide class spans 1…52 bits, so both decoding loops run (≤ 30 bits and beyond).
    for (const e of [0, 1, 3, 5, 9, 17, 24, 29, 30, 31, 33, 40, 48]) {
      for (const [scale, small] of [[1, 16], [100, 16], [1, 2]] as const) {
        let c = Math.floor(rand() * 1000);
        const vs = regular.map((_, i) => {
          const r = rand();
          // A mix of no increase, small increases (only 1 for small = 2: a zero-width small class) and a few near the largest.
          const d = r < 0.2 ? 0 : r < 0.9 ? Math.floor(rand() * small) : Math.floor(rand() * 2 ** e);
          c += i === 7 ? 2 ** e : d;
          return c / scale;
        });
        const r = roundTrip(regular, vs, base);
        expectBitExact(r.v, vs);
      }
    }
  });

  it('packs deltas of one width when that is at most half a bit a delta larger, and decodes every width exactly (both loops, int32 sums and beyond, scaled, falling values)', () => {
    let seed = 5;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    // Deltas spread evenly over [min, min + 2^width): what the prefix codes cost more for.
    for (let width = 1; width <= 26; width++) {
      // min 1e7 with 480 samples passes 2^31: the sum is kept in doubles, not int32.
      for (const [min, scale] of [[0, 1], [1000, 1], [-(2 ** (width - 1)), 1], [1e7, 1], [3, 100]] as const) {
        const deltas = regular.map(() => min + Math.floor(rand() * 2 ** width));
        deltas[9] = min + 2 ** width - 1; // the widest field, at least once
        deltas[10] = min;
        let c = 5000;
        const vs = deltas.map((d, i) => (i === 0 ? c : (c += d)) / scale);
        const r = roundTrip(regular, vs, base);
        expectBitExact(r.v, vs);
        expect(r.coding, `width ${width}, min ${min}, scale ${scale}`).toBe(width <= 25 ? 'packed' : r.coding === 'packed' ? 'not packed' : r.coding);
        // Every remainder of the loops that read fields four (widths 1–6), three (7, 8) or two (9–12) at a time, at an offset.
        for (let extra = 1; extra <= 3; extra++) {
          const more = Array.from({ length: extra }, (_, j) => (c + (j + 1) * (min + j)) / scale);
          const longer = roundTrip([...regular, ...more.map((_, j) => base + (480 + j) * 15_000)], [...vs, ...more], base);
          expectBitExact(longer.v, [...vs, ...more]);
        }
      }
    }
    // A rising counter with mostly no increase stays with the prefix code (1 bit per zero), its
    // runs of zeros read at once, the last one up to the chunk's end and not past it.
    let c = 0;
    const sparse = regular.map((_, i) => (c += i % 40 === 0 ? 1000 : 0));
    const r = roundTrip(regular, sparse, base);
    expectBitExact(r.v, sparse);
    expect(r.coding).toBe('rising');
    const room = sparse.length + 40;
    const guarded = new Float64Array(room).fill(-7);
    decodeChunkInto(r.buf, 0, base, new Float64Array(room), guarded, 0);
    expect(guarded.subarray(sparse.length).every((v) => v === -7)).toBe(true);
  });

  it('says whether a chunk\'s values never decrease, from their coding alone', () => {
    const decoded = (vs: number[]): [string, boolean] => {
      const r = roundTrip(regular.slice(0, vs.length), vs, base);
      decodeChunkInto(r.buf, 0, base, new Float64Array(vs.length), new Float64Array(vs.length), 0);
      expectBitExact(r.v, vs);
      return [r.coding, lastDecode.rising];
    };
    let seed = 9;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const walk = (step: (i: number) => number): number[] => {
      let c = 1000;
      return regular.map((_, i) => (c += step(i)));
    };
    expect(decoded(walk(() => Math.floor(rand() * 20)))).toEqual(['packed', true]);
    expect(decoded(walk(() => Math.floor(rand() * 20) - 2))).toEqual(['packed', false]);
    expect(decoded(walk((i) => (i % 40 === 0 ? 1000 : 0)))).toEqual(['rising', true]);
    // A histogram's low bucket: the prefix code takes 1.6 bits a delta, packing 2, read faster.
    expect(decoded(walk((i) => [0, 0, 0, 0, 0, 0, 1, 1, 1, 2][i % 10]!))).toEqual(['packed', true]);
    expect(decoded(walk((i) => (i % 40 === 0 ? (i === 200 ? -1000 : 1000) : 0)))).toEqual(['delta', false]);
    expect(decoded(walk((i) => i))).toEqual(['dod', true]);
    expect(decoded(walk((i) => (i === 200 ? -500 : i)))).toEqual(['dod', false]);
    expect(decoded(walk((i) => -i))).toEqual(['dod', false]);
    expect(decoded(regular.map((_, i) => i + Math.PI))).toEqual(['xor', false]); // floats: a NaN compares with nothing
    expect(decoded([7])).toEqual(['xor', true]);
    expect(decoded([NaN])).toEqual(['xor', false]);
  });

  it('decodes regular timestamps exactly when chunks of one scrape share them (copied from the last decode) or nearly do', () => {
    const decode = (first: number, step: number, n: number, at: number): Float64Array => {
      const ts = Array.from({ length: n }, (_, i) => first + i * step);
      const r = roundTrip(ts, ts.map(() => 1), base);
      const out = new Float64Array(at + n + 8).fill(-1);
      decodeChunkInto(r.buf, 0, base, out, new Float64Array(at + n + 8), at);
      expect(Array.from(out.subarray(at, at + n))).toEqual(ts);
      expect(out.subarray(0, at).every((t) => t === -1) && out.subarray(at + n).every((t) => t === -1)).toBe(true);
      return out;
    };
    // The same run twice, then runs that differ from it in count, first time or step only.
    for (const [first, step, n] of [[base, 15_000, 480], [base, 15_000, 480], [base, 15_000, 300], [base + 1, 15_000, 480], [base, 15_001, 480], [base, 15_000, 480], [base + 60_000, 60_000, 2]]) {
      decode(first!, step!, n!, 3);
    }
  });
});
