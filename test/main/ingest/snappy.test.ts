// The snappy block decoder against snappyjs's compressor: every kind of element (short and long
// literals, 1/2-byte-offset copies, overlapping copies that repeat a pattern) must come back exact.
import { describe, expect, it } from 'vitest';
import { compress } from 'snappyjs';
import { DecompressBuffer, decompressSnappyBlock } from '../../../main/ingest/snappy';

let seed = 9;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

function sample(kind: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    if (kind === 0) b[i] = Math.floor(rand() * 256); // incompressible: long literals
    else if (kind === 1) b[i] = 97; // one byte repeated: copies at offset 1, overlapping
    else if (kind === 2) b[i] = 'abcdefg'[i % 7]!.charCodeAt(0); // short period: overlapping copies
    else b[i] = rand() < 0.1 ? Math.floor(rand() * 256) : b[Math.max(0, i - 1 - Math.floor(rand() * 3000))]!; // far and near copies
  }
  return b;
}

describe('decompressSnappyBlock', () => {
  it('returns exactly what snappyjs compressed, for literals, copies and overlapping copies of every size', () => {
    for (const n of [0, 1, 23, 24, 25, 60, 61, 64, 65, 255, 256, 4096, 70_000, 300_000]) {
      for (let kind = 0; kind < 4; kind++) {
        const raw = sample(kind, n);
        const out = decompressSnappyBlock(Buffer.from(compress(raw)), 1 << 24);
        expect(out.equals(raw), `kind ${kind}, ${n} bytes`).toBe(true);
      }
    }
  });

  it('copies four bytes at a time exactly as byte by byte: patterns of every short period, and copies reaching into themselves', () => {
    for (const period of [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16]) {
      for (const n of [4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65, 200, 5000]) {
        const raw = Buffer.alloc(n);
        for (let i = 0; i < n; i++) raw[i] = (i % period) * 37 + 1;
        expect(decompressSnappyBlock(Buffer.from(compress(raw)), 1 << 24).equals(raw), `period ${period}, ${n} bytes`).toBe(true);
      }
    }
    // Hand-made elements: a 9-byte literal, then 2-byte-offset copies of every length (1…64) at
    // offsets 1…9 (most of them overlapping the bytes they produce), checked against byte-by-byte copying.
    const elements: number[] = [(9 - 1) << 2, 11, 22, 33, 44, 55, 66, 77, 88, 99];
    const want = [11, 22, 33, 44, 55, 66, 77, 88, 99];
    for (let len = 1; len <= 64; len++) {
      const offset = (len % 9) + 1;
      elements.push(0x02 | ((len - 1) << 2), offset, 0);
      for (let i = 0, from = want.length - offset; i < len; i++) want.push(want[from + i]!);
    }
    const header: number[] = [];
    for (let n = want.length; ; n >>>= 7) {
      if (n < 0x80) {
        header.push(n);
        break;
      }
      header.push((n & 0x7f) | 0x80);
    }
    expect([...decompressSnappyBlock(Buffer.from([...header, ...elements]), 1 << 24)]).toEqual(want);
  });

  it('writes nothing past its output in reused memory', () => {
    const into = new DecompressBuffer();
    const long = sample(0, 10_000);
    const first = decompressSnappyBlock(Buffer.from(compress(long)), 1 << 24, into);
    const short = Buffer.from('abcdabcdabcdabcdabcdabcdxyz');
    const out = decompressSnappyBlock(Buffer.from(compress(short)), 1 << 24, into);
    expect(out.equals(short)).toBe(true);
    expect(Buffer.from(first.buffer, first.byteOffset + short.length, 10_000 - short.length).equals(long.subarray(short.length))).toBe(true);
  });

  it('refuses a copy that overruns the declared length, and a literal longer than what is left', () => {
    // Declares 6 bytes: a 2-byte literal, then a copy of 8 at offset 2.
    expect(() => decompressSnappyBlock(Buffer.from([6, 1 << 2, 1, 2, 0x01 | (4 << 2), 2]), 100)).toThrow('output exceeds the declared 6 bytes');
    // Declares 2 bytes, the literal says 3.
    expect(() => decompressSnappyBlock(Buffer.from([2, 2 << 2, 1, 2, 3]), 100)).toThrow('output exceeds the declared 2 bytes');
    expect(() => decompressSnappyBlock(Buffer.from([9, 9 << 2, 1, 2]), 100)).toThrow('literal runs past the end');
  });

  it('decodes into reused memory when given a DecompressBuffer, and gives outputs over 1 MiB memory of their own', () => {
    const into = new DecompressBuffer();
    const a = sample(3, 50_000);
    const b = sample(0, 20_000);
    const outA = decompressSnappyBlock(Buffer.from(compress(a)), 1 << 24, into);
    expect(outA.equals(a)).toBe(true);
    const outB = decompressSnappyBlock(Buffer.from(compress(b)), 1 << 24, into);
    expect(outB.equals(b)).toBe(true);
    expect(outB.length).toBe(20_000);
    expect(outB.buffer).toBe(outA.buffer); // the same memory: the first output is gone now, as documented
    const big = sample(2, (1 << 20) + 1);
    const outBig = decompressSnappyBlock(Buffer.from(compress(big)), 1 << 24, into);
    expect(outBig.equals(big)).toBe(true);
    expect(outBig.buffer).not.toBe(outA.buffer);
    expect(decompressSnappyBlock(Buffer.from(compress(b)), 1 << 24, into).buffer).toBe(outA.buffer); // still kept
  });
});
