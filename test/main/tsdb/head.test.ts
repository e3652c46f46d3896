// The head's compressed series: samples read back exactly however they were packed, merged or
// adopted, and merging keeps a long head to a few chunks.
import { describe, expect, it } from 'vitest';
import { decodeList, listCount, MemSeries } from '../../../main/tsdb/head';

const T0 = 1_700_000_000_000;

const mixed = (i: number): number => (i % 3 === 0 ? i : Math.sin(i) * 1e6);
/** A counter scraped every 15 s: a few bits a sample, so chunk headers are most of the cost. */
const counter = (i: number): number => i * 7;

function fill(s: MemSeries, n: number, at = 0, value = mixed): { ts: number[]; vs: number[] } {
  const ts: number[] = [];
  const vs: number[] = [];
  for (let i = at; i < at + n; i++) {
    const t = T0 + i * 15_000 + (value === mixed ? i % 5 : 0);
    const v = value(i);
    s.push(t, v);
    ts.push(t);
    vs.push(v);
  }
  return { ts, vs };
}

describe('MemSeries', () => {
  it('reads back every sample at each packing and merging step', () => {
    const s = new MemSeries(1, [], 'k');
    const ts: number[] = [];
    const vs: number[] = [];
    for (const n of [15, 1, 111, 1, 1, 895, 1, 1, 3000]) {
      const more = fill(s, n, ts.length);
      ts.push(...more.ts);
      vs.push(...more.vs);
      expect(s.count).toBe(ts.length);
      expect([...s.timestamps.subarray(0, s.count)]).toEqual(ts);
      expect([...s.values.subarray(0, s.count)]).toEqual(vs);
    }
    const w = s.window(ts[100]!, ts[2000]!);
    expect([...w.timestamps]).toEqual(ts.slice(100, 2001));
  });

  it('merges packed chunks: a long head costs less than its 16-sample chunks', () => {
    const merged = new MemSeries(1, [], 'a');
    fill(merged, 4096, 0, counter);
    const list = merged.packedList()!;
    expect(listCount(list, 0, list.length)).toBe(4096);
    // The same samples as 256 chunks of 16, each coded alone.
    let separate = 0;
    for (let i = 0; i < 4096; i += 16) {
      const one = new MemSeries(2, [], 'b');
      fill(one, 16, i, counter);
      separate += one.packedList()!.length;
    }
    expect(list.length).toBeLessThan(separate / 4);
  });

  it('adopts a list as it is and keeps appending after it', () => {
    const a = new MemSeries(1, [], 'a');
    const first = fill(a, 1500);
    const list = a.packedList()!.slice();
    const b = new MemSeries(2, [], 'b');
    b.adoptPacked(list, a.count, a.lastHeadT);
    const more = fill(b, 40, 1500);
    expect([...b.timestamps.subarray(0, b.count)]).toEqual([...first.ts, ...more.ts]);
    expect([...b.values.subarray(0, b.count)]).toEqual([...first.vs, ...more.vs]);
    const padded = new Uint8Array(list.length + 8);
    padded.set(list);
    const ts = new Float64Array(1500);
    const vs = new Float64Array(1500);
    expect(decodeList(padded, 0, list.length, ts, vs, 0)).toBe(1500);
    expect([...vs]).toEqual(first.vs);
  });

  it('spreads the packing of series scraped together over the pushes', () => {
    const series = Array.from({ length: 64 }, (_, i) => new MemSeries(i + 1, [], String(i)));
    let most = 0;
    for (let i = 0; i < 200; i++) {
      let packed = 0;
      for (const s of series) {
        s.push(T0 + i * 15_000, i);
        if (s.kept()!.timestamps.length === 0) packed++;
      }
      most = Math.max(most, packed);
    }
    expect(most).toBe(64 / 16);
  });

  it('gives no list for an unsorted head until it is sorted', () => {
    const s = new MemSeries(1, [], 'a');
    fill(s, 20);
    s.push(T0, 42); // older than the newest: the head is unsorted, T0 replaced
    expect(s.packedList()).toBeUndefined();
    s.sortHead();
    expect(listCount(s.packedList()!, 0, s.packedList()!.length)).toBe(20);
    expect(s.values[0]).toBe(42);
  });
});
