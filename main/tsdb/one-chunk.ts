// One coded chunk (chunkenc, at byte `at` of a padded `buf`) read as mergeSamples reads a chunk row
// (./querier.ts ChunkSource; the series id is the chunk's own).
import { chunkSampleCount, decodeChunkInto } from './chunkenc';
import type { CodedChunk } from './types';

export class OneChunk {
  constructor(
    readonly buf: Uint8Array,
    readonly at: number,
    readonly bucketStart: number,
  ) {}

  count(): number {
    return chunkSampleCount(this.buf, this.at);
  }

  decodeInto(_id: number, ts: Float64Array, vs: Float64Array, at: number): number {
    return decodeChunkInto(this.buf, this.at, this.bucketStart, ts, vs, at);
  }
}

/**
 * A head list's chunk as a head snapshot hands it to a query (CodedChunk) that mergeSamples reads
 * as it is: a lazy series of a chart over 100,000 head series made a source object a chunk, and
 * an array of them, each time it was decoded (~60 ms a query).
 */
export class HeadChunk extends OneChunk implements CodedChunk {
  constructor(buf: Uint8Array, at: number, readonly length: number) {
    super(buf, at, 0);
  }
}
