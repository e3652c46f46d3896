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
