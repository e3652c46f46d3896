// Checks a SQLite write-ahead log (`<file>-wal`) before SQLite opens it. SQLite's recovery stops
// silently at the first frame that fails its checksum and drops every later frame, committed
// transactions included: one flipped bit there would lose acknowledged samples without a word.
// Format: https://www.sqlite.org/fileformat2.html#walformat (32-byte header, then frames of a
// 24-byte header and one page; cumulative checksums seeded by the previous frame's).
// A bad frame is not always damage: a transaction too large for SQLite's page cache writes frames
// before its commit and, when it changes such a page again, rewrites that frame's page in place,
// leaving its checksum stale until the commit rewrites them all. A process killed before that
// commit leaves a stale frame with later frames after it, none of them committed, and SQLite's
// recovery rightly drops them. So a bad frame is damage only where a commit would be lost: a
// commit marker on it or on a later frame of its generation, or the -shm's record of the last
// commit (when it is intact and of this generation) reaching it.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';

const HEADER = 32;
const FRAME_HEADER = 24;
const MAGIC_LE = 0x377f0682;
const MAGIC_BE = 0x377f0683;
const VERSION = 3007000;

/** The -shm's wal-index header: two copies of 48 bytes, in the machine's byte order. */
const SHM_HEADER = 48;

/**
 * A log found damaged counts only once it has read the same for SETTLE_MS, read every SETTLE_STEP_MS
 * (a writer descheduled between its two writes of a frame for a moment is not damage); one still
 * changing after SETTLE_READS reads has a live writer.
 */
const SETTLE_MS = 250;
const SETTLE_STEP_MS = 25;
const SETTLE_READS = 40;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Null when the log is absent, empty or sound; otherwise why SQLite would drop committed frames.
 * Another process may be writing the log as it is read (a second process opening control.db):
 * SQLite writes a frame's header and its page in two writes, so a read between them finds a
 * commit's frame failing its checksum. Damage counts only when the log stays as it is; one that
 * keeps changing has a live writer, and SQLite recovers a log (dropping frames) only when no
 * process has the database open.
 */
export function walDamage(walPath: string): string | null {
  let buf = readWhole(walPath);
  let stableMs = 0;
  for (let reads = 1; buf && buf.length >= HEADER; reads++) {
    const found = check(buf, (salts) => committedFrames(walPath.replace(/-wal$/, '-shm'), salts));
    if (found === null) return null;
    if (stableMs >= SETTLE_MS) return found;
    if (reads > SETTLE_READS) return null;
    Atomics.wait(pause, 0, 0, SETTLE_STEP_MS);
    const again = readWhole(walPath);
    if (again?.equals(buf)) stableMs += SETTLE_STEP_MS;
    else stableMs = 0;
    buf = again;
  }
  return null;
}

function readWhole(path: string, max = Infinity): Buffer | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = Math.min(fstatSync(fd).size, max);
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}

/**
 * How many frames of the log were committed, as the last writer's -shm recorded it (mxFrame), when
 * its header is whole (both copies equal, initialised, its checksum right) and names the log's
 * generation (`salts`, the log header's bytes 16–24); undefined otherwise.
 */
function committedFrames(shmPath: string, salts: Buffer): number | undefined {
  const shm = readWhole(shmPath, 2 * SHM_HEADER);
  if (!shm || shm.length < 2 * SHM_HEADER) return undefined;
  const hdr = shm.subarray(0, SHM_HEADER);
  if (!hdr.equals(shm.subarray(SHM_HEADER, 2 * SHM_HEADER)) || hdr[12] !== 1) return undefined;
  const le = endianness() === 'LE';
  const read = (at: number) => (le ? hdr.readUInt32LE(at) : hdr.readUInt32BE(at));
  if (read(0) !== VERSION) return undefined;
  const [c0, c1] = checksum(hdr, 0, 40, !le, 0, 0);
  if (read(40) !== c0 || read(44) !== c1 || !hdr.subarray(32, 40).equals(salts)) return undefined;
  return read(16);
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

function check(buf: Buffer, committed: (salts: Buffer) => number | undefined): string | null {
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
  /** A frame from the first bad one on carries a commit marker (the database's size after that commit). */
  let commitLost = false;
  for (let k = 0; k < frames; k++) {
    const at = HEADER + k * frameSize;
    const s1 = buf.readUInt32BE(at + 8) === salt1;
    const s2 = buf.readUInt32BE(at + 12) === salt2;
    // Both salts other than the header's: a frame of an earlier generation of the log, or one SQLite
    // wrote with zeroed salts while it owed checksums (above): where the log ends for SQLite.
    if (!s1 && !s2) break;
    if (s1 !== s2) return `frame ${k + 1} has one of its two salts altered, so SQLite would drop it and every later frame`;
    if (bad < 0) {
      const [c0, c1] = checksum(buf, at + FRAME_HEADER, at + frameSize, be, ...checksum(buf, at, at + 8, be, ...seed));
      seed = [buf.readUInt32BE(at + 16), buf.readUInt32BE(at + 20)];
      if (c0 === seed[0] && c1 === seed[1]) continue;
      bad = k;
    }
    if (buf.readUInt32BE(at + 4) !== 0) commitLost = true;
  }
  if (bad < 0) return null;
  const recorded = committed(buf.subarray(16, 24));
  if (!commitLost && !(recorded !== undefined && bad < recorded)) return null; // an uncommitted transaction, cut short
  return `frame ${bad + 1} fails its checksum, so SQLite would drop it and every later frame, committed ones included`;
}
