// Outgoing remote-write bodies: prometheus.WriteRequest (1.0) and io.prometheus.write.v2.Request
// (2.0), snappy block compressed. Message sizes are computed first so every length prefix is
// written once, straight into one reused buffer: nothing is allocated per sample.
import { compress } from 'snappyjs';
import type { Labels } from '../../shared/labels';
import type { Batch, BatchSeries } from './batch';
import { encodeHistogram } from './encode-histogram';

export type ProtobufMessage = 'prometheus.WriteRequest' | 'io.prometheus.write.v2.Request';

export const PROTOBUF_MESSAGES: readonly ProtobufMessage[] = ['prometheus.WriteRequest', 'io.prometheus.write.v2.Request'];

/** The headers a remote-write request carries for each message. */
export function remoteWriteHeaders(message: ProtobufMessage): Record<string, string> {
  return message === 'prometheus.WriteRequest'
    ? { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0' }
    : {
        'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
        'Content-Encoding': 'snappy',
        'X-Prometheus-Remote-Write-Version': '2.0.0',
      };
}

// Field numbers (see the remote-write 1.0 and 2.0 specifications).
const TAG_V1_TIMESERIES = (1 << 3) | 2;
const TAG_V1_LABELS = (1 << 3) | 2;
const TAG_V1_SAMPLES = (2 << 3) | 2;
const TAG_V1_HISTOGRAMS = (4 << 3) | 2;
const TAG_LABEL_NAME = (1 << 3) | 2;
const TAG_LABEL_VALUE = (2 << 3) | 2;
const TAG_SAMPLE_VALUE = (1 << 3) | 1;
const TAG_SAMPLE_TIMESTAMP = (2 << 3) | 0;
const TAG_V2_SYMBOLS = (4 << 3) | 2;
const TAG_V2_TIMESERIES = (5 << 3) | 2;
const TAG_V2_LABEL_REFS = (1 << 3) | 2;
const TAG_V2_SAMPLES = (2 << 3) | 2;
const TAG_V2_HISTOGRAMS = (3 << 3) | 2;

function varintSize(n: number): number {
  if (n < 0) return 10; // int64 two's complement
  // Comparisons, not divisions: this runs for every sample's timestamp (6 bytes in this era).
  if (n < 2 ** 28) return n < 2 ** 7 ? 1 : n < 2 ** 14 ? 2 : n < 2 ** 21 ? 3 : 4;
  if (n < 2 ** 56) return n < 2 ** 35 ? 5 : n < 2 ** 42 ? 6 : n < 2 ** 49 ? 7 : 8;
  return n < 2 ** 63 ? 9 : 10;
}

/** Bytes of a length-delimited field with a one-byte tag and `n` bytes of content. */
function fieldSize(n: number): number {
  return 1 + varintSize(n) + n;
}

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

const SAMPLE_SIZE_BASE = 1 + 8 + 1; // value tag + double + timestamp tag

export class RemoteWriteEncoder {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private pos = 0;
  private seriesSizes = new Int32Array(64);
  /** A series' labels as 1.0 Label fields, encoded once per label set (the queue reuses them). */
  private readonly labelBytes = new WeakMap<Labels, Buffer>();
  private readonly symbolIndex = new Map<string, number>();
  private readonly symbols: string[] = [];
  /** Per series of the batch being encoded, its Histogram messages (empty for most series). */
  private histogramBodies: Buffer[][] = [];

  /** The snappy-compressed body of `batch` in the given message. */
  encode(batch: Batch, message: ProtobufMessage): Buffer {
    const raw = message === 'prometheus.WriteRequest' ? this.encodeV1(batch) : this.encodeV2(batch);
    return compress(raw);
  }

  /** prometheus.WriteRequest, uncompressed; valid until the next call. */
  encodeV1(batch: Batch): Buffer {
    let total = 0;
    const sizes = this.sizesFor(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const s = batch.series[i]!;
      let size = this.labelsV1(s.labels).length;
      for (let j = 0; j < s.count; j++) size += fieldSize(SAMPLE_SIZE_BASE + varintSize(s.timestamps[j]!));
      size += this.histogramsSize(s, i);
      sizes[i] = size;
      total += fieldSize(size);
    }
    this.reset(total);
    for (let i = 0; i < batch.length; i++) {
      const s = batch.series[i]!;
      this.byte(TAG_V1_TIMESERIES);
      this.varint(sizes[i]!);
      const lb = this.labelsV1(s.labels);
      this.buf.set(lb, this.pos);
      this.pos += lb.length;
      for (let j = 0; j < s.count; j++) this.sample(s.timestamps[j]!, s.values[j]!);
      this.histogramFields(i, TAG_V1_HISTOGRAMS);
    }
    return this.buf.subarray(0, this.pos);
  }

  /** io.prometheus.write.v2.Request, uncompressed; valid until the next call. */
  encodeV2(batch: Batch): Buffer {
    const index = this.symbolIndex;
    const symbols = this.symbols;
    index.clear();
    symbols.length = 0;
    const ref = (s: string): number => {
      let i = index.get(s);
      if (i === undefined) {
        i = symbols.length;
        symbols.push(s);
        index.set(s, i);
      }
      return i;
    };
    ref(''); // symbols[0] must be the empty string
    const sizes = this.sizesFor(2 * batch.length);
    let total = 0;
    for (let i = 0; i < batch.length; i++) {
      const s = batch.series[i]!;
      let refs = 0;
      for (const l of s.labels) refs += varintSize(ref(l.name)) + varintSize(ref(l.value));
      let size = fieldSize(refs);
      for (let j = 0; j < s.count; j++) size += fieldSize(SAMPLE_SIZE_BASE + varintSize(s.timestamps[j]!));
      size += this.histogramsSize(s, i);
      sizes[2 * i] = size;
      sizes[2 * i + 1] = refs;
      total += fieldSize(size);
    }
    for (const sym of symbols) total += fieldSize(Buffer.byteLength(sym));
    this.reset(total);
    for (const sym of symbols) this.string(TAG_V2_SYMBOLS, sym, Buffer.byteLength(sym));
    for (let i = 0; i < batch.length; i++) {
      const s = batch.series[i]!;
      this.byte(TAG_V2_TIMESERIES);
      this.varint(sizes[2 * i]!);
      this.byte(TAG_V2_LABEL_REFS);
      this.varint(sizes[2 * i + 1]!);
      for (const l of s.labels) {
        this.varint(index.get(l.name)!);
        this.varint(index.get(l.value)!);
      }
      for (let j = 0; j < s.count; j++) this.sample(s.timestamps[j]!, s.values[j]!, TAG_V2_SAMPLES);
      this.histogramFields(i, TAG_V2_HISTOGRAMS);
    }
    return this.buf.subarray(0, this.pos);
  }

  /** Encodes series `i`'s histograms (kept for `histogramFields`) and returns the bytes their fields take. */
  private histogramsSize(s: BatchSeries, i: number): number {
    const bodies = this.histogramBodies;
    if (s.histograms.length === 0) {
      if (i < bodies.length) bodies[i]!.length = 0;
      return 0;
    }
    while (bodies.length <= i) bodies.push([]);
    const mine = bodies[i]!;
    mine.length = 0;
    let size = 0;
    for (let j = 0; j < s.histograms.length; j++) {
      const b = encodeHistogram(s.histograms[j]!, s.histogramTimestamps[j]!);
      mine.push(b);
      size += fieldSize(b.length);
    }
    return size;
  }

  private histogramFields(i: number, tag: number): void {
    const bodies = this.histogramBodies[i];
    if (bodies === undefined) return;
    for (const b of bodies) {
      this.byte(tag);
      this.varint(b.length);
      this.buf.set(b, this.pos);
      this.pos += b.length;
    }
  }

  private sizesFor(n: number): Int32Array {
    if (this.seriesSizes.length < n) this.seriesSizes = new Int32Array(Math.max(n, 2 * this.seriesSizes.length));
    return this.seriesSizes;
  }

  private reset(total: number): void {
    if (this.buf.length < total) {
      this.buf = Buffer.allocUnsafe(Math.max(total, 2 * this.buf.length));
      this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    }
    this.pos = 0;
  }

  private labelsV1(labels: Labels): Buffer {
    let b = this.labelBytes.get(labels);
    if (b !== undefined) return b;
    const parts: Buffer[] = [];
    for (const l of labels) {
      const name = Buffer.from(l.name, 'utf8');
      const value = Buffer.from(l.value, 'utf8');
      const head = [TAG_V1_LABELS, ...varintBytes(fieldSize(name.length) + fieldSize(value.length)), TAG_LABEL_NAME, ...varintBytes(name.length)];
      parts.push(Buffer.from(head), name, Buffer.from([TAG_LABEL_VALUE, ...varintBytes(value.length)]), value);
    }
    b = Buffer.concat(parts);
    this.labelBytes.set(labels, b);
    return b;
  }

  private sample(t: number, v: number, tag = TAG_V1_SAMPLES): void {
    this.byte(tag);
    this.varint(SAMPLE_SIZE_BASE + varintSize(t));
    this.byte(TAG_SAMPLE_VALUE);
    this.view.setFloat64(this.pos, v, true); // keeps NaN payloads (the stale marker) bit-exact
    this.pos += 8;
    this.byte(TAG_SAMPLE_TIMESTAMP);
    this.varint(t);
  }

  private string(tag: number, s: string, bytes: number): void {
    this.byte(tag);
    this.varint(bytes);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  private byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  /** A non-negative safe integer, or a negative int64 as ten bytes of two's complement. */
  private varint(n: number): void {
    const buf = this.buf;
    if (n < 0) {
      let x = BigInt.asUintN(64, BigInt(n));
      for (let i = 0; i < 9; i++) {
        buf[this.pos++] = Number(x & 0x7fn) | 0x80;
        x >>= 7n;
      }
      buf[this.pos++] = Number(x);
      return;
    }
    let pos = this.pos;
    if (n >= 2 ** 28) {
      // The low 28 bits as four bytes with 32-bit operations, then the rest (a timestamp's top bits).
      const lo = n % 2 ** 28;
      buf[pos++] = (lo & 0x7f) | 0x80;
      buf[pos++] = ((lo >>> 7) & 0x7f) | 0x80;
      buf[pos++] = ((lo >>> 14) & 0x7f) | 0x80;
      buf[pos++] = ((lo >>> 21) & 0x7f) | 0x80;
      n = (n - lo) / 2 ** 28;
      while (n >= 0x80) {
        buf[pos++] = (n % 0x80) | 0x80;
        n = Math.floor(n / 0x80);
      }
    } else {
      while (n >= 0x80) {
        buf[pos++] = (n & 0x7f) | 0x80;
        n >>>= 7;
      }
    }
    buf[pos++] = n;
    this.pos = pos;
  }
}
