// The log's two record kinds.
//  - A batch: one committed append — new series (id, labels) and samples (id delta, t delta,
//    value as a short integer/decimal code or the raw float64, so stale markers stay bit-exact).
//  - The head state, rewritten at each compaction: every series' minT/lastT/lastV, and which log
//    samples are already in chunk rows (those in records up to `coveredSeq` below bucket `cutBucket`),
//    so log records only go once all their samples are cut, and the head is never re-logged.
//    Version 2 is also the head checkpoint: it carries every head sample (see head-checkpoint.ts),
//    so every log record up to `coveredSeq` goes with it and replay reads only later records.
import type { Label } from '../../shared/labels';
import { ByteReader, ByteWriter, readValue, writeValue } from './bytes';
import type { SeriesEntry } from './series-page';
import type { FloatHistogram } from './histogram';
import { readHistogram, writeHistogram } from './histogram-record';

const BATCH_VERSION = 1;
const STATE_VERSION = 1;
const CHECKPOINT_VERSION = 2;
/** The head's samples in `parts` rows of their own (Storage.headPart), numbered from 0. */
const PARTS_VERSION = 3;
/**
 * As PARTS_VERSION, numbered from `firstPart` (a checkpoint written in turns beside the last one's
 * parts), the last `stateParts` of them holding the series' states (none inside the head state).
 */
const PARTS_FROM_VERSION = 4;
/** A part of series' states (encodeStatesPart). */
const STATES_PART_VERSION = 1;

export interface SeriesState {
  readonly id: number;
  readonly minT: number;
  readonly lastT: number;
  readonly lastV: number;
}

export interface SampleBatch {
  readonly ids: ArrayLike<number>;
  readonly timestamps: ArrayLike<number>;
  readonly values: ArrayLike<number>;
  readonly count: number;
}

/** Native-histogram samples of a batch (an optional trailing section of the record). */
export interface HistogramBatch {
  readonly ids: ArrayLike<number>;
  readonly timestamps: ArrayLike<number>;
  readonly values: readonly FloatHistogram[];
  /** How many float samples of the batch were appended before each histogram (keeps the arrival order). */
  readonly at: ArrayLike<number>;
  readonly count: number;
}

export interface BatchRecord {
  readonly defs: SeriesEntry[];
  readonly samples: { ids: Float64Array; timestamps: Float64Array; values: Float64Array; count: number };
  readonly histograms: { ids: Float64Array; timestamps: Float64Array; values: FloatHistogram[]; at: Float64Array; count: number };
}

export interface HeadState {
  readonly cutBucket: number;
  readonly coveredSeq: number;
  readonly states: SeriesState[];
  /** The head's samples at `coveredSeq` (a chunk row relative to `base`), inside the state: version 2. */
  readonly samples?: { readonly base: number; readonly row: Buffer };
  /** The head's samples at `coveredSeq` in this many rows of their own (./head-checkpoint's lists): version 3. */
  readonly parts?: number;
  /** The number of the first of those rows (version 4; 0 before). */
  readonly firstPart?: number;
  /** How many of the last of those rows hold series' states, not samples (version 4). */
  readonly stateParts?: number;
}

/** Whether a head state holds the head's samples (version 1 held only the series' states). */
export function holdsSamples(hs: HeadState): boolean {
  return hs.samples !== undefined || hs.parts !== undefined;
}

export function encodeBatch(w: ByteWriter, defs: readonly SeriesEntry[], samples: SampleBatch, histograms?: HistogramBatch): Buffer {
  w.reset();
  w.byte(BATCH_VERSION);
  w.varint(defs.length);
  for (const d of defs) {
    w.varint(d.id);
    w.varint(d.labels.length);
    for (const l of d.labels) {
      w.string(l.name);
      w.string(l.value);
    }
  }
  const { ids, timestamps, values, count } = samples;
  w.varint(count);
  let prevId = 0;
  let prevT = 0;
  for (let i = 0; i < count; i++) {
    const id = ids[i]!;
    const t = timestamps[i]!;
    w.svarint(id - prevId);
    w.svarint(t - prevT);
    writeValue(w, values[i]!);
    prevId = id;
    prevT = t;
  }
  // Histograms trail the floats, so records without them are unchanged.
  if (histograms && histograms.count > 0) {
    w.varint(histograms.count);
    prevId = 0;
    prevT = 0;
    let prevAt = 0;
    for (let i = 0; i < histograms.count; i++) {
      const id = histograms.ids[i]!;
      const t = histograms.timestamps[i]!;
      w.svarint(id - prevId);
      w.svarint(t - prevT);
      w.varint(histograms.at[i]! - prevAt);
      prevAt = histograms.at[i]!;
      writeHistogram(w, histograms.values[i]!);
      prevId = id;
      prevT = t;
    }
  }
  // A view: the caller seals it or hands it to SQLite (which copies) before the writer is reused.
  return w.written();
}

export function decodeBatch(buf: Buffer): BatchRecord {
  const r = new ByteReader(buf);
  const version = r.byte();
  if (version !== BATCH_VERSION) throw new RangeError(`unknown log record version ${version}`);
  const defs: SeriesEntry[] = [];
  for (let n = r.varint(); n > 0; n--) {
    const id = r.varint();
    const labels: Label[] = [];
    for (let k = r.varint(); k > 0; k--) labels.push({ name: r.string(), value: r.string() });
    defs.push({ id, labels });
  }
  const count = r.varint();
  const ids = new Float64Array(count);
  const timestamps = new Float64Array(count);
  const values = new Float64Array(count);
  let id = 0;
  let t = 0;
  for (let i = 0; i < count; i++) {
    id += r.svarint();
    t += r.svarint();
    ids[i] = id;
    timestamps[i] = t;
    values[i] = readValue(r);
  }
  const hCount = r.done ? 0 : r.varint();
  const hIds = new Float64Array(hCount);
  const hTs = new Float64Array(hCount);
  const hValues: FloatHistogram[] = [];
  const hAt = new Float64Array(hCount);
  id = 0;
  t = 0;
  let at = 0;
  for (let i = 0; i < hCount; i++) {
    id += r.svarint();
    t += r.svarint();
    at += r.varint();
    if (at > count) throw new RangeError('histogram position past the float samples');
    hIds[i] = id;
    hTs[i] = t;
    hAt[i] = at;
    hValues.push(readHistogram(r));
  }
  if (!r.done) throw new RangeError('log record has trailing bytes');
  return { defs, samples: { ids, timestamps, values, count }, histograms: { ids: hIds, timestamps: hTs, values: hValues, at: hAt, count: hCount } };
}

/** Every series' state as columns, as a checkpoint takes them (no object a series). */
export interface SeriesStateColumns {
  readonly count: number;
  readonly ids: Float64Array;
  readonly minT: Float64Array;
  readonly lastT: Float64Array;
  readonly lastV: Float64Array;
}

/** A head state of version 4: the series' states are in the last `stateParts` of its `parts`. */
export function encodeHeadState(cutBucket: number, coveredSeq: number, firstPart: number, parts: number, stateParts: number): Buffer {
  const w = new ByteWriter(32);
  w.byte(PARTS_FROM_VERSION);
  w.svarint(cutBucket);
  w.varint(coveredSeq);
  w.varint(0);
  w.varint(parts);
  w.varint(firstPart);
  w.varint(stateParts);
  return w.toBuffer();
}

/** Series [from, to) of `states` as a part of their own. */
export function encodeStatesPart(states: SeriesStateColumns, from: number, to: number): Buffer {
  const w = new ByteWriter((to - from) * 30 + 16);
  w.byte(STATES_PART_VERSION);
  w.varint(to - from);
  let prev = 0;
  for (let i = from; i < to; i++) {
    const id = states.ids[i]!;
    w.varint(id - prev);
    prev = id;
    w.float64(states.minT[i]!);
    w.float64(states.lastT[i]!);
    w.float64(states.lastV[i]!);
  }
  return w.written(); // the writer is this part's own
}

export function decodeStatesPart(buf: Buffer): SeriesState[] {
  const r = new ByteReader(buf);
  if (r.byte() !== STATES_PART_VERSION) throw new RangeError('not a part of series states');
  const states = readStates(r);
  if (!r.done) throw new RangeError('series states part has trailing bytes');
  return states;
}

function readStates(r: ByteReader): SeriesState[] {
  const states: SeriesState[] = [];
  let id = 0;
  for (let n = r.varint(); n > 0; n--) {
    id += r.varint();
    states.push({ id, minT: r.float64(), lastT: r.float64(), lastV: r.float64() });
  }
  return states;
}

export function decodeHeadState(buf: Buffer): HeadState {
  const r = new ByteReader(buf);
  const version = r.byte();
  if (version !== STATE_VERSION && version !== CHECKPOINT_VERSION && version !== PARTS_VERSION && version !== PARTS_FROM_VERSION) throw new RangeError(`unknown head state version ${version}`);
  const cutBucket = r.svarint();
  const coveredSeq = r.varint();
  const states = readStates(r);
  if (version === STATE_VERSION) return { cutBucket, coveredSeq, states };
  if (version === PARTS_VERSION) return { cutBucket, coveredSeq, states, parts: r.varint() };
  if (version === PARTS_FROM_VERSION) return { cutBucket, coveredSeq, states, parts: r.varint(), firstPart: r.varint(), stateParts: r.varint() };
  const base = r.svarint();
  const n = r.varint();
  if (r.pos + n > buf.length) throw new RangeError('head checkpoint truncated');
  const row = buf.subarray(r.pos, r.pos + n);
  return { cutBucket, coveredSeq, states, samples: { base, row } };
}
