// The head's compressed series: samples read back exactly however they were packed, merged or
// adopted, and merging keeps a long head to a few chunks.
import { describe, expect, it, vi } from 'vitest';
import { encodeChunkRow } from '../../../main/tsdb/chunk-row';
import { decodeList, deferPacks, encodeList, Head, listChunks, listCount, listSpan, MemSeries } from '../../../main/tsdb/head';
import type { HeadChunk } from '../../../main/tsdb/one-chunk';
import { headSampleParts, restoreHeadSamples, type HeadCut } from '../../../main/tsdb/head-checkpoint';
import { blockSize } from '../../../main/tsdb/slab';

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
    const s = new MemSeries(1, []);
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
    const merged = new MemSeries(1, []);
    const { ts, vs } = fill(merged, 4096, 0, counter);
    const kept = merged.kept()!;
    expect(listCount(kept.list, 0, kept.list.length) + kept.timestamps.length).toBe(4096);
    // The same samples as 256 chunks of 16, each coded alone.
    let separate = 0;
    for (let i = 0; i < 4096; i += 16) separate += encodeList(Float64Array.from(ts), Float64Array.from(vs), i, i + 16).length;
    expect(kept.list.length).toBeLessThan(separate / 4);
  });

  it('adopts a list as it is and keeps appending after it', () => {
    const a = new MemSeries(1, []);
    const first = fill(a, 1500);
    const kept = a.kept()!;
    const packed = a.count - kept.timestamps.length;
    const b = new MemSeries(2, []);
    b.adoptPacked(kept.list.slice(), packed, kept.listLastT);
    for (let i = 0; i < kept.timestamps.length; i++) b.push(kept.timestamps[i]!, kept.values[i]!);
    const more = fill(b, 40, 1500);
    expect([...b.timestamps.subarray(0, b.count)]).toEqual([...first.ts, ...more.ts]);
    expect([...b.values.subarray(0, b.count)]).toEqual([...first.vs, ...more.vs]);
    const padded = new Uint8Array(kept.list.length + 8);
    padded.set(kept.list);
    const ts = new Float64Array(packed);
    const vs = new Float64Array(packed);
    expect(decodeList(padded, 0, kept.list.length, ts, vs, 0)).toBe(packed);
    expect([...vs]).toEqual(first.vs.slice(0, packed));
  });

  it('finds the chunks a window needs, and no more than it must', () => {
    const s = new MemSeries(1, []);
    const { ts } = fill(s, 3000);
    const kept = s.kept()!;
    const packed = s.count - kept.timestamps.length;
    const padded = new Uint8Array(kept.list.length + 8);
    padded.set(kept.list);
    for (const [lo, hi] of [[0, 2999], [100, 140], [1500, 1500], [2900, 2999], [1023, 1025]] as const) {
      const span = listSpan(padded, 0, kept.list.length, ts[lo]!, ts[hi]!);
      const out = new Float64Array(span.count);
      expect(decodeList(padded, span.from, span.to, out, new Float64Array(span.count), 0)).toBe(span.count);
      const inWindow = ts.slice(lo, Math.min(hi + 1, packed));
      expect([...out].filter((t) => t >= ts[lo]! && t <= ts[hi]!)).toEqual(inWindow);
      if (hi - lo < 100) expect(span.count).toBeLessThan(1200);
    }
    expect(listSpan(padded, 0, kept.list.length, ts[2999]! + 1, Infinity).count).toBeLessThan(1100);
    expect(listSpan(padded, 0, kept.list.length, 0, ts[0]! - 1).count).toBe(0);
  });

  it('spreads the packing of series scraped together over the pushes', () => {
    const series = Array.from({ length: 64 }, (_, i) => new MemSeries(i + 1, []));
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

  it("keeps an active series' raw block across its packs, and the head checkpoint gives back the block of one gone idle", () => {
    const placed = vi.spyOn(MemSeries.prototype as unknown as { placeRaw(): void }, 'placeRaw');
    try {
      const head = new Head();
      const idle = head.add(1, [{ name: 'k', value: 'idle' }]);
      const busy = head.add(2, [{ name: 'k', value: 'busy' }]);
      const want = fill(idle, 3, 0, counter);
      for (let i = 3; i < 200 || idle.kept()!.timestamps.length > 0; i++) {
        idle.push(T0 + i * 15_000, counter(i));
        want.ts.push(T0 + i * 15_000);
        want.vs.push(counter(i));
      }
      // One block taken at the first push, none at the dozen packs after it.
      expect(placed).toHaveBeenCalledTimes(1);
      fill(busy, 5, 0, counter);
      const before = head.blockBytes;
      allParts(head);
      expect(before - head.blockBytes).toBe(blockSize(16 * 16));
      expect(busy.kept()!.timestamps.length).toBe(5);
      expect([...idle.timestamps.subarray(0, idle.count)]).toEqual(want.ts);
      expect([...idle.values.subarray(0, idle.count)]).toEqual(want.vs);
    } finally {
      placed.mockRestore();
    }
  });

  it('keeps an unsorted head out of kept() until it is sorted', () => {
    const s = new MemSeries(1, []);
    fill(s, 20);
    s.push(T0, 42); // older than the newest: the head is unsorted, T0 replaced
    expect(s.kept()).toBeUndefined();
    s.sortHead();
    const kept = s.kept()!;
    expect(listCount(kept.list, 0, kept.list.length) + kept.timestamps.length).toBe(20);
    expect(s.values[0]).toBe(42);
    // After an adopted list whose newest sample lastT does not know yet (a restore, before the
    // head state is applied), a push at or before that sample unsorts the head too.
    const a = new MemSeries(2, []);
    fill(a, 40);
    const { list, listLastT } = a.kept()!;
    const adopted = (): MemSeries => {
      const b = new MemSeries(3, []);
      b.adoptPacked(list.slice(), listCount(list, 0, list.length), listLastT);
      return b;
    };
    const b = adopted();
    expect(b.lastT).toBe(-Infinity);
    b.push(listLastT, 7);
    expect(b.sorted).toBe(false);
    const c = adopted();
    c.push(listLastT + 1, 7);
    expect(c.sorted).toBe(true);
  });
});

  it('drops samples before a time, and leaves a head with none that old packed (retention asks every series)', () => {
    const s = new MemSeries(1, []);
    const { ts, vs } = fill(s, 300, 0, counter);
    const packedBytes = s.kept()!.list.length;
    expect(s.dropBefore(ts[0]!)).toBe(0);
    expect(s.kept()!.list.length).toBe(packedBytes);
    expect(s.kept()!.timestamps.length).toBeLessThan(16);
    expect(s.dropBefore(ts[120]!)).toBe(120);
    expect(Array.from(s.timestamps.subarray(0, s.count))).toEqual(ts.slice(120));
    expect(Array.from(s.values.subarray(0, s.count))).toEqual(vs.slice(120));
  });

describe('MemSeries.decodeInto', () => {
  it('decodes compressed and raw samples into the scratch (grown when short), and serves a raw-only series as views of its own', () => {
    const s = new MemSeries(1, []);
    const { ts, vs } = fill(s, 300, 0, counter);
    const scratch = { timestamps: new Float64Array(10), values: new Float64Array(10) };
    const d = s.decodeInto(scratch);
    expect(scratch.timestamps.length).toBeGreaterThanOrEqual(300);
    expect(d.timestamps.buffer).toBe(scratch.timestamps.buffer);
    expect([...d.timestamps]).toEqual(ts);
    expect([...d.values]).toEqual(vs);
    // The next series decodes into the same arrays.
    const t = new MemSeries(2, []);
    const more = fill(t, 200, 5000, counter);
    const e = t.decodeInto(scratch);
    expect(e.timestamps.buffer).toBe(d.timestamps.buffer);
    expect([...e.values]).toEqual(more.vs);
    const raw = new MemSeries(3, []);
    raw.push(T0, 1);
    raw.push(T0 + 1, 2);
    const r = raw.decodeInto(scratch);
    expect(r.timestamps.buffer).not.toBe(scratch.timestamps.buffer);
    expect([...r.timestamps, ...r.values]).toEqual([T0, T0 + 1, 1, 2]);
  });
});

describe('restoreHeadSamples', () => {
  it('reads the checkpoints of earlier versions (the head as one chunk row) and of this one alike', () => {
    const ts = Float64Array.from({ length: 300 }, (_, i) => T0 + i * 15_000);
    const vs = Float64Array.from({ length: 300 }, (_, i) => Math.cos(i) * 100);
    const old = new Head();
    for (const id of [1, 2, 3]) old.add(id, [{ name: 'k', value: String(id) }]);
    // Version 2: one chunk row relative to 0 (series 3 absent: it has no head samples).
    restoreHeadSamples(old, { base: 0, row: encodeChunkRow([{ id: 1, timestamps: ts, values: vs, from: 0, to: 300 }, { id: 2, timestamps: ts, values: vs, from: 100, to: 300 }], 0) });
    expect([...old.get(1)!.values.subarray(0, 300)]).toEqual([...vs]);
    expect([...old.get(2)!.timestamps.subarray(0, 200)]).toEqual([...ts.subarray(100)]);
    expect(old.get(3)!.count).toBe(0);
    // This version's checkpoint of that head gives the same head back.
    old.get(1)!.push(T0 + 300 * 15_000, -1);
    const again = new Head();
    for (const id of [1, 2, 3]) again.add(id, [{ name: 'k', value: String(id) }]);
    for (const row of checkpointParts(old)) restoreHeadSamples(again, { base: 0, row });
    for (const id of [1, 2]) {
      const a = old.get(id)!;
      const b = again.get(id)!;
      expect([...b.timestamps.subarray(0, b.count)]).toEqual([...a.timestamps.subarray(0, a.count)]);
      expect([...b.values.subarray(0, b.count)]).toEqual([...a.values.subarray(0, a.count)]);
    }
  });

  it('copies the lists into blocks of one shared page (the checkpoint row is not kept), and a series growing past its block never writes into the next one', () => {
    const old = new Head();
    const want = new Map<number, { ts: number[]; vs: number[] }>();
    for (const id of [1, 2, 3]) {
      old.add(id, [{ name: 'k', value: String(id) }]);
      want.set(id, fill(old.get(id)!, 160, id * 1000, counter));
    }
    const parts = checkpointParts(old);
    expect(parts).toHaveLength(1);
    const samples = { base: 0, row: parts[0]! };
    const restored = new Head();
    for (const id of [1, 2, 3]) restored.add(id, [{ name: 'k', value: String(id) }]);
    restoreHeadSamples(restored, samples);
    const page = restored.get(1)!.kept()!.list.buffer;
    expect(page).not.toBe(samples.row.buffer);
    for (const id of [2, 3]) expect(restored.get(id)!.kept()!.list.buffer).toBe(page);
    // Series 1 and 2 grow (packing, merging, reallocating); 3, after them in the row, is only read.
    for (const id of [1, 2]) {
      const more = fill(restored.get(id)!, 200, id * 1000 + 160, counter);
      want.get(id)!.ts.push(...more.ts);
      want.get(id)!.vs.push(...more.vs);
    }
    for (const id of [1, 2, 3]) {
      const s = restored.get(id)!;
      expect([...s.timestamps.subarray(0, s.count)]).toEqual(want.get(id)!.ts);
      expect([...s.values.subarray(0, s.count)]).toEqual(want.get(id)!.vs);
    }
  });

  it('restores short raw tails raw, in blocks of 16 samples (a restart of many series allocates no 64-sample tail for each)', () => {
    const old = new Head();
    for (let id = 1; id <= 200; id++) {
      old.add(id, [{ name: 'k', value: String(id) }]);
      fill(old.get(id)!, 165 + (id % 7), id * 1000, counter);
    }
    const restored = new Head();
    for (let id = 1; id <= 200; id++) restored.add(id, [{ name: 'k', value: String(id) }]);
    restored.replay(() => {
      for (const row of checkpointParts(old)) restoreHeadSamples(restored, { base: 0, row });
    });
    let listBytes = 0;
    for (let id = 1; id <= 200; id++) {
      const was = old.get(id)!.kept()!;
      const now = restored.get(id)!.kept()!;
      // The raw tail as it was (not coded at the end of the replay), the list copied byte for byte.
      expect([...now.timestamps]).toEqual([...was.timestamps]);
      expect(now.list).toEqual(was.list);
      listBytes += now.list.length;
    }
    // Lists in blocks of their size class (at most 4/3 of theirs plus padding), tails of 256 bytes, 32 bytes of last values.
    expect(restored.blockBytes).toBeLessThan((4 / 3) * (listBytes + 200 * 8) + 200 * (256 + 32));
  });

  it('writes the head in parts of about the size asked, each restored on its own, and hands back the lists of cut series', () => {
    const old = new Head();
    const want = new Map<number, { ts: number[]; vs: number[] }>();
    for (let id = 1; id <= 40; id++) {
      old.add(id, [{ name: 'k', value: String(id) }]);
      want.set(id, fill(old.get(id)!, 200, id * 1000, counter));
    }
    const oneRow = checkpointParts(old)[0]!.length;
    const rows = checkpointParts(old, 1000);
    expect(rows.length).toBeGreaterThan(3);
    // A part ends at the first series that takes it past the size: no part holds much more.
    for (const row of rows) expect(row.length).toBeLessThan(1000 + oneRow / 10);
    const restored = new Head();
    for (let id = 1; id <= 40; id++) restored.add(id, [{ name: 'k', value: String(id) }]);
    for (const row of rows.reverse()) restoreHeadSamples(restored, { base: 0, row });
    for (let id = 1; id <= 40; id++) {
      const s = restored.get(id)!;
      expect([...s.timestamps.subarray(0, s.count)]).toEqual(want.get(id)!.ts);
      expect([...s.values.subarray(0, s.count)]).toEqual(want.get(id)!.vs);
    }
    // A cut series' kept samples come back coded as one list (the head adopts it after the commit).
    const cut = new Map([[old.get(7)!, { floats: 150, histograms: 0 }]]);
    const { cutLists, sampleCount } = allParts(old, cut);
    expect(sampleCount).toBe(40 * 200 - 150);
    expect([...cutLists.keys()]).toEqual([7]);
    const list = cutLists.get(7)!;
    const s = new MemSeries(7, []);
    s.adoptPacked(list.list, list.count, list.lastT);
    expect([...s.timestamps.subarray(0, s.count)]).toEqual(want.get(7)!.ts.slice(150));
  });
});

/** The parts of a head checkpoint of `head`. */
function checkpointParts(head: Head, partBytes?: number): Buffer[] {
  const { rows, parts } = allParts(head, undefined, partBytes);
  expect(parts).toBe(rows.length);
  return rows;
}

/** Every part headSampleParts yields, and what it returns. */
function allParts(head: Head, cut?: ReadonlyMap<MemSeries, HeadCut>, partBytes?: number): ReturnType<typeof headSampleParts> extends Generator<Buffer, infer R> ? R & { rows: Buffer[] } : never {
  const rows: Buffer[] = [];
  const parts = headSampleParts(head, cut, partBytes);
  for (let next = parts.next(); ; next = parts.next()) {
    if (next.done) return { ...next.value, rows };
    rows.push(next.value);
  }
}

describe('Head postings', () => {
  const lbl = (job: string, inst: string) => [
    { name: 'instance', value: inst },
    { name: 'job', value: job },
  ];
  const ids = (h: Head, name: string, value: string) => h.postingsOf(name)?.get(value)?.ids;

  it('keeps ids ascending however series are added, shares one label object a pair, and drops a pair with its last series', () => {
    const h = new Head();
    const a = h.add(5, lbl('api', 'a:1'));
    const b = h.add(2, lbl('api', 'b:1')); // a lower id after a higher one
    h.add(9, lbl('db', 'a:1'));
    expect(ids(h, 'job', 'api')).toEqual([2, 5]);
    expect(ids(h, 'instance', 'a:1')).toEqual([5, 9]);
    expect(a.labels[1]).toBe(b.labels[1]); // job=api: one object for both
    expect(a.labels[1]).toBe(h.postingsOf('job')!.get('api')!.label);
    expect([...h.labelNames()].sort()).toEqual(['instance', 'job']);

    h.remove(b);
    expect(ids(h, 'job', 'api')).toEqual([5]);
    expect(h.postingsOf('instance')!.has('b:1')).toBe(false);
    h.remove(a);
    expect(h.postingsOf('job')!.has('api')).toBe(false);
    expect(ids(h, 'job', 'db')).toEqual([9]);
    h.remove(h.get(9)!);
    expect([...h.labelNames()]).toEqual([]);
    // A pair added again after it went is a new object.
    expect(h.add(10, lbl('api', 'a:1')).labels[1]).not.toBe(a.labels[1]);
  });
});

describe('packs deferred by a live commit (deferPacks)', () => {
  const idle = () => new Promise<void>((r) => setImmediate(r));
  const chunkSizes = (s: MemSeries) => {
    const chunks: HeadChunk[] = [];
    listChunks(s.kept()!.list, 0, s.kept()!.list.length, chunks);
    return chunks.map((c) => c.count());
  };

  it('leave the samples raw until an idle moment packs them, reading the same throughout', async () => {
    // 12 rounds: every series whose phase makes its pack due by then (ids ≡ 4–15 mod 16) waits
    // in the queue, and no tail fills its 16-sample block meanwhile.
    const series = Array.from({ length: 50 }, (_, i) => new MemSeries(i, []));
    const want = series.map(() => ({ ts: [] as number[], vs: [] as number[] }));
    for (let round = 0; round < 12; round++) {
      deferPacks(() => series.forEach((s, i) => {
        const more = fill(s, 1, round);
        want[i]!.ts.push(...more.ts);
        want[i]!.vs.push(...more.vs);
      }));
    }
    const due = (s: MemSeries) => s.id % 16 >= 4;
    expect(series.filter(due).length).toBe(36);
    // Nothing packed yet (no idle moment came).
    for (const [i, s] of series.entries()) {
      expect(s.kept()!.timestamps.length).toBe(12);
      expect([...s.timestamps.subarray(0, s.count)]).toEqual(want[i]!.ts);
    }
    for (let k = 0; k < 20; k++) await idle();
    for (const [i, s] of series.entries()) {
      const kept = s.kept()!;
      expect(kept.timestamps.length).toBe(due(s) ? 0 : 12);
      expect(listCount(kept.list, 0, kept.list.length)).toBe(due(s) ? 12 : 0);
      expect([...s.timestamps.subarray(0, s.count)]).toEqual(want[i]!.ts);
      expect([...s.values.subarray(0, s.count)]).toEqual(want[i]!.vs);
    }
  });

  it('pack at once when 8,192 series wait already (a thread with no idle moment)', async () => {
    const series = Array.from({ length: 8192 + 8 }, (_, i) => new MemSeries(i, []));
    deferPacks(() => series.forEach((s) => fill(s, 16, 0, counter)));
    expect(series.slice(0, 8192).every((s) => s.kept()!.timestamps.length === 16)).toBe(true);
    expect(series.slice(8192).every((s) => s.kept()!.timestamps.length < 16)).toBe(true);
    for (let k = 0; k < 200 && series[0]!.kept()!.timestamps.length > 0; k++) await idle();
    expect(series.slice(0, 8192).every((s) => s.kept()!.timestamps.length === 0)).toBe(true);
  });

  it('pack a waiting tail at once when its block is full, instead of growing the block', async () => {
    const s = new MemSeries(1, []);
    const place = vi.spyOn(s as unknown as { placeRaw(): void }, 'placeRaw');
    const parts: { ts: number[]; vs: number[] }[] = [];
    // Due at its 15th sample (phase 1) and queued; packed by its 17th push, the block kept.
    deferPacks(() => parts.push(fill(s, 20)));
    expect(chunkSizes(s)).toEqual([16]);
    expect(s.kept()!.timestamps.length).toBe(4);
    // The queue's entry for the tail packed meanwhile leaves its 4 new samples raw.
    for (let k = 0; k < 5; k++) await idle();
    expect(chunkSizes(s)).toEqual([16]);
    deferPacks(() => parts.push(fill(s, 44, 20)));
    expect(chunkSizes(s)).toEqual([16, 16, 16]);
    expect(s.kept()!.timestamps.length).toBe(16);
    for (let k = 0; k < 5; k++) await idle();
    expect(chunkSizes(s)).toEqual([16, 16, 16, 16]);
    expect(place).toHaveBeenCalledTimes(1); // the raw block, never grown
    expect([...s.timestamps.subarray(0, s.count)]).toEqual(parts.flatMap((p) => p.ts));
    expect([...s.values.subarray(0, s.count)]).toEqual(parts.flatMap((p) => p.vs));
    place.mockRestore();
  });
});
