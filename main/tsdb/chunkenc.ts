// One series' samples in one time bucket as a compact bit stream (after Gorilla/Prometheus XOR
// chunks, with two changes that matter for real metrics):
//  - timestamps: delta-of-delta, coded with an adaptive prefix code whose widths are chosen per
//    chunk from the data; an all-regular scrape costs one flag bit for the whole chunk;
//  - values: when every value is a decimal with at most MAX_SCALE fraction digits (integer
//    counters, bytes, centisecond CPU counters, rounded gauges…), the scaled integers are coded as
//    deltas or deltas-of-deltas (whichever is smaller) with the same prefix code; otherwise the
//    Gorilla XOR coding. Every encoding reproduces the float64 bit pattern exactly (checked while
//    encoding), so stale markers and -0 survive.
//
// Layout (bits): n, firstT-bucketStart, [firstDelta, dod stream], value kind, value payload.
import { BitReader, BitWriter, bitLength, unzigzag, zigzag } from './bitstream';

const MAX_SCALE = 6;
const MAX_SCALED = 2 ** 50;
const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000];
const VALUE_XOR = 0;
const VALUE_DELTA = 1;
const VALUE_DOD = 2;
/** Deltas that are all >= 0 (counters): coded without the zigzag bit. */
const VALUE_RISING = 3;
/**
 * In a scaled kind's 3-bit scale field (scales are 0…MAX_SCALE): the deltas are bit-packed (the
 * real scale follows). Each delta is stored as its excess over the chunk's smallest delta, in one
 * width for the whole chunk, so sample i's bits lie at a known position: decoding has no chain of
 * prefix lengths to follow (a whole-day counter select: 5.4 ns a sample, 9.0 with the prefix
 * code). Chosen when at most half a bit a delta larger than the smallest coding.
 */
const SCALE_PACKED = 7;
/** Widest packed field: one 32-bit read at any bit offset holds it. */
const MAX_PACKED_WIDTH = 25;
/** The first prefix class holds values below 2^b: b is capped so one 32-bit peek decodes it. */
const MAX_B = 24;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer); // little-endian: [lo, hi]

let scratch = new Float64Array(1024);
let scratch2 = new Float64Array(1024);
let scratch3 = new Float64Array(1024);
function ensureScratch(n: number): void {
  if (scratch.length < n) {
    scratch = new Float64Array(n * 2);
    scratch2 = new Float64Array(n * 2);
    scratch3 = new Float64Array(n * 2);
  }
}

// ---- adaptive prefix code for unsigned integers ----------------------------------------------
// '0' → 0;  '10' + b bits → 1 + bits;  '11' + b2 bits → bits.  A leading flag bit marks an
// all-zero stream (regular scrapes, constant series), which then costs nothing more.

interface StreamPlan {
  bits: number;
  b: number;
  b2: number;
  allZero: boolean;
}

/**
 * One stream's values counted as the loop that makes them goes (one pass a chunk for all its
 * streams): the zeros, the others by bitLength(z - 1), and the largest. finishPlan turns them into
 * the stream's plan and clears them; one per stream a chunk plans at once (its timestamps, then its
 * values' rising, delta and delta-of-delta codings), made once, as chunks are coded by the million.
 */
class StreamCounts {
  readonly byLength = new Float64Array(64);
  zeros = 0;
  max = 0;

  add(z: number): void {
    if (z === 0) this.zeros++;
    else {
      this.byLength[bitLength(z - 1)]!++;
      if (z > this.max) this.max = z;
    }
  }

  /** Back to nothing counted, clearing only what was. */
  clear(): void {
    for (let b = bitLength(this.max); b >= 0; b--) this.byLength[b] = 0;
    this.zeros = 0;
    this.max = 0;
  }
}

const TIMES_COUNTS = new StreamCounts();
const RISING_COUNTS = new StreamCounts();
const DELTA_COUNTS = new StreamCounts();
const DOD_COUNTS = new StreamCounts();

/** A stream's plan, filled in place: chunks are coded by the million, so no object per plan. */
function newPlan(): StreamPlan {
  return { bits: 0, b: 0, b2: 0, allZero: false };
}
const TIMES_PLAN = newPlan();
const RISING_PLAN = newPlan();
const DELTA_PLAN = newPlan();
const DOD_PLAN = newPlan();

/** The plan of a stream of `count` values counted in `c`, which it clears. */
function finishPlan(c: StreamCounts, count: number, plan: StreamPlan): StreamPlan {
  const { zeros, max, byLength } = c;
  plan.allZero = zeros === count;
  if (plan.allZero) {
    plan.bits = 1;
    plan.b = plan.b2 = 0;
    c.clear();
    return plan;
  }
  const b2 = bitLength(max);
  const nonZero = count - zeros;
  let best = Infinity;
  let bestB = 0;
  let inFirst = 0;
  for (let b = 0; b <= Math.min(MAX_B, b2); b++) {
    inFirst += byLength[b]!;
    const cost = zeros + inFirst * (2 + b) + (nonZero - inFirst) * (2 + b2);
    if (cost < best) {
      best = cost;
      bestB = b;
    }
  }
  c.clear();
  plan.bits = 1 + 11 + best;
  plan.b = bestB;
  plan.b2 = b2;
  return plan;
}

function writeStream(w: BitWriter, zs: Float64Array, count: number, plan: StreamPlan): void {
  if (plan.allZero) return w.writeBit(1);
  w.writeBit(0);
  const { b, b2 } = plan;
  w.writeBits(b, 5);
  w.writeBits(b2, 6);
  w.writePrefixCoded(zs, count, b, b2);
}

// ---- values -----------------------------------------------------------------------------------

/** Smallest decimal scale at which every value is an exact integer, or -1. */
function decimalScale(vs: Float64Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) {
    const v = vs[i]!;
    for (;;) {
      const p = POW10[s]!;
      const k = Math.round(v * p);
      if (k / p === v && Math.abs(k) <= MAX_SCALED && !(v === 0 && 1 / v < 0)) break;
      if (++s > MAX_SCALE || v !== v) return -1;
    }
  }
  return s;
}

export function writeValues(w: BitWriter, vs: Float64Array, from: number, to: number): void {
  const n = to - from;
  const s = decimalScale(vs, from, to);
  if (s >= 0 && n >= 2 && writeScaled(w, vs, from, to, s)) return;
  w.writeBits(VALUE_XOR, 2);
  writeXor(w, vs, from, to);
}

/**
 * Codes the values as integers at scale `s`, in the smallest of: deltas, deltas of deltas, rising
 * deltas (prefix codes) and packed deltas, which are the fastest to read and win when at most half
 * a bit a delta larger (a histogram's low buckets: a whole-day histogram_quantile took 5–8 % less
 * time; bench:tsdb's bytes a sample 0.983 → 0.991). Returns false (writing nothing) when a value
 * does not survive the round trip at that scale.
 */
function writeScaled(w: BitWriter, vs: Float64Array, from: number, to: number, s: number): boolean {
  const n = to - from;
  const p = POW10[s]!;
  ensureScratch(n);
  const ks = scratch2;
  const deltas = scratch;
  const dods = scratch3;
  // One pass for the integers, their deltas and deltas of deltas, and the counts that plan each
  // coding: packed (their range), rising (while none falls), deltas and deltas of deltas.
  let rising = true;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const k = Math.round(vs[from + i]! * p);
    if (k / p !== vs[from + i]) {
      RISING_COUNTS.clear();
      DELTA_COUNTS.clear();
      DOD_COUNTS.clear();
      return false;
    }
    ks[i] = k;
    if (i === 0) continue;
    const d = k - ks[i - 1]!;
    if (d < 0) rising = false;
    else if (rising) RISING_COUNTS.add(d);
    if (d < min) min = d;
    if (d > max) max = d;
    const zd = zigzag(d);
    deltas[i - 1] = zd;
    DELTA_COUNTS.add(zd);
    if (i === 1) continue;
    const zdd = zigzag(k - 2 * ks[i - 1]! + ks[i - 2]!);
    dods[i - 2] = zdd;
    DOD_COUNTS.add(zdd);
  }
  let risingPlan: StreamPlan | null = null;
  if (rising) risingPlan = finishPlan(RISING_COUNTS, n - 1, RISING_PLAN);
  else RISING_COUNTS.clear();
  const width = bitLength(max - min);
  const packedCost = packedBits(min, width, n - 1);
  const deltaPlan = finishPlan(DELTA_COUNTS, n - 1, DELTA_PLAN);
  const dodPlan = finishPlan(DOD_COUNTS, n - 2, DOD_PLAN);
  const dodBits = dodPlan.bits + 8; // its second value's varint, about
  const best = Math.min(deltaPlan.bits, dodBits, risingPlan?.bits ?? Infinity);
  if (packedCost <= best + (n - 1) / 2) {
    w.writeBits(VALUE_DELTA, 2);
    w.writeBits(SCALE_PACKED, 3);
    w.writeBits(s, 3);
    w.writeVar(zigzag(ks[0]!));
    w.writeVar(zigzag(min));
    w.writeBits(width, 5);
    for (let i = 1; i < n; i++) w.writeBits(ks[i]! - ks[i - 1]! - min, width);
    return true;
  }
  if (risingPlan && risingPlan.bits === best && risingPlan.bits < deltaPlan.bits && risingPlan.bits < dodBits) {
    w.writeBits(VALUE_RISING, 2);
    w.writeBits(s, 3);
    w.writeVar(zigzag(ks[0]!));
    for (let i = 1; i < n; i++) deltas[i - 1] = ks[i]! - ks[i - 1]!;
    writeStream(w, deltas, n - 1, risingPlan);
    return true;
  }
  const useDod = dodBits < deltaPlan.bits;
  w.writeBits(useDod ? VALUE_DOD : VALUE_DELTA, 2);
  w.writeBits(s, 3);
  w.writeVar(zigzag(ks[0]!));
  if (useDod) {
    w.writeVar(zigzag(ks[1]! - ks[0]!));
    writeStream(w, dods, n - 2, dodPlan);
  } else {
    writeStream(w, deltas, n - 1, deltaPlan);
  }
  return true;
}

/**
 * Packed deltas' stream size in bits (`count` deltas from `min` on, each excess in `width` bits);
 * Infinity when an excess is wider than MAX_PACKED_WIDTH. A number, not a plan object: chunks are
 * coded by the million.
 */
function packedBits(min: number, width: number, count: number): number {
  if (width > MAX_PACKED_WIDTH) return Infinity;
  return 3 + 8 * Math.max(1, Math.ceil(bitLength(zigzag(min)) / 7)) + 5 + count * width;
}

/**
 * Decodes n values into out[at…]; returns whether they were XOR-coded floats, the only coding that
 * can hold a NaN (a staleness marker). Sets lastDecode.rising.
 */
export function readValues(r: BitReader, out: Float64Array, at: number, n: number): boolean {
  const kind = r.readBits(2);
  if (kind === VALUE_XOR) {
    readXor(r, out, at, n);
    lastDecode.rising = n === 1 && out[at] === out[at]; // a NaN compares with nothing
    return true;
  }
  let scale = r.readBits(3);
  const packed = scale === SCALE_PACKED;
  if (packed) scale = r.readBits(3);
  const p = POW10[scale]!;
  const k = unzigzag(r.readVar());
  out[at] = k / p;
  if (packed) lastDecode.rising = readPacked(r, out, at + 1, n - 1, k, p);
  else if (kind === VALUE_DELTA) lastDecode.rising = readDeltas(r, out, at + 1, n - 1, k, p);
  else if (kind === VALUE_RISING) {
    readRising(r, out, at + 1, n - 1, k, p);
    lastDecode.rising = true;
  } else {
    const d = unzigzag(r.readVar());
    out[at + 1] = (k + d) / p;
    lastDecode.rising = readDeltasOfDeltas(r, out, at + 2, n - 2, k + d, d, p) && d >= 0;
  }
  return false;
}

/**
 * Decodes `count` packed deltas (SCALE_PACKED) into out[at…] as (k += delta) / p; returns whether
 * none is negative. Field i starts at a known bit, so successive samples' reads do not wait on each
 * other; a field and its bit offset within a byte fit 3 bytes up to width 17, 4 bytes up to
 * MAX_PACKED_WIDTH.
 */
function readPacked(r: BitReader, out: Float64Array, at: number, count: number, k: number, p: number): boolean {
  const min = unzigzag(r.readVar());
  const width = r.readBits(5);
  if (width > MAX_PACKED_WIDTH) throw new RangeError(`packed delta width ${width} is out of range`);
  const buf = r.buf;
  let pos = r.pos;
  const end = at + count;
  if (width <= 17 && count * (Math.abs(min) + 2 ** width) < 2 ** 31) {
    // The sum so far fits an int32, whose additions chain faster than doubles'.
    const mask = (1 << width) - 1;
    const top = 24 - width;
    let sum = 0;
    let i = at;
    // Several fields from each 4-byte read, written out per count: one loop over the fields of a
    // read ran 3.1–3.6 ns a sample against 2.3 (deltas under 50, micro-benchmark).
    if (width >= 1 && width <= 6) {
      // Four fields from each 4-byte read (bit offset ≤ 7 plus 24 bits fit 32).
      const first = 32 - width;
      for (; i + 3 < end; i += 4) {
        const x = pos >>> 3;
        const word = ((buf[x]! << 24) | (buf[x + 1]! << 16) | (buf[x + 2]! << 8) | buf[x + 3]!) << (pos & 7);
        pos += 4 * width;
        sum = (sum + min + (word >>> first)) | 0;
        out[i] = k + sum;
        sum = (sum + min + ((word >>> (first - width)) & mask)) | 0;
        out[i + 1] = k + sum;
        sum = (sum + min + ((word >>> (first - 2 * width)) & mask)) | 0;
        out[i + 2] = k + sum;
        sum = (sum + min + ((word >>> (first - 3 * width)) & mask)) | 0;
        out[i + 3] = k + sum;
      }
    } else if (width <= 8) {
      // Three fields from each 4-byte read (bit offset ≤ 7 plus 24 bits fit 32).
      const first = 32 - width;
      for (; i + 2 < end; i += 3) {
        const x = pos >>> 3;
        const word = ((buf[x]! << 24) | (buf[x + 1]! << 16) | (buf[x + 2]! << 8) | buf[x + 3]!) << (pos & 7);
        pos += 3 * width;
        // Masked: width 0 comes here, and a shift by 32 is no shift in JS.
        sum = (sum + min + ((word >>> first) & mask)) | 0;
        out[i] = k + sum;
        sum = (sum + min + ((word >>> (first - width)) & mask)) | 0;
        out[i + 1] = k + sum;
        sum = (sum + min + ((word >>> (first - 2 * width)) & mask)) | 0;
        out[i + 2] = k + sum;
      }
    } else if (width <= 12) {
      // Two fields from each 4-byte read.
      const first = 32 - width;
      for (; i + 1 < end; i += 2) {
        const x = pos >>> 3;
        const word = ((buf[x]! << 24) | (buf[x + 1]! << 16) | (buf[x + 2]! << 8) | buf[x + 3]!) << (pos & 7);
        pos += 2 * width;
        sum = (sum + min + (word >>> first)) | 0;
        out[i] = k + sum;
        sum = (sum + min + ((word >>> (first - width)) & mask)) | 0;
        out[i + 1] = k + sum;
      }
    }
    for (; i < end; i++) {
      const x = pos >>> 3;
      const field = (((buf[x]! << 16) | (buf[x + 1]! << 8) | buf[x + 2]!) >>> (top - (pos & 7))) & mask;
      pos += width;
      sum = (sum + min + field) | 0;
      out[i] = k + sum;
    }
  } else {
    const shift = 32 - width;
    for (let i = at; i < end; i++) {
      const x = pos >>> 3;
      const field = (((buf[x]! << 24) | (buf[x + 1]! << 16) | (buf[x + 2]! << 8) | buf[x + 3]!) << (pos & 7)) >>> shift;
      pos += width;
      out[i] = k += min + field;
    }
  }
  if (p !== 1) for (let i = at; i < end; i++) out[i] = out[i]! / p;
  r.pos = pos;
  return min >= 0; // no delta below zero: the values never decrease
}

/** Decodes `count` zigzagged deltas into out[at…] as (k += delta) / p; returns whether none is negative. */
function readDeltas(r: BitReader, out: Float64Array, at: number, count: number, k: number, p: number): boolean {
  if (r.readBit() === 1) {
    out.fill(k / p, at, at + count);
    return true;
  }
  const code = readCodeWidths(r);
  let rising = true;
  for (let i = 0; i < count; i++) {
    const delta = readCode(r, code);
    if (delta < 0) rising = false;
    k += delta;
    out[at + i] = p === 1 ? k : k / p;
  }
  return rising;
}

const CODE_WIDTH = Int32Array.of(1, 1, 0, 0);

/** Decodes `count` non-negative deltas (not zigzagged) into out[at…] as (k += delta) / p. */
function readRising(r: BitReader, out: Float64Array, at: number, count: number, k: number, p: number): void {
  if (r.readBit() === 1) {
    out.fill(k / p, at, at + count);
    return;
  }
  const { b, b2, shift } = readCodeWidths(r);
  const buf = r.buf;
  let pos = r.pos;
  if (b2 <= 30) {
    // The hottest loop of a query over counters: every code fits the 32 bits read at the bit
    // position, and the prefix picks its width and value arithmetically (no branch on it).
    const shift2 = 32 - b2;
    // Code width by its two leading bits: '0x' 1, '10' 2 + b, '11' 2 + b2.
    const width = CODE_WIDTH;
    width[2] = 2 + b;
    width[3] = 2 + b2;
    for (let i = 0; i < count; i++) {
      const x = pos >>> 3;
      const w = (((buf[x]! << 24) | (buf[x + 1]! << 16) | (buf[x + 2]! << 8) | buf[x + 3]!) << (pos & 7)) | (buf[x + 4]! >>> (8 - (pos & 7)));
      const zeros = Math.clz32(w);
      if (zeros >= 4) {
        // A run of '0' codes, no increase (sparse counters, a histogram's low buckets): filled at once.
        const run = Math.min(zeros, count - i);
        const v = p === 1 ? k : k / p;
        for (let j = 0; j < run; j++) out[at + i + j] = v;
        pos += run;
        i += run - 1;
        continue;
      }
      const top = w >>> 30;
      pos += width[top]!;
      const c1 = top >>> 1; // 0: '0'
      const c2 = top & c1; // 1: '11' (wide), else '10' (small)
      const rest = w << 2;
      const small = b === 0 ? 1 : (rest >>> shift) + 1;
      const wide = rest >>> shift2;
      k += c1 * (small + c2 * (wide - small));
      out[at + i] = p === 1 ? k : k / p;
    }
    r.pos = pos;
    return;
  }
  for (let i = 0; i < count; i++) {
    const x = pos >>> 3;
    const s = pos & 7;
    let w = (buf[x]! << 24) | (buf[x + 1]! << 16) | (buf[x + 2]! << 8) | buf[x + 3]!;
    if (s !== 0) w = (w << s) | (buf[x + 4]! >>> (8 - s));
    if (w >= 0) {
      pos += 1; // '0': no increase
    } else if ((w & 0x40000000) === 0) {
      k += b === 0 ? 1 : ((w << 2) >>> shift) + 1;
      pos += 2 + b;
    } else {
      r.pos = pos + 2;
      k += r.readWide(b2);
      pos = r.pos;
    }
    out[at + i] = p === 1 ? k : k / p;
  }
  r.pos = pos;
}

/** Decodes `count` zigzagged deltas-of-deltas into out[at…] as (k += d += dod) / p; returns whether no delta after the first `d` is negative. */
function readDeltasOfDeltas(r: BitReader, out: Float64Array, at: number, count: number, k: number, d: number, p: number): boolean {
  if (r.readBit() === 1) {
    for (let i = 0; i < count; i++) {
      k += d;
      out[at + i] = p === 1 ? k : k / p;
    }
    return d >= 0;
  }
  const code = readCodeWidths(r);
  let rising = true;
  for (let i = 0; i < count; i++) {
    d += readCode(r, code);
    if (d < 0) rising = false;
    k += d;
    out[at + i] = p === 1 ? k : k / p;
  }
  return rising;
}

/** The widths of a chunk's prefix code: `0` = zero, `10`+b bits = small, `11`+b2 bits = wide. */
interface CodeWidths {
  readonly b: number;
  readonly b2: number;
  readonly shift: number;
}

function readCodeWidths(r: BitReader): CodeWidths {
  const b = r.readBits(5);
  return { b, b2: r.readBits(6), shift: 32 - b };
}

/** Reads one prefix-coded, zigzagged integer (small enough for V8 to inline into the loops above). */
function readCode(r: BitReader, { b, b2, shift }: CodeWidths): number {
  const w = r.peek32();
  let z: number;
  if ((w & 0x80000000) === 0) {
    r.pos += 1;
    z = 0;
  } else if ((w & 0x40000000) === 0) {
    z = b === 0 ? 1 : ((w << 2) >>> shift) + 1;
    r.pos += 2 + b;
  } else {
    r.pos += 2;
    z = r.readWide(b2);
  }
  return z < 0x80000000 ? (z >>> 1) ^ -(z & 1) : unzigzag(z);
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

function writeXor(w: BitWriter, vs: Float64Array, from: number, to: number): void {
  f64[0] = vs[from]!;
  let ph = u32[1]!;
  let pl = u32[0]!;
  w.writeWord64(ph, pl);
  let lead = -1;
  let trail = 0;
  for (let i = from + 1; i < to; i++) {
    f64[0] = vs[i]!;
    const h = u32[1]!;
    const l = u32[0]!;
    const xh = (h ^ ph) >>> 0;
    const xl = (l ^ pl) >>> 0;
    ph = h;
    pl = l;
    if (xh === 0 && xl === 0) {
      w.writeBit(0);
      continue;
    }
    let ld = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl);
    const tr = xl !== 0 ? ctz32(xl) : 32 + ctz32(xh);
    if (ld > 31) ld = 31;
    if (lead >= 0 && ld >= lead && tr >= trail) {
      w.writeBits(2, 2);
      writeShifted(w, xh, xl, trail, 64 - lead - trail);
    } else {
      lead = ld;
      trail = tr;
      const sig = 64 - ld - tr;
      w.writeBits(3, 2);
      w.writeBits(ld, 5);
      w.writeBits(sig & 63, 6);
      writeShifted(w, xh, xl, tr, sig);
    }
  }
}

/** Writes `sig` bits of the 64-bit (xh:xl) shifted right by `tr`. */
function writeShifted(w: BitWriter, xh: number, xl: number, tr: number, sig: number): void {
  let hi: number, lo: number;
  if (tr === 0) {
    hi = xh;
    lo = xl;
  } else if (tr < 32) {
    lo = ((xl >>> tr) | (xh << (32 - tr))) >>> 0;
    hi = xh >>> tr;
  } else {
    lo = xh >>> (tr - 32);
    hi = 0;
  }
  if (sig <= 32) w.writeBits(lo & (sig === 32 ? 0xffffffff : (1 << sig) - 1), sig);
  else {
    w.writeBits(hi, sig - 32);
    w.writeBits(lo, 32);
  }
}

function readXor(r: BitReader, out: Float64Array, at: number, n: number): void {
  let ph = r.readBits(32);
  let pl = r.readBits(32);
  u32[1] = ph;
  u32[0] = pl;
  out[at] = f64[0]!;
  let lead = 0;
  let trail = 0;
  for (let i = 1; i < n; i++) {
    if (r.readBit() === 1) {
      if (r.readBit() === 1) {
        lead = r.readBits(5);
        const sig = r.readBits(6);
        trail = 64 - lead - (sig === 0 ? 64 : sig);
      }
      const sig = 64 - lead - trail;
      let hi = 0;
      let lo: number;
      if (sig <= 32) lo = r.readBits(sig);
      else {
        hi = r.readBits(sig - 32);
        lo = r.readBits(32);
      }
      // Shift (hi:lo) left by trail.
      let xh: number, xl: number;
      if (trail === 0) {
        xh = hi;
        xl = lo;
      } else if (trail < 32) {
        xh = ((hi << trail) | (lo >>> (32 - trail))) >>> 0;
        xl = (lo << trail) >>> 0;
      } else {
        xh = (lo << (trail - 32)) >>> 0;
        xl = 0;
      }
      ph = (ph ^ xh) >>> 0;
      pl = (pl ^ xl) >>> 0;
      u32[1] = ph;
      u32[0] = pl;
    }
    out[at + i] = f64[0]!;
  }
}

// ---- chunk ------------------------------------------------------------------------------------

/**
 * Encodes samples [from, to) (timestamps strictly ascending, all >= bucketStart), their values
 * from `vFrom` of `vs` (the head's raw block holds both in one array).
 */
export function encodeChunk(w: BitWriter, ts: Float64Array, vs: Float64Array, from: number, to: number, bucketStart: number, vFrom = from): void {
  const n = to - from;
  w.writeVar(n);
  w.writeVar(ts[from]! - bucketStart);
  if (n >= 2) {
    w.writeVar(ts[from + 1]! - ts[from]!);
    ensureScratch(n);
    const dods = scratch;
    for (let i = 2; i < n; i++) {
      const z = zigzag(ts[from + i]! - 2 * ts[from + i - 1]! + ts[from + i - 2]!);
      dods[i - 2] = z;
      TIMES_COUNTS.add(z);
    }
    writeStream(w, dods, n - 2, finishPlan(TIMES_COUNTS, n - 2, TIMES_PLAN));
  }
  writeValues(w, vs, vFrom, vFrom + n);
}

/**
 * What the chunk decodeChunkInto decoded last is known to be from its coding (left here, not
 * returned, as the count is):
 *  - mayHoldNaN: its values are XOR-coded floats; the other codings hold integers at a scale, never
 *    a NaN, so a reader can skip looking for staleness markers in them;
 *  - rising: its values never decrease (rising deltas, or packed deltas none below zero), so a
 *    counter function can skip looking for resets in them.
 */
export const lastDecode = { mayHoldNaN: true, rising: false };

/** The readers of the functions below, reused (none of them runs inside another). */
const headerReader = new BitReader(new Uint8Array(0), 0);
const chunkReader = new BitReader(new Uint8Array(0), 0);

/** Number of samples in the chunk at `byteOffset`. */
export function chunkSampleCount(buf: Uint8Array, byteOffset: number): number {
  return headerReader.reset(buf, byteOffset).readVar();
}

/** The first timestamp of the chunk at `byteOffset`. */
export function chunkFirstTime(buf: Uint8Array, byteOffset: number, bucketStart: number): number {
  const r = headerReader.reset(buf, byteOffset);
  r.readVar();
  return bucketStart + r.readVar();
}

// Regular chunks' timestamps by first time, step and count, in a small direct-mapped cache: every
// series of one scrape target shares its timestamps, so a query computes each run once and copies
// it for the target's other series (a copy of a row's 480 timestamps takes a fifth of filling them).
const RUN_SLOTS = 64;
const runFirst = new Float64Array(RUN_SLOTS).fill(NaN);
const runStep = new Float64Array(RUN_SLOTS);
const runTimes: Float64Array[] = Array.from({ length: RUN_SLOTS }, () => new Float64Array(0));

/**
 * Runs shorter than this are written in place, not cached: the head's chunks are short and start
 * where each series' pack fell due (phased by id), so a cache of them missed 3 times in 10 and
 * allocated a run on each miss (62,500 arrays a chart over 100,000 head series, 140 ms); a loop is
 * as fast as the copy for them.
 */
const RUN_MIN = 32;

/** ts[at + i] = t + i * d for i < n (a regular scrape: all deltas of deltas zero). */
function regularTimes(ts: Float64Array, at: number, t: number, d: number, n: number): void {
  if (n < RUN_MIN) {
    for (let i = 0; i < n; i++) ts[at + i] = t + i * d;
    return;
  }
  const slot = (((t % 65521) * 31 + d + n) >>> 0) % RUN_SLOTS;
  let run = runTimes[slot]!;
  if (runFirst[slot] !== t || runStep[slot] !== d || run.length !== n) {
    // Each from the first: no chain of additions.
    if (run.length !== n) runTimes[slot] = run = new Float64Array(n);
    for (let i = 0; i < n; i++) run[i] = t + i * d;
    runFirst[slot] = t;
    runStep[slot] = d;
  }
  ts.set(run, at);
}

/** Decodes the chunk at `byteOffset` into ts/vs from index `at`; returns the sample count. */
export function decodeChunkInto(buf: Uint8Array, byteOffset: number, bucketStart: number, ts: Float64Array, vs: Float64Array, at: number): number {
  const r = chunkReader.reset(buf, byteOffset);
  const n = r.readVar();
  const t = bucketStart + r.readVar();
  ts[at] = t;
  if (n >= 2) {
    const d = r.readVar();
    if (r.readBit() === 1) regularTimes(ts, at, t, d, n);
    else {
      ts[at + 1] = t + d;
      r.pos--;
      readDeltasOfDeltas(r, ts, at + 2, n - 2, t + d, d, 1);
    }
  }
  lastDecode.mayHoldNaN = readValues(r, vs, at, n);
  return n;
}

/** How the chunk at `byteOffset` codes its values (for tests and diagnostics). */
export function chunkValueCoding(buf: Uint8Array, byteOffset: number): 'xor' | 'delta' | 'dod' | 'rising' | 'packed' {
  const r = new BitReader(buf, byteOffset);
  const n = r.readVar();
  r.readVar();
  if (n >= 2) {
    r.readVar();
    if (r.readBit() === 0) {
      const code = readCodeWidths(r);
      for (let i = 2; i < n; i++) readCode(r, code);
    }
  }
  const kind = r.readBits(2);
  if (kind === VALUE_XOR) return 'xor';
  if (r.readBits(3) === SCALE_PACKED) return 'packed';
  return kind === VALUE_DELTA ? 'delta' : kind === VALUE_DOD ? 'dod' : 'rising';
}

export interface DecodedChunk {
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
}

export function decodeChunk(buf: Uint8Array, byteOffset: number, bucketStart: number): DecodedChunk {
  const n = chunkSampleCount(buf, byteOffset);
  const timestamps = new Float64Array(n);
  const values = new Float64Array(n);
  decodeChunkInto(buf, byteOffset, bucketStart, timestamps, values, 0);
  return { timestamps, values };
}
