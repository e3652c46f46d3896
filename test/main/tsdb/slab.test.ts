// The head's slab: blocks of a class share pages, never overlap, and a freed block serves the next
// request of its class; a series removed from the head gives its blocks back.
import { describe, expect, it } from 'vitest';
import { blockSize, Slab } from '../../../main/tsdb/slab';
import { Head } from '../../../main/tsdb/head';

describe('Slab', () => {
  it('hands out disjoint blocks of the smallest class that holds the request, sharing pages', () => {
    const slab = new Slab();
    const refs = Array.from({ length: 3000 }, (_, i) => slab.allocate(1 + (i % 300)));
    const spans = new Map<ArrayBufferLike, [number, number][]>();
    refs.forEach((ref, i) => {
      expect(slab.size(ref)).toBe(blockSize(1 + (i % 300)));
      expect(slab.size(ref)).toBeGreaterThanOrEqual(1 + (i % 300));
      const at = slab.offset(ref);
      const buf = slab.bytes(ref).buffer;
      expect(slab.floats(ref).buffer).toBe(buf);
      expect(at % 8).toBe(0);
      expect(at + slab.size(ref)).toBeLessThanOrEqual(slab.bytes(ref).length);
      spans.set(buf, [...(spans.get(buf) ?? []), [at, at + slab.size(ref)]]);
    });
    // 3,000 blocks of 5 classes (64–384 bytes): a few dozen pages, not an array each.
    expect(spans.size).toBeLessThan(30);
    for (const list of spans.values()) {
      list.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < list.length; i++) expect(list[i]![0]).toBeGreaterThanOrEqual(list[i - 1]![1]);
    }
    expect(slab.allocate(1 << 20)).toBe(-1);
  });

  it('reuses a freed block for the next request of its class', () => {
    const slab = new Slab();
    const a = slab.allocate(100);
    slab.allocate(100);
    slab.release(a);
    expect(slab.allocate(120)).toBe(a);
    expect(slab.allocate(50)).not.toBe(a);
  });

  it('gives a page whose blocks are all freed to the next class that needs one', () => {
    const slab = new Slab();
    const small = Array.from({ length: 2000 }, () => slab.allocate(64));
    const pages = new Set(small.map((r) => slab.bytes(r).buffer));
    expect(pages.size).toBe(2);
    for (const r of small) slab.release(r);
    expect(slab.inUse).toBe(0);
    const big = slab.allocate(4096);
    expect(pages.has(slab.bytes(big).buffer)).toBe(true);
    // The 64-byte class starts again on a page of its own.
    expect(slab.bytes(slab.allocate(64)).buffer).not.toBe(slab.bytes(big).buffer);
  });

  it('gets back every block of the series a head removes', () => {
    const head = new Head();
    for (let id = 1; id <= 100; id++) {
      const s = head.add(id, [{ name: 'k', value: String(id) }]);
      for (let i = 0; i < 200 + id; i++) s.push(1_700_000_000_000 + i * 15_000, i * id);
    }
    expect(head.blockBytes).toBeGreaterThan(100 * 64);
    for (let id = 1; id <= 100; id++) head.remove(head.get(id)!);
    expect(head.blockBytes).toBe(0);
  });
});
