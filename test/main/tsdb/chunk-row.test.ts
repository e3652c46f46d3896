// A chunk row's directory finds each series by id, whether the ids are dense (one part's series:
// a slot table) or spread out (binary search), and knows the ids it lacks.
import { describe, expect, it } from 'vitest';
import { ChunkRow, encodeChunkRow } from '../../../main/tsdb/chunk-row';

const BUCKET = 1_700_000_000_000;

function row(ids: number[]): ChunkRow {
  const inputs = ids.map((id) => {
    const n = 1 + (id % 7);
    const timestamps = Float64Array.from({ length: n }, (_, i) => BUCKET + i * 15_000);
    const values = Float64Array.from({ length: n }, (_, i) => id * 1000 + i);
    return { id, timestamps, values, from: 0, to: n };
  });
  return new ChunkRow(encodeChunkRow(inputs, BUCKET), BUCKET);
}

describe('ChunkRow', () => {
  for (const [what, ids, absent] of [
    ['dense ids', [512, 513, 515, 516, 600, 767], [0, 511, 514, 599, 768]],
    ['spread-out ids', [3, 90_000, 1_000_000, 4_000_000_000], [0, 2, 89_999, 4_000_000_001]],
  ] as const) {
    it(`finds every series and no other (${what})`, () => {
      const r = row([...ids]);
      expect([...r.ids()]).toEqual(ids);
      for (const id of ids) {
        expect(r.has(id)).toBe(true);
        expect(r.count(id)).toBe(1 + (id % 7));
        expect(Array.from(r.decode(id)!.values)).toEqual(Array.from({ length: 1 + (id % 7) }, (_, i) => id * 1000 + i));
        expect(r.codedChunk(id)!.bucketStart).toBe(BUCKET);
      }
      for (const id of absent) {
        expect(r.has(id)).toBe(false);
        expect(r.count(id)).toBe(0);
        expect(r.decode(id)).toBeUndefined();
        expect(r.codedChunk(id)).toBeUndefined();
      }
    });
  }

  it('refuses a directory that lists a series twice', () => {
    const ts = Float64Array.of(BUCKET);
    const plain = encodeChunkRow([{ id: 5, timestamps: ts, values: ts, from: 0, to: 1 }, { id: 5, timestamps: ts, values: ts, from: 0, to: 1 }], BUCKET);
    expect(() => new ChunkRow(plain, BUCKET)).toThrow('out of order');
  });
});
