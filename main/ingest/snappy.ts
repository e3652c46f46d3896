// Snappy block decompression with a bomb guard. The declared length is read and checked against
// the workspace limit and against what the compressed size can possibly expand to before any
// output is allocated; then one pass decodes the tag stream and checks every element (in bounds,
// copies only reach back into output, sizes add up), so a corrupt body is a clear 400.
// Written here rather than taken from snappyjs: checking and decoding in one pass, copying four
// bytes at a time and natively only for long literals, costs a third of snappyjs's decoding, and
// remote-write ingest spends much of its time here.
import { IngestError } from './types';

/** Densest snappy element: a 3-byte copy emitting 64 bytes. */
const MAX_RATIO_NUM = 64;
const MAX_RATIO_DEN = 3;

/** The largest output decoded: a Buffer's offsets stay small integers. */
const MAX_OUTPUT_BYTES = 2 ** 31 - 1;
/**
 * Literals this long are copied natively; shorter ones, and every copy (at most 64 bytes), four
 * bytes at a time: a remote-write body's elements are short, and a native call cost more than the
 * loop below up to 64 bytes (186 → 116 µs for a 2,000-series body of 262 KB).
 */
const NATIVE_LITERAL_MIN = 65;

/**
 * Output memory a caller reuses from one body to the next (fewer fresh allocations for the
 * garbage collector to account for). What it returns is overwritten by the next body: the
 * caller must be done with it (nothing keeps a view of it) before decompressing another.
 */
export class DecompressBuffer {
  private buf = Buffer.allocUnsafe(0);

  /** At most this much is kept between bodies; larger outputs get memory of their own. */
  static readonly KEEP_BYTES = 1 << 20;

  take(n: number): Buffer {
    if (n > DecompressBuffer.KEEP_BYTES) return Buffer.allocUnsafe(n);
    if (this.buf.length < n) this.buf = Buffer.allocUnsafe(Math.min(DecompressBuffer.KEEP_BYTES, Math.max(n, this.buf.length * 2, 64 * 1024)));
    return this.buf.subarray(0, n);
  }
}

/** Decompresses a snappy block of at most `maxBytes` output (into `into` when given). Throws IngestError 413/400. */
export function decompressSnappyBlock(body: Buffer, maxBytes: number, into?: DecompressBuffer): Buffer {
  maxBytes = Math.min(maxBytes, MAX_OUTPUT_BYTES);
  const { length, headerBytes } = readDeclaredLength(body);
  if (length > maxBytes) {
    throw new IngestError(
      413,
      `decompressed body of ${length} bytes exceeds the limit maxDecompressedBytes=${maxBytes}; send smaller batches (queue_config.max_samples_per_send)`,
    );
  }
  const payload = body.length - headerBytes;
  if (length > Math.ceil((payload * MAX_RATIO_NUM) / MAX_RATIO_DEN)) {
    throw new IngestError(400, `corrupt snappy body: declares ${length} bytes, impossible for ${body.length} compressed bytes`);
  }
  return decode(body, headerBytes, length, into ? into.take(length) : Buffer.allocUnsafe(length));
}

function readDeclaredLength(body: Buffer): { length: number; headerBytes: number } {
  let length = 0;
  let mul = 1;
  for (let i = 0; i < 5 && i < body.length; i++) {
    const b = body[i]!;
    length += (b & 0x7f) * mul;
    if (b < 0x80) {
      if (length > 0xffffffff) break;
      return { length, headerBytes: i + 1 };
    }
    mul *= 0x80;
  }
  throw new IngestError(400, 'corrupt snappy body: missing or invalid length header (is the body snappy block format, not framed or gzip?)');
}

/** Decodes the tag stream after the header: literals and back-references, each checked before it is copied. */
function decode(src: Buffer, start: number, declared: number, out: Buffer): Buffer {
  // Uninitialised (or reused) memory is fine: the output is returned only when every one of its bytes was written.
  let pos = start;
  let o = 0;
  const end = src.length;
  const srcView = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const outView = new DataView(out.buffer, out.byteOffset, out.byteLength);
  while (pos < end) {
    const tag = src[pos++]!;
    let len: number;
    if ((tag & 3) === 0) {
      len = (tag >>> 2) + 1;
      if (len > 60) {
        const extra = len - 60;
        if (pos + extra > end) throw corrupt('truncated literal length', pos);
        len = 0;
        for (let i = extra - 1; i >= 0; i--) len = len * 256 + src[pos + i]!;
        len += 1;
        pos += extra;
      }
      if (len > end - pos) throw corrupt('literal runs past the end', pos);
      if (o + len > declared) throw corrupt(`output exceeds the declared ${declared} bytes`, pos);
      if (len >= NATIVE_LITERAL_MIN) src.copy(out, o, pos, pos + len);
      else if (len >= 4) copyWords(srcView, pos, outView, o, len);
      else for (let i = 0; i < len; i++) out[o + i] = src[pos + i]!;
      pos += len;
      o += len;
      continue;
    }
    let offset: number;
    if ((tag & 3) === 1) {
      if (pos + 1 > end) throw corrupt('truncated copy', pos);
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | src[pos]!;
      pos += 1;
    } else if ((tag & 3) === 2) {
      if (pos + 2 > end) throw corrupt('truncated copy', pos);
      len = (tag >>> 2) + 1;
      offset = src[pos]! | (src[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > end) throw corrupt('truncated copy', pos);
      len = (tag >>> 2) + 1;
      offset = src.readUInt32LE(pos);
      pos += 4;
    }
    if (offset === 0 || offset > o) throw corrupt('copy refers before the start of the output', pos);
    if (o + len > declared) throw corrupt(`output exceeds the declared ${declared} bytes`, pos);
    // An overlapping copy (offset < len) repeats a pattern, as if copied byte by byte; four bytes
    // at a time are the same bytes when each read ends before the write starts (offset >= 4).
    if (offset >= 4 && len >= 4) copyWords(outView, o - offset, outView, o, len);
    else for (let i = 0, from = o - offset; i < len; i++) out[o + i] = out[from + i]!;
    o += len;
  }
  if (o !== declared) throw corrupt(`output is ${o} bytes, header declares ${declared}`, pos);
  return out;
}

/**
 * Copies `len` >= 4 bytes forward, four at a time (two a loop turn), the last four overlapping
 * what was already copied; never writes outside [to, to + len).
 */
function copyWords(src: DataView, from: number, out: DataView, to: number, len: number): void {
  let i = 0;
  for (; i < len - 8; i += 8) {
    out.setUint32(to + i, src.getUint32(from + i, true), true);
    out.setUint32(to + i + 4, src.getUint32(from + i + 4, true), true);
  }
  if (i < len - 4) out.setUint32(to + i, src.getUint32(from + i, true), true);
  out.setUint32(to + len - 4, src.getUint32(from + len - 4, true), true);
}

function corrupt(what: string, pos: number): IngestError {
  return new IngestError(400, `corrupt snappy body: ${what} (byte ${pos})`);
}
