// Checks a SQLite write-ahead log (`<file>-wal`) before SQLite opens it. SQLite's recovery stops
// silently at the first frame that fails its checksum and drops every later frame, committed
// transactions included: one flipped bit there would lose acknowledged samples without a word.
// Format: https://www.sqlite.org/fileformat2.html#walformat (32-byte header, then frames of a
// 24-byte header and one page; cumulative checksums seeded by the previous frame's).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const HEADER = 32;
const FRAME_HEADER = 24;
const MAGIC_LE = 0x377f0682;
const MAGIC_BE = 0x377f0683;
const VERSION = 3007000;

/** Null when the log is absent, empty or sound; otherwise why SQLite would drop committed frames. */
export function walDamage(walPath: string): string | null {
  let fd: number;
  try {
    fd = openSync(walPath, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    if (size < HEADER) return null;
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return check(buf.subarray(0, off));
  } finally {
    closeSync(fd);
  }
}

function checksum(buf: Buffer, start: number, end: number, bigEndian: boolean, s0: number, s1: number): [number, number] {
  for (let i = start; i < end; i += 8) {
    const x0 = bigEndian ? buf.readUInt32BE(i) : buf.readUInt32LE(i);
    const x1 = bigEndian ? buf.readUInt32BE(i + 4) : buf.readUInt32LE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  return [s0, s1];
}

function check(buf: Buffer): string | null {
  const magic = buf.readUInt32BE(0);
  const pageSize = buf.readUInt32BE(8);
  const frameSize = FRAME_HEADER + pageSize;
  const hasFrame = buf.length >= HEADER + FRAME_HEADER + 512;
  if (magic !== MAGIC_LE && magic !== MAGIC_BE) return hasFrame ? 'its header is not a SQLite log header' : null;
  const be = magic === MAGIC_BE;
  const [h0, h1] = checksum(buf, 0, 24, be, 0, 0);
  const headerOk = buf.readUInt32BE(24) === h0 && buf.readUInt32BE(28) === h1;
  const sizeOk = pageSize >= 512 && pageSize <= 65536 && (pageSize & (pageSize - 1)) === 0;
  if (!headerOk || !sizeOk || buf.readUInt32BE(4) !== VERSION) return hasFrame ? 'its header fails its checksum, so SQLite would ignore every frame in it' : null;
  const salt1 = buf.readUInt32BE(16);
  const salt2 = buf.readUInt32BE(20);
  const frames = Math.floor((buf.length - HEADER) / frameSize);
  let seed: [number, number] = [h0, h1];
  let bad = -1;
  for (let k = 0; k < frames; k++) {
    const at = HEADER + k * frameSize;
    const s1 = buf.readUInt32BE(at + 8) === salt1;
    const s2 = buf.readUInt32BE(at + 12) === salt2;
    if (s1 !== s2) return `frame ${k + 1} has one of its two salts altered, so SQLite would drop it and every later frame`;
    if (!s1) {
      // A frame of an earlier generation of the log: the end, unless it follows a bad frame,
      // which then may be a write cut short by a crash (header written, page not yet).
      return null;
    }
    const [c0, c1] = checksum(buf, at + FRAME_HEADER, at + frameSize, be, ...checksum(buf, at, at + 8, be, ...seed));
    const stored: [number, number] = [buf.readUInt32BE(at + 16), buf.readUInt32BE(at + 20)];
    if (bad >= 0) return `frame ${bad + 1} fails its checksum although later frames were written after it`;
    if (c0 !== stored[0] || c1 !== stored[1]) bad = k;
    seed = stored;
  }
  // A complete bad frame at the end of the file was written whole (a crash cuts a frame short).
  if (bad >= 0) return `frame ${bad + 1} fails its checksum, so SQLite would drop it and every later frame`;
  return null;
}
