// Bit-level writer and reader for chunk encodings (most significant bit first).
// The reader peeks 32 bits at a time, so a stream must be followed by at least 4 readable bytes
// (chunk rows end with PAD_BYTES zero bytes for that).

export const PAD_BYTES = 8;
const TWO_32 = 4294967296;

export class BitWriter {
  private buf: Uint8Array;
  /** Whole bytes written to `buf`. */
  private byte = 0;
  /**
   * The bits written after them (0..7), the low `pending` bits of `acc`: bytes are stored whole as
   * they fill (a store a byte, not a read-modify-write a field; the head codes a chunk every 16
   * samples of every series).
   */
  private acc = 0;
  private pending = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  /** Writes the low `n` bits of unsigned `v` (0 <= n <= 32). */
  writeBits(v: number, n: number): void {
    if (n > 24) {
      // pending + n must fit the 32-bit accumulator.
      this.writeBits(v >>> 16, n - 16);
      this.writeBits(v & 0xffff, 16);
      return;
    }
    if (this.byte + 4 > this.buf.length) this.grow();
    const acc = (this.acc << n) | (v & ((1 << n) - 1));
    const buf = this.buf;
    let byte = this.byte;
    let p = this.pending + n;
    while (p >= 8) {
      p -= 8;
      buf[byte++] = acc >>> p; // a Uint8Array keeps the low 8 bits
    }
    this.byte = byte;
    this.pending = p;
    // Only the pending bits are kept: a small integer field, never a boxed number.
    this.acc = acc & ((1 << p) - 1);
  }

  /**
   * Writes `count` values of chunkenc's adaptive prefix code: 0 as the bit 0; 1 ≤ z ≤ 2^b as 10 and
   * z − 1 in b bits; larger as 11 and z in b2 bits (b ≤ b2, every z < 2^b2). Here rather than in
   * chunkenc: one loop over local state writes a code in a few operations, where a writeBits call
   * a code cost most of a chunk's coding.
   */
  writePrefixCoded(zs: Float64Array, count: number, b: number, b2: number): void {
    const firstMax = 2 ** b;
    if (b2 > 22) {
      for (let i = 0; i < count; i++) {
        const z = zs[i]!;
        if (z === 0) this.writeBits(0, 1);
        else if (z - 1 < firstMax) this.writeBits((2 << b) | (z - 1), 2 + b);
        else {
          this.writeBits(3, 2);
          this.writeWide(z, b2);
        }
      }
      return;
    }
    // b <= b2 <= 22: a code is at most 24 bits, which the accumulator holds beside 7 pending ones.
    while (this.byte + 3 * count + 4 > this.buf.length) this.grow();
    const buf = this.buf;
    const first = 2 << b;
    const second = 3 << b2;
    let acc = this.acc;
    let p = this.pending;
    let byte = this.byte;
    for (let i = 0; i < count; i++) {
      const z = zs[i]!;
      if (z === 0) {
        acc <<= 1;
        p += 1;
      } else if (z - 1 < firstMax) {
        acc = (acc << (2 + b)) | first | (z - 1);
        p += 2 + b;
      } else {
        acc = (acc << (2 + b2)) | second | z;
        p += 2 + b2;
      }
      while (p >= 8) {
        p -= 8;
        buf[byte++] = acc >>> p;
      }
      acc &= (1 << p) - 1;
    }
    this.acc = acc;
    this.pending = p;
    this.byte = byte;
  }

  writeBit(b: number): void {
    this.writeBits(b, 1);
  }

  /** Writes an unsigned integer below 2^n, n up to 64 (values above 2^53 are not exact as numbers; callers avoid them). */
  writeWide(v: number, n: number): void {
    if (n <= 32) return this.writeBits(v >>> 0, n);
    const hi = Math.floor(v / TWO_32);
    this.writeBits(hi >>> 0, n - 32);
    this.writeBits((v - hi * TWO_32) >>> 0, 32);
  }

  /** Two 32-bit halves of a 64-bit pattern. */
  writeWord64(hi: number, lo: number): void {
    this.writeBits(hi >>> 0, 32);
    this.writeBits(lo >>> 0, 32);
  }

  /** Unsigned integer (< 2^53) in 7-bit groups with a continuation bit: small headers stay small. */
  writeVar(v: number): void {
    while (v >= 0x80000000) {
      this.writeBits(0x80 | (v % 128), 8);
      v = Math.floor(v / 128);
    }
    // Below 2^31 in integer operations (a head chunk's first timestamp takes six groups).
    while (v >= 128) {
      this.writeBits(0x80 | (v & 0x7f), 8);
      v >>>= 7;
    }
    this.writeBits(v, 8);
  }

  /** Pads to a byte boundary and returns the bytes written (a view, valid until the next write). */
  finish(): Uint8Array {
    if (this.pending === 0) return this.buf.subarray(0, this.byte);
    if (this.byte + 1 > this.buf.length) this.grow();
    this.buf[this.byte] = this.acc << (8 - this.pending);
    return this.buf.subarray(0, this.byte + 1);
  }

  reset(): void {
    this.byte = 0;
    this.acc = 0;
    this.pending = 0;
  }

  private grow(): void {
    const next = new Uint8Array(this.buf.length * 2 + 16);
    next.set(this.buf);
    this.buf = next;
  }
}

export class BitReader {
  /** Absolute bit position in `buf`. */
  pos: number;

  constructor(
    /** The bytes read (hot decoding loops read them directly, see chunkenc's readRising). */
    public buf: Uint8Array,
    byteOffset: number,
  ) {
    this.pos = byteOffset * 8;
  }

  /** Reads `buf` from `byteOffset` on (a decoder reuses one reader: a whole-day query decodes ~100,000 chunks). */
  reset(buf: Uint8Array, byteOffset: number): this {
    this.buf = buf;
    this.pos = byteOffset * 8;
    return this;
  }

  /** The next 32 bits without consuming them. */
  peek32(): number {
    const b = this.buf;
    const p = this.pos;
    const i = p >>> 3;
    const w = ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
    const s = p & 7;
    return s === 0 ? w : ((w << s) | (b[i + 4]! >>> (8 - s))) >>> 0;
  }

  /** Reads `n` bits (0..32) as an unsigned number. */
  readBits(n: number): number {
    if (n === 0) return 0;
    const v = this.peek32() >>> (32 - n);
    this.pos += n;
    return v;
  }

  readBit(): number {
    const b = this.buf[this.pos >>> 3]!;
    const v = (b >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return v;
  }

  readWide(n: number): number {
    if (n <= 32) return this.readBits(n);
    const hi = this.readBits(n - 32);
    return hi * TWO_32 + this.readBits(32);
  }

  readVar(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = this.readBits(8);
      v += (b & 0x7f) * mul;
      if (b < 128) return v;
      mul *= 128;
    }
  }
}

/** Maps signed integers (|v| < 2^52) to unsigned: 0, -1, 1, -2 … → 0, 1, 2, 3 … */
export function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

export function unzigzag(z: number): number {
  if (z < 0x80000000) return (z >>> 1) ^ -(z & 1);
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Number of bits needed for unsigned `v` (0 for 0). */
export function bitLength(v: number): number {
  if (v < TWO_32) return 32 - Math.clz32(v);
  return 32 + (32 - Math.clz32(Math.floor(v / TWO_32)));
}
