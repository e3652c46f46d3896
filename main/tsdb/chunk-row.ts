// A chunk row: the chunks of many series for one time bucket, sealed as one ciphertext so the
// per-row cost (IV, tag, SQLite row) is spread over many series.
// Plaintext: version, series count, directory (series id delta, chunk byte length)…, chunks…, padding.
// Version 2 adds native histograms: the directory gives each series a float chunk length and a
// histogram chunk length (./histogram-chunk), either 0 when the series has none of that kind.
import { BitWriter, PAD_BYTES } from './bitstream';
import { ByteReader, ByteWriter } from './bytes';
import { chunkSampleCount, decodeChunk, decodeChunkInto, encodeChunk, type DecodedChunk } from './chunkenc';
import type { HistogramSamples } from './histogram';
import { decodeHistogramChunk, encodeHistogramChunk, histogramChunkCount } from './histogram-chunk';
import type { CodedChunk } from './types';

const VERSION_FLOATS = 1;
const VERSION = 2;
const EMPTY = new Float64Array(0);

export interface ChunkInput {
  readonly id: number;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly from: number;
  readonly to: number;
  /** The series' histogram samples inside the bucket, ascending; absent when none. */
  readonly histograms?: HistogramSamples | undefined;
}

/** Samples (floats and histograms) an input holds. */
export function inputSamples(c: ChunkInput): number {
  return c.to - c.from + (c.histograms?.timestamps.length ?? 0);
}

/** `inputs` sorted by id, each with at least one sample inside the bucket. */
export function encodeChunkRow(inputs: readonly ChunkInput[], bucketStart: number): Buffer {
  const payloads: Uint8Array[] = [];
  const hPayloads: Uint8Array[] = [];
  const bits = new BitWriter(4096);
  for (const c of inputs) {
    bits.reset();
    if (c.to > c.from) encodeChunk(bits, c.timestamps, c.values, c.from, c.to, bucketStart);
    payloads.push(bits.finish().slice());
    bits.reset();
    const h = c.histograms;
    if (h && h.timestamps.length > 0) encodeHistogramChunk(bits, h.timestamps, h.values, bucketStart);
    hPayloads.push(bits.finish().slice());
  }
  const out = new ByteWriter(payloads.reduce((n, p) => n + p.length, 16 + inputs.length * 8) + hPayloads.reduce((n, p) => n + p.length, 0));
  out.byte(VERSION);
  out.varint(inputs.length);
  let prev = 0;
  inputs.forEach((c, i) => {
    out.varint(c.id - prev);
    out.varint(payloads[i]!.length);
    out.varint(hPayloads[i]!.length);
    prev = c.id;
  });
  inputs.forEach((_, i) => {
    out.bytes(payloads[i]!);
    out.bytes(hPayloads[i]!);
  });
  out.zeros(PAD_BYTES);
  return out.toBuffer();
}

export class ChunkRow {
  /** Series id → offset of its float chunk (-1: none). */
  private readonly offsets = new Map<number, number>();
  /** Series id → offset of its histogram chunk (only series that have one). */
  private readonly hOffsets = new Map<number, number>();
  /** Series id → byte length of its float chunk. */
  private readonly lens = new Map<number, number>();

  constructor(
    private readonly plain: Buffer,
    readonly bucketStart: number,
  ) {
    const r = new ByteReader(plain);
    const version = r.byte();
    if (version !== VERSION && version !== VERSION_FLOATS) throw new RangeError(`unknown chunk row version ${version}`);
    const n = r.varint();
    const ids: number[] = [];
    const lens: number[] = [];
    const hLens: number[] = [];
    let id = 0;
    for (let i = 0; i < n; i++) {
      id += r.varint();
      ids.push(id);
      lens.push(r.varint());
      hLens.push(version === VERSION ? r.varint() : 0);
    }
    let off = r.pos;
    for (let i = 0; i < n; i++) {
      this.offsets.set(ids[i]!, lens[i]! > 0 ? off : -1);
      this.lens.set(ids[i]!, lens[i]!);
      off += lens[i]!;
      if (hLens[i]! > 0) this.hOffsets.set(ids[i]!, off);
      off += hLens[i]!;
    }
    if (off > plain.length) throw new RangeError('chunk row directory points past its end');
  }

  /** Memory the decoded row holds (plaintext and directory), for the row cache's budget. */
  get bytes(): number {
    return this.plain.length + this.offsets.size * 96;
  }

  ids(): IterableIterator<number> {
    return this.offsets.keys();
  }

  has(id: number): boolean {
    return this.offsets.has(id);
  }

  /** Float sample count of the series' chunk (0 when the row has none). */
  count(id: number): number {
    const off = this.offsets.get(id);
    return off === undefined || off < 0 ? 0 : chunkSampleCount(this.plain, off);
  }

  /** Decodes the series' float chunk into ts/vs from index `at`; returns the sample count. */
  decodeInto(id: number, ts: Float64Array, vs: Float64Array, at: number): number {
    const off = this.offsets.get(id);
    return off === undefined || off < 0 ? 0 : decodeChunkInto(this.plain, off, this.bucketStart, ts, vs, at);
  }

  /** The series' float samples (empty when it has only histograms here); undefined when the row lacks the series. */
  decode(id: number): DecodedChunk | undefined {
    const off = this.offsets.get(id);
    if (off === undefined) return undefined;
    return off < 0 ? { timestamps: EMPTY, values: EMPTY } : decodeChunk(this.plain, off, this.bucketStart);
  }

  /** The series' float chunk where it lies in the row (which ends in padding); undefined when it has none. */
  codedChunk(id: number): CodedChunk | undefined {
    const off = this.offsets.get(id);
    return off === undefined || off < 0 ? undefined : { buf: this.plain, at: off, length: this.lens.get(id)!, bucketStart: this.bucketStart };
  }

  /** The series' float chunk as coded (chunkenc, relative to bucketStart); undefined when it has none. */
  floatChunk(id: number): Uint8Array | undefined {
    const c = this.codedChunk(id);
    return c && c.buf.subarray(c.at, c.at + c.length);
  }

  /** Histogram sample count of the series in this row. */
  histogramCount(id: number): number {
    const off = this.hOffsets.get(id);
    return off === undefined ? 0 : histogramChunkCount(this.plain, off);
  }

  /** The series' histogram samples in this row; undefined when it has none. */
  histograms(id: number): HistogramSamples | undefined {
    const off = this.hOffsets.get(id);
    return off === undefined ? undefined : decodeHistogramChunk(this.plain, off, this.bucketStart);
  }

  /** A series' whole content, as an input to write it again. */
  input(id: number): ChunkInput | undefined {
    const d = this.decode(id);
    if (!d) return undefined;
    const histograms = this.histograms(id);
    return { id, timestamps: d.timestamps, values: d.values, from: 0, to: d.timestamps.length, ...(histograms ? { histograms } : {}) };
  }
}
