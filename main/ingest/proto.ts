// Protobuf wire-format reading for the remote-write decoders: bounds-checked, allocation-free.
// Every read takes the end of the enclosing message, so a length that points past it is caught
// where it is read, and nothing is ever read past the buffer.

/** A body that is not valid protobuf of the expected message; the whole request is refused. */
export class ProtoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoError';
  }
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32', '6', '7'];

export class ProtoReader {
  pos = 0;
  /** Field number and wire type of the last tag read by `tag()`. */
  field = 0;
  wire = 0;
  private view: DataView;

  constructor(readonly buf: Buffer) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Reads the next tag into `field`/`wire`. */
  tag(end: number): void {
    const t = this.varint(end);
    if (t > 0xffffffff) throw new ProtoError(`field tag out of range at byte ${this.pos}`);
    const field = Math.floor(t / 8);
    const wire = t & 7;
    if (field === 0) throw new ProtoError(`field number 0 at byte ${this.pos}`);
    if (wire === 3 || wire === 4 || wire > 5) throw new ProtoError(`unsupported wire type ${WIRE_NAMES[wire]} at byte ${this.pos}`);
    this.field = field;
    this.wire = wire;
  }

  /** Throws unless the last tag has wire type `wire`; `what` names the field for the message. */
  expect(wire: number, what: string): void {
    if (this.wire !== wire) {
      throw new ProtoError(`${what} has wire type ${WIRE_NAMES[this.wire]}, expected ${WIRE_NAMES[wire]}`);
    }
  }

  /**
   * An unsigned varint as a number. Exact up to 2^53; larger values come back > MAX_SAFE_INTEGER
   * (callers that accept int64 use `int64`). Refuses varints over 10 bytes.
   */
  varint(end: number): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos >= end) throw truncated(pos);
    let b = buf[pos++]!;
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let result = b & 0x7f;
    let mul = 0x80;
    for (let i = 1; i < 10; i++) {
      if (pos >= end) throw truncated(pos);
      b = buf[pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (i === 9 && b > 1) throw new ProtoError(`varint overflows 64 bits at byte ${pos - 1}`);
        this.pos = pos;
        return result;
      }
      mul *= 0x80;
    }
    throw new ProtoError(`varint longer than 10 bytes at byte ${pos - 10}`);
  }

  /** An int64 varint (two's complement, so negatives take 10 bytes) as an exact safe integer. */
  int64(end: number, what: string): number {
    const start = this.pos;
    const v = this.varint(end);
    if (v <= Number.MAX_SAFE_INTEGER) return v;
    // Rare path: negative or huge; redo it exactly.
    let big = 0n;
    for (let p = this.pos - 1; p >= start; p--) big = (big << 7n) | BigInt(this.buf[p]! & 0x7f);
    const signed = Number(BigInt.asIntN(64, big));
    if (!Number.isSafeInteger(signed)) throw new ProtoError(`${what} ${BigInt.asIntN(64, big)} is out of range`);
    return signed;
  }

  /** The length of a length-delimited field; checks it fits before `end`. Returns its end. */
  lenEnd(end: number, what: string): number {
    const n = this.varint(end);
    if (n > end - this.pos) throw new ProtoError(`${what} of ${n} bytes runs past the end of its message at byte ${this.pos}`);
    return this.pos + n;
  }

  /** Steps over a length-delimited field that must have that wire type (a message not looked into). */
  skipMessage(end: number, what: string): void {
    this.expect(WIRE_LEN, what);
    this.pos = this.lenEnd(end, what);
  }

  double(end: number): number {
    const pos = this.pos;
    if (end - pos < 8) throw truncated(pos);
    this.pos = pos + 8;
    return this.doubleAt(pos);
  }

  /** The little-endian double at `pos` (the caller checked that 8 bytes are there). */
  doubleAt(pos: number): number {
    return this.view.getFloat64(pos, true);
  }

  /** Skips the value of the last tag (an unknown field). */
  skip(end: number): void {
    switch (this.wire) {
      case WIRE_VARINT:
        this.varint(end);
        return;
      case WIRE_FIXED64:
        if (end - this.pos < 8) throw truncated(this.pos);
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.pos = this.lenEnd(end, `field ${this.field}`);
        return;
      case WIRE_FIXED32:
        if (end - this.pos < 4) throw truncated(this.pos);
        this.pos += 4;
        return;
    }
  }
}

function truncated(pos: number): ProtoError {
  return new ProtoError(`message truncated at byte ${pos}`);
}
