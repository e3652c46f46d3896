// How the decoders hand a request's content to ingestion: per series a key and a way to decode
// its labels (only needed the first time a series is seen), then its samples one call each, so
// decoding allocates nothing per sample.
import { isUtf8 } from 'node:buffer';
import type { Label } from '../../shared/labels';
import type { DecodedHistogram } from './histogram-proto';

export interface LabelSource {
  /** How many labels the series has, known without decoding them. */
  labelCount(): number;
  /**
   * The first `max` of the series' labels as sent (not yet validated); null when a string is
   * not valid UTF-8 or a label is not a valid Label message.
   */
  labels(max?: number): Label[] | null;
}

export interface SeriesSink {
  /**
   * Starts a series. `keyBuf[keyStart, keyEnd)` identifies its label set as encoded in this
   * request (equal bytes, equal labels). Returns false to skip its samples.
   */
  series(keyBuf: Buffer, keyStart: number, keyEnd: number, source: LabelSource, samples: number, histograms: number): boolean;
  /** `st`: the sample's start timestamp (remote write 2.0; 0 = unknown). */
  sample(t: number, v: number, st?: number): void;
  /** One native-histogram sample of the current series, decoded but not yet validated. */
  histogram(d: DecodedHistogram): void;
}

/** A growable byte buffer for series keys that are not one contiguous range of the body. */
export class KeyScratch {
  buf = Buffer.allocUnsafe(256);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.length++] = b;
  }

  bytes(src: Buffer, start: number, end: number): void {
    this.room(end - start);
    if (end - start > 32) src.copy(this.buf, this.length, start, end);
    else for (let i = start; i < end; i++) this.buf[this.length + i - start] = src[i]!;
    this.length += end - start;
  }

  /** A length prefix, so concatenated strings stay unambiguous. */
  varint(n: number): void {
    for (; n >= 0x80; n = Math.floor(n / 0x80)) this.byte((n & 0x7f) | 0x80);
    this.byte(n);
  }
}

/** What the validating first pass counted. */
export interface RequestCounts {
  series: number;
  samples: number;
  histograms: number;
  exemplars: number;
  metadata: number;
}

export function newCounts(): RequestCounts {
  return { series: 0, samples: 0, histograms: 0, exemplars: 0, metadata: 0 };
}

/** UTF-8 text of buf[start, end), or null when it is not valid UTF-8. */
export function utf8Text(buf: Uint8Array, start: number, end: number): string | null {
  const s = (Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)).toString('utf8', start, end);
  // The decoder replaces bad bytes with U+FFFD; only then is a real check needed.
  if (s.includes('\ufffd') && !isUtf8(buf.subarray(start, end))) return null;
  return s;
}

/** How the decoders get a label string: its text (shared, when it was seen before), null when not valid UTF-8. */
export type LabelText = (buf: Uint8Array, start: number, end: number) => string | null;
