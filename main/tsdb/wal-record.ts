// A log record: one committed append batch, or the checkpoint that replaces the log after a
// compaction. Plaintext: version, new series (id, labels), series states (id, minT, lastT,
// lastV), samples (id delta, t delta, raw float64 value so stale markers stay bit-exact).
import type { Label } from '../../shared/labels';
import { ByteReader, ByteWriter } from './bytes';
import type { SeriesEntry } from './series-page';

const VERSION = 1;

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

export interface LogRecord {
  readonly defs: SeriesEntry[];
  readonly states: SeriesState[];
  readonly samples: SampleBatch;
}

export function encodeLogRecord(
  w: ByteWriter,
  defs: readonly SeriesEntry[],
  states: readonly SeriesState[],
  samples: SampleBatch,
): Buffer {
  w.reset();
  w.byte(VERSION);
  w.varint(defs.length);
  for (const d of defs) {
    w.varint(d.id);
    w.varint(d.labels.length);
    for (const l of d.labels) {
      w.string(l.name);
      w.string(l.value);
    }
  }
  w.varint(states.length);
  for (const s of states) {
    w.varint(s.id);
    w.float64(s.minT);
    w.float64(s.lastT);
    w.float64(s.lastV);
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
    w.float64(values[i]!);
    prevId = id;
    prevT = t;
  }
  return w.toBuffer();
}

export function decodeLogRecord(buf: Buffer): LogRecord {
  const r = new ByteReader(buf);
  const version = r.byte();
  if (version !== VERSION) throw new RangeError(`unknown log record version ${version}`);
  const defs: SeriesEntry[] = [];
  for (let n = r.varint(); n > 0; n--) {
    const id = r.varint();
    const labels: Label[] = [];
    for (let k = r.varint(); k > 0; k--) labels.push({ name: r.string(), value: r.string() });
    defs.push({ id, labels });
  }
  const states: SeriesState[] = [];
  for (let n = r.varint(); n > 0; n--) {
    states.push({ id: r.varint(), minT: r.float64(), lastT: r.float64(), lastV: r.float64() });
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
    values[i] = r.float64();
  }
  return { defs, states, samples: { ids, timestamps, values, count } };
}
