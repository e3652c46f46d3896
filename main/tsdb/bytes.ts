// Byte-level record encoding (varints, float64, strings, sample values) for log records, series
// pages and chunk row directories. Bit-level chunk payloads use ./bitstream instead.

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export class ByteWriter {
  private buf: Buffer;
  private view: DataView;
  len = 0;

  constructor(capacity = 1024) {
    this.buf = Buffer.allocUnsafe(capacity);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.length);
  }

  byte(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }

  /** Unsigned integer < 2^53. */
  varint(v: number): void {
    this.ensure(8);
    const b = this.buf;
    if (v < 0x10000000) {
      // Up to four bytes with integer arithmetic: the common case.
      while (v >= 128) {
        b[this.len++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      b[this.len++] = v;
      return;
    }
    while (v >= 128) {
      b[this.len++] = 0x80 | (v % 128);
      v = Math.floor(v / 128);
    }
    b[this.len++] = v;
  }

  /** Signed integer, |v| < 2^52. */
  svarint(v: number): void {
    this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  float64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.len, v, true);
    this.len += 8;
  }

  string(s: string): void {
    // Label strings are short and nearly always ASCII: written in place, no encoder allocation.
    const n = s.length;
    if (n < 128) {
      this.ensure(n + 1);
      const b = this.buf;
      const at = this.len;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[at + 1 + i] = c;
      }
      if (i === n) {
        b[at] = n;
        this.len = at + 1 + n;
        return;
      }
    }
    const bytes = Buffer.byteLength(s, 'utf8');
    this.varint(bytes);
    this.ensure(bytes);
    this.len += this.buf.write(s, this.len, bytes, 'utf8');
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  zeros(n: number): void {
    this.ensure(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
  }

  /** A copy of the bytes written (the writer may be reused). */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }

  /** The bytes written, without a copy: valid until the next write or reset. */
  written(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  reset(): void {
    this.len = 0;
  }
}

export class ByteReader {
  pos: number;
  private readonly view: DataView;

  constructor(
    readonly buf: Buffer,
    pos = 0,
  ) {
    this.pos = pos;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  byte(): number {
    if (this.pos >= this.buf.length) throw new RangeError('record truncated');
    return this.buf[this.pos++]!;
  }

  varint(): number {
    const buf = this.buf;
    const b0 = buf[this.pos];
    if (b0 !== undefined && b0 < 128) {
      this.pos++;
      return b0;
    }
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = this.byte();
      v += (b & 0x7f) * mul;
      if (b < 128) return v;
      mul *= 128;
    }
  }

  svarint(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  float64(): number {
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  string(): string {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new RangeError('record truncated');
    const s = utf8Decoder.decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
}

// A value is a varint: zigzag(k) * 4 + tag, with tag 1: v = k, 2: v = k / 100, 3: v = k / 10000
// (integers and short decimals, most metric values, in a few bytes), or tag 0 and the raw float64.
const SCALES = [0, 1, 100, 10000];
const MAX_K = 2 ** 48;

export function writeValue(w: ByteWriter, v: number): void {
  for (let tag = 1; tag < 4; tag++) {
    const p = SCALES[tag]!;
    const k = Math.round(v * p);
    if (k / p === v && Math.abs(k) < MAX_K && !(v === 0 && 1 / v < 0)) {
      w.varint((k >= 0 ? k * 2 : -k * 2 - 1) * 4 + tag);
      return;
    }
  }
  w.byte(0);
  w.float64(v);
}

export function readValue(r: ByteReader): number {
  const code = r.varint();
  const tag = code % 4;
  if (tag === 0) return r.float64();
  const z = (code - tag) / 4;
  const k = z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  return k / SCALES[tag]!;
}
