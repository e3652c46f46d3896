// The bit writer against the reader: every width from 0 to 32 bits, at every alignment, reads back
// as written, a finish() in the middle of a stream changes nothing of what follows, and the prefix
// code's loop writes what the code's definition, written field by field, writes.
import { describe, expect, it } from 'vitest';
import { BitReader, BitWriter } from '../../../main/tsdb/bitstream';

/** Deterministic widths and values: each width 0–32 at many bit offsets, values up to their width's top. */
function fields(count: number): [number, number][] {
  let seed = 99;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  return Array.from({ length: count }, (_, i) => {
    const n = i % 33;
    const v = n === 0 ? 0 : i % 5 === 0 ? 2 ** n - 1 : next() % 2 ** n;
    return [v, n];
  });
}

describe('BitWriter', () => {
  it('writes fields of 0 to 32 bits at every alignment, read back exactly, and ignores bits above the width', () => {
    const w = new BitWriter(4); // grows many times
    const fs = fields(2000);
    for (const [v, n] of fs) w.writeBits(n < 32 ? v + 2 ** n * 3 : v, n); // bits above n set
    const bytes = Uint8Array.from([...w.finish(), 0, 0, 0, 0, 0]);
    const r = new BitReader(bytes, 0);
    for (const [v, n] of fs) expect(r.readBits(n)).toBe(v);
  });

  it('pads the last byte with zeros, and writing on after finish() gives the bytes of one stream', () => {
    const fs = fields(300);
    const whole = new BitWriter();
    for (const [v, n] of fs) whole.writeBits(v, n);
    const once = Array.from(whole.finish());
    const split = new BitWriter();
    let partial: number[] = [];
    for (const [k, [v, n]] of fs.entries()) {
      split.writeBits(v, n);
      if (k % 37 === 0) partial = Array.from(split.finish());
    }
    expect(Array.from(split.finish())).toEqual(once);
    expect(partial.length).toBeGreaterThan(0);
    const bits = fs.reduce((a, [, n]) => a + n, 0);
    expect(once.length).toBe(Math.ceil(bits / 8));
    if (bits % 8 !== 0) expect(once[once.length - 1]! & ((1 << (8 - (bits % 8))) - 1)).toBe(0);
    whole.reset();
    whole.writeBits(1, 1);
    expect(Array.from(whole.finish())).toEqual([0x80]);
  });

  it('writes the prefix code as its definition does, field by field, for every class width (the wide ones too)', () => {
    let seed = 5;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (const [b, b2] of [[0, 0], [0, 3], [2, 7], [5, 5], [11, 22], [22, 22], [3, 23], [24, 30], [10, 53]] as const) {
      const zs = Float64Array.from({ length: 500 }, (_, i) => {
        const r = next();
        if (r < 0.3) return 0;
        if (r < 0.7) return 1 + Math.floor(next() * 2 ** b); // first class: 1 … 2^b
        return Math.min(2 ** b2 - 1, 2 ** b + 1 + Math.floor(next() * 2 ** b2)) * (i % 2); // second class, or 0
      });
      for (const lead of [0, 3, 7]) {
        const fast = new BitWriter(8);
        const byField = new BitWriter(8);
        fast.writeBits(0x55, lead);
        byField.writeBits(0x55, lead);
        fast.writePrefixCoded(zs, zs.length, b, b2);
        for (const z of zs) {
          if (z === 0) byField.writeBits(0, 1);
          else if (z - 1 < 2 ** b) {
            byField.writeBits(2, 2);
            byField.writeWide(z - 1, b);
          } else {
            byField.writeBits(3, 2);
            byField.writeWide(z, b2);
          }
        }
        fast.writeBits(0x3, 2); // the writer goes on where the stream ended
        byField.writeBits(0x3, 2);
        expect(Array.from(fast.finish()), `b=${b} b2=${b2} after ${lead} bits`).toEqual(Array.from(byField.finish()));
      }
    }
  });
});
