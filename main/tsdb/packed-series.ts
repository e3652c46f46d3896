// Many series' coded samples (CodedSamples: chunk bytes and head samples) in a few flat arrays,
// so a query can hand a share of its series to another thread (a transfer, not a clone of
// objects) and that thread decodes them exactly as the store would (mergeSamples). Chunks that
// lie in shared memory (decrypted rows, see querier.ts' partRows) are pointed at, not copied:
// copying out those of the 2,000 series a whole-day query offers held its thread for 25–80 ms.
import { PAD_BYTES } from './bitstream';
import { OneChunk } from './one-chunk';
import { mergeSamples } from './querier';
import type { CodedChunk, CodedSamples, FloatSamples } from './types';

export interface PackedSeries {
  /** The bytes of chunks not in shared memory, each followed by PAD_BYTES zeros (the decoder peeks past a chunk's end). */
  readonly bytes: Uint8Array;
  /** The shared buffers chunks lie in (views of SharedArrayBuffers, which a message shares). */
  readonly shared: readonly Uint8Array[];
  /** Chunk c lies in chunkSource[c] (0: `bytes`, k: shared[k - 1]) at chunkAt[c]; its timestamps are relative to chunkBucket[c]. */
  readonly chunkSource: Uint32Array;
  readonly chunkAt: Uint32Array;
  readonly chunkBucket: Float64Array;
  /** Series i has chunks [seriesChunks[i], seriesChunks[i + 1]) and head samples [headAt[i], headAt[i + 1]). */
  readonly seriesChunks: Uint32Array;
  readonly headAt: Uint32Array;
  readonly headT: Float64Array;
  readonly headV: Float64Array;
  /** Series i's window is [window[2i], window[2i + 1]]. */
  readonly window: Float64Array;
}

const isShared = (c: CodedChunk): boolean => c.buf.buffer instanceof SharedArrayBuffer;

export function packSeries(list: readonly CodedSamples[]): PackedSeries {
  let chunks = 0, bytes = 0, head = 0;
  const sources = new Map<Uint8Array, number>();
  for (const s of list) {
    chunks += s.chunks.length;
    for (const c of s.chunks) {
      if (!isShared(c)) bytes += c.length + PAD_BYTES;
      else if (!sources.has(c.buf)) sources.set(c.buf, sources.size + 1);
    }
    head += s.head.timestamps.length;
  }
  const p: PackedSeries = {
    bytes: new Uint8Array(bytes),
    shared: [...sources.keys()],
    chunkSource: new Uint32Array(chunks),
    chunkAt: new Uint32Array(chunks),
    chunkBucket: new Float64Array(chunks),
    seriesChunks: new Uint32Array(list.length + 1),
    headAt: new Uint32Array(list.length + 1),
    headT: new Float64Array(head),
    headV: new Float64Array(head),
    window: new Float64Array(list.length * 2),
  };
  let c = 0, at = 0, h = 0;
  list.forEach((s, i) => {
    for (const chunk of s.chunks) {
      const source = sources.get(chunk.buf);
      if (source === undefined) {
        p.bytes.set(chunk.buf.subarray(chunk.at, chunk.at + chunk.length), at);
        p.chunkAt[c] = at;
        at += chunk.length + PAD_BYTES;
      } else {
        p.chunkSource[c] = source;
        p.chunkAt[c] = chunk.at;
      }
      p.chunkBucket[c++] = chunk.bucketStart;
    }
    p.seriesChunks[i + 1] = c;
    p.headT.set(s.head.timestamps, h);
    p.headV.set(s.head.values, h);
    h += s.head.timestamps.length;
    p.headAt[i + 1] = h;
    p.window[2 * i] = s.mint;
    p.window[2 * i + 1] = s.maxt;
  });
  return p;
}

/** The arrays to transfer along with a PackedSeries (each owns its buffer; the shared ones are shared, not moved). */
export function packedBuffers(p: PackedSeries): ArrayBuffer[] {
  return [p.bytes, p.chunkSource, p.chunkAt, p.chunkBucket, p.seriesChunks, p.headAt, p.headT, p.headV, p.window].map((a) => a.buffer as ArrayBuffer);
}

export function packedCount(p: PackedSeries): number {
  return p.seriesChunks.length - 1;
}

/** Series i's samples in its window, decoded as the store's select decodes them (into views of `into` when it is large enough). */
export function unpackSamples(p: PackedSeries, i: number, into?: FloatSamples): FloatSamples {
  const chunks: OneChunk[] = [];
  for (let c = p.seriesChunks[i]!; c < p.seriesChunks[i + 1]!; c++) {
    const source = p.chunkSource[c]!;
    chunks.push(new OneChunk(source === 0 ? p.bytes : p.shared[source - 1]!, p.chunkAt[c]!, p.chunkBucket[c]!));
  }
  const h0 = p.headAt[i]!, h1 = p.headAt[i + 1]!;
  const head = { timestamps: p.headT.subarray(h0, h1), values: p.headV.subarray(h0, h1) };
  return mergeSamples(chunks, 0, head, p.window[2 * i]!, p.window[2 * i + 1]!, into);
}
