// A chunk row: the chunks of many series for one time bucket, sealed as one ciphertext so the
// per-row cost (IV, tag, SQLite row) is spread over many series.
// Plaintext: version, series count, directory (series id delta, chunk byte length)…, chunks…, padding.
import { BitWriter, PAD_BYTES } from './bitstream';
import { ByteReader, ByteWriter } from './bytes';
import { chunkSampleCount, decodeChunk, decodeChunkInto, encodeChunk, type DecodedChunk } from './chunkenc';

const VERSION = 1;

export interface ChunkInput {
  readonly id: number;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly from: number;
  readonly to: number;
}

/** `inputs` sorted by id, each with at least one sample inside the bucket. */
export function encodeChunkRow(inputs: readonly ChunkInput[], bucketStart: number): Buffer {
  const payloads: Uint8Array[] = [];
  const bits = new BitWriter(4096);
  for (const c of inputs) {
    bits.reset();
    encodeChunk(bits, c.timestamps, c.values, c.from, c.to, bucketStart);
    payloads.push(bits.finish().slice());
  }
  const out = new ByteWriter(payloads.reduce((n, p) => n + p.length, 16 + inputs.length * 6));
  out.byte(VERSION);
  out.varint(inputs.length);
  let prev = 0;
  inputs.forEach((c, i) => {
    out.varint(c.id - prev);
    out.varint(payloads[i]!.length);
    prev = c.id;
  });
  for (const p of payloads) out.bytes(p);
  out.zeros(PAD_BYTES);
  return out.toBuffer();
}

export class ChunkRow {
  private readonly offsets = new Map<number, number>();

  constructor(
    private readonly plain: Buffer,
    readonly bucketStart: number,
  ) {
    const r = new ByteReader(plain);
    const version = r.byte();
    if (version !== VERSION) throw new RangeError(`unknown chunk row version ${version}`);
    const n = r.varint();
    const ids: number[] = [];
    const lens: number[] = [];
    let id = 0;
    for (let i = 0; i < n; i++) {
      id += r.varint();
      ids.push(id);
      lens.push(r.varint());
    }
    let off = r.pos;
    for (let i = 0; i < n; i++) {
      this.offsets.set(ids[i]!, off);
      off += lens[i]!;
    }
  }

  ids(): IterableIterator<number> {
    return this.offsets.keys();
  }

  has(id: number): boolean {
    return this.offsets.has(id);
  }

  /** Sample count of the series' chunk (0 when the row has none). */
  count(id: number): number {
    const off = this.offsets.get(id);
    return off === undefined ? 0 : chunkSampleCount(this.plain, off);
  }

  /** Decodes the series' chunk into ts/vs from index `at`; returns the sample count. */
  decodeInto(id: number, ts: Float64Array, vs: Float64Array, at: number): number {
    const off = this.offsets.get(id);
    return off === undefined ? 0 : decodeChunkInto(this.plain, off, this.bucketStart, ts, vs, at);
  }

  decode(id: number): DecodedChunk | undefined {
    const off = this.offsets.get(id);
    return off === undefined ? undefined : decodeChunk(this.plain, off, this.bucketStart);
  }
}
