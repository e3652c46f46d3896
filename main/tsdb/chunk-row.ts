// A chunk row: the chunks of many series for one time bucket, sealed as one ciphertext so the
// per-row cost (IV, tag, SQLite row) is spread over many series.
// Plaintext: version, series count, directory (series id delta, chunk byte length)…, chunks…, padding.
// Version 2 adds native histograms: the directory gives each series a float chunk length and a
// histogram chunk length (./histogram-chunk), either 0 when the series has none of that kind.
import { BitWriter, PAD_BYTES } from './bitstream';
import { ByteReader, ByteWriter } from './bytes';
import { lowerBound } from './sorted';
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
  /**
   * The directory in typed arrays, by slot (rows list series in ascending id): a whole-day query
   * looks series up ~100,000 times (3,000 series × 12 rows, several lookups each); with Maps,
   * packing 4,000 series for the helper thread took 10–28 ms, with these arrays 4–7 ms. A cached
   * row holds three arrays instead of three Maps of 256 entries.
   */
  private readonly idList: Float64Array;
  /** Offset of the slot's float chunk (-1: none), its byte length, and its histogram chunk's offset (-1: none). */
  private readonly floatAt: Int32Array;
  private readonly floatLen: Int32Array;
  private readonly histAt: Int32Array;
  /** Slot by id - idList[0] when the ids are dense enough (series of one part are); null: binary search. */
  private readonly slots: Int32Array | null;

  constructor(
    private readonly plain: Buffer,
    readonly bucketStart: number,
  ) {
    const r = new ByteReader(plain);
    const version = r.byte();
    if (version !== VERSION && version !== VERSION_FLOATS) throw new RangeError(`unknown chunk row version ${version}`);
    const n = r.varint();
    const ids = (this.idList = new Float64Array(n));
    const lens = (this.floatLen = new Int32Array(n));
    const hLens = new Int32Array(n);
    let id = 0;
    for (let i = 0; i < n; i++) {
      id += r.varint();
      if (i > 0 && id <= ids[i - 1]!) throw new RangeError('chunk row directory lists series out of order');
      ids[i] = id;
      lens[i] = r.varint();
      hLens[i] = version === VERSION ? r.varint() : 0;
    }
    this.floatAt = new Int32Array(n);
    this.histAt = new Int32Array(n);
    let off = r.pos;
    for (let i = 0; i < n; i++) {
      this.floatAt[i] = lens[i]! > 0 ? off : -1;
      off += lens[i]!;
      this.histAt[i] = hLens[i]! > 0 ? off : -1;
      off += hLens[i]!;
    }
    if (off > plain.length) throw new RangeError('chunk row directory points past its end');
    const span = n === 0 ? 0 : ids[n - 1]! - ids[0]! + 1;
    this.slots = span <= 4 * n + 64 ? new Int32Array(span).fill(-1) : null;
    if (this.slots) for (let i = 0; i < n; i++) this.slots[ids[i]! - ids[0]!] = i;
  }

  /** The series' slot, or -1 when the row lacks it. */
  private slot(id: number): number {
    const ids = this.idList;
    if (this.slots) {
      const k = id - ids[0]!;
      return k >= 0 && k < this.slots.length ? this.slots[k]! : -1;
    }
    const at = lowerBound(ids, id);
    return ids[at] === id ? at : -1;
  }

  /** Memory the decoded row holds (plaintext and directory), for the row cache's budget. */
  get bytes(): number {
    return this.plain.length + this.idList.length * 20 + (this.slots?.length ?? 0) * 4;
  }

  ids(): IterableIterator<number> {
    return this.idList.values();
  }

  has(id: number): boolean {
    return this.slot(id) >= 0;
  }

  /** The offset of the series' float chunk; -1 when it has none here. */
  private floatOffset(id: number): number {
    const i = this.slot(id);
    return i < 0 ? -1 : this.floatAt[i]!;
  }

  /** Float sample count of the series' chunk (0 when the row has none). */
  count(id: number): number {
    const off = this.floatOffset(id);
    return off < 0 ? 0 : chunkSampleCount(this.plain, off);
  }

  /** Decodes the series' float chunk into ts/vs from index `at`; returns the sample count. */
  decodeInto(id: number, ts: Float64Array, vs: Float64Array, at: number): number {
    const off = this.floatOffset(id);
    return off < 0 ? 0 : decodeChunkInto(this.plain, off, this.bucketStart, ts, vs, at);
  }

  /** The series' float samples (empty when it has only histograms here); undefined when the row lacks the series. */
  decode(id: number): DecodedChunk | undefined {
    const i = this.slot(id);
    if (i < 0) return undefined;
    const off = this.floatAt[i]!;
    return off < 0 ? { timestamps: EMPTY, values: EMPTY } : decodeChunk(this.plain, off, this.bucketStart);
  }

  /** The series' float chunk where it lies in the row (which ends in padding); undefined when it has none. */
  codedChunk(id: number): CodedChunk | undefined {
    const i = this.slot(id);
    const off = i < 0 ? -1 : this.floatAt[i]!;
    return off < 0 ? undefined : { buf: this.plain, at: off, length: this.floatLen[i]!, bucketStart: this.bucketStart };
  }

  /** The series' float chunk as coded (chunkenc, relative to bucketStart); undefined when it has none. */
  floatChunk(id: number): Uint8Array | undefined {
    const c = this.codedChunk(id);
    return c && c.buf.subarray(c.at, c.at + c.length);
  }

  /** Histogram sample count of the series in this row. */
  histogramCount(id: number): number {
    const off = this.histOffset(id);
    return off < 0 ? 0 : histogramChunkCount(this.plain, off);
  }

  private histOffset(id: number): number {
    const i = this.slot(id);
    return i < 0 ? -1 : this.histAt[i]!;
  }

  /** The series' histogram samples in this row; undefined when it has none. */
  histograms(id: number): HistogramSamples | undefined {
    const off = this.histOffset(id);
    return off < 0 ? undefined : decodeHistogramChunk(this.plain, off, this.bucketStart);
  }

  /** A series' whole content, as an input to write it again. */
  input(id: number): ChunkInput | undefined {
    const d = this.decode(id);
    if (!d) return undefined;
    const histograms = this.histograms(id);
    return { id, timestamps: d.timestamps, values: d.values, from: 0, to: d.timestamps.length, ...(histograms ? { histograms } : {}) };
  }
}
