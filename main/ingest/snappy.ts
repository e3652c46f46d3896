// Snappy block decompression with a bomb guard. The declared length is read and checked against
// the workspace limit and against what the compressed size can possibly expand to before any
// output is allocated; then the tag stream is checked (snappyjs silently drops writes past its
// output and never checks that the output was filled), so a corrupt body is a clear 400.
import { uncompress } from 'snappyjs';
import { IngestError } from './types';

/** Densest snappy element: a 3-byte copy emitting 64 bytes. */
const MAX_RATIO_NUM = 64;
const MAX_RATIO_DEN = 3;

/** snappyjs reads the declared length as a signed 32-bit integer. */
const SNAPPYJS_MAX_BYTES = 2 ** 31 - 1;

/** Decompresses a snappy block of at most `maxBytes` output. Throws IngestError 413/400. */
export function decompressSnappyBlock(body: Buffer, maxBytes: number): Buffer {
  maxBytes = Math.min(maxBytes, SNAPPYJS_MAX_BYTES);
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
  checkTags(body, headerBytes, length);
  return uncompress(body, maxBytes);
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

/** Walks the tag stream: every element in bounds, copies only reach back into output, sizes add up. */
function checkTags(buf: Buffer, start: number, declared: number): void {
  let pos = start;
  let out = 0;
  const end = buf.length;
  while (pos < end) {
    const tag = buf[pos++]!;
    let len: number;
    if ((tag & 3) === 0) {
      len = (tag >>> 2) + 1;
      if (len > 60) {
        const extra = len - 60;
        if (pos + extra > end) throw corrupt('truncated literal length', pos);
        len = 0;
        for (let i = extra - 1; i >= 0; i--) len = len * 256 + buf[pos + i]!;
        len += 1;
        pos += extra;
      }
      if (len > end - pos) throw corrupt('literal runs past the end', pos);
      pos += len;
    } else {
      let offset: number;
      if ((tag & 3) === 1) {
        if (pos + 1 > end) throw corrupt('truncated copy', pos);
        len = ((tag >>> 2) & 7) + 4;
        offset = ((tag >>> 5) << 8) | buf[pos]!;
        pos += 1;
      } else if ((tag & 3) === 2) {
        if (pos + 2 > end) throw corrupt('truncated copy', pos);
        len = (tag >>> 2) + 1;
        offset = buf[pos]! | (buf[pos + 1]! << 8);
        pos += 2;
      } else {
        if (pos + 4 > end) throw corrupt('truncated copy', pos);
        len = (tag >>> 2) + 1;
        offset = buf.readUInt32LE(pos);
        pos += 4;
      }
      if (offset === 0 || offset > out) throw corrupt('copy refers before the start of the output', pos);
    }
    out += len;
    if (out > declared) throw corrupt(`output exceeds the declared ${declared} bytes`, pos);
  }
  if (out !== declared) throw corrupt(`output is ${out} bytes, header declares ${declared}`, pos);
}

function corrupt(what: string, pos: number): IngestError {
  return new IngestError(400, `corrupt snappy body: ${what} (byte ${pos})`);
}
