// bench:checkpoint — what the store's maintenance costs the ingest thread: the longest stall of its
// event loop (a 1 ms timer's largest gap) and the whole run's time, written in turns as the
// appliance writes it, against the peer, the same work in one transaction (as it was written
// before), on a second store loaded the same way, in the same run:
//  - a head checkpoint: Tsdb.checkpointIfDue (a part a turn) against compact({ checkpoint: true });
//  - a cut of the complete buckets into chunk rows, then a checkpoint: Tsdb.maintain (a series group
//    a turn, then a part a turn) against compact() (stores of 10-minute buckets, so that the 25
//    minutes loaded hold complete ones);
//  - deleting one series for good: Tsdb.deleteSeries (the head cut a series group a turn, then the
//    deletion's transaction, then the freed pages a few MB a turn) against the same steps with no
//    turn of the event loop between them (each step awaits a resolved promise), which is what one
//    call did before.
// Every store has checkpointed once after the first round (its series persisted), so what is
// measured is the steady work of a busy head.
//   --series N (100,000)  --samples N per series (100)  --repeat N (3, taking turns)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelsFromRecord } from '../../shared/labels';
import { openTsdb, type Tsdb } from '../../main/tsdb';
import { TestKeys } from '../main/tsdb/helpers';
import { numberArg } from './args';
import { timed } from './stall';

const SERIES = numberArg('series', 100_000);
const SAMPLES = numberArg('samples', 100);
const REPEAT = numberArg('repeat', 3);

const dir = mkdtempSync(join(tmpdir(), 'ampule-bench-checkpoint-'));
const labels = Array.from({ length: SERIES }, (_, s) => labelsFromRecord({ __name__: 'bench_metric', instance: `host-${s}:9100`, job: `job-${s % 10}` }));
const t0 = Date.now() - SAMPLES * 15_000;

/** A store of SERIES series × SAMPLES samples at 15 s, checkpointed after its first sample: the rest is log. */
function loaded(name: string, bucketMs?: number): Tsdb {
  const db = openTsdb({ path: join(dir, `${name}.db`), workspaceId: `bench-${name}`, keys: new TestKeys({ 1: randomBytes(32) }), ...(bucketMs ? { bucketMs } : {}) });
  const refs = new Array<number>(SERIES).fill(0);
  for (let i = 0; i < SAMPLES; i++) {
    const a = db.appender();
    for (let s = 0; s < SERIES; s++) refs[s] = a.append(refs[s]!, labels[s]!, t0 + i * 15_000, Math.round(Math.random() * 1000));
    a.commit();
    if (i === 0) db.compact({ checkpoint: true });
  }
  return db;
}

const fmt = (n: number): string => n.toFixed(1);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Work {
  readonly name: string;
  readonly bucketMs?: number;
  /** Samples the work deletes (a store that loses any other is a bug, not a figure). */
  readonly deletes?: number;
  inTurns(db: Tsdb): Promise<unknown>;
  once(db: Tsdb): unknown;
}
const oneSeries = [{ type: '=' as const, name: 'instance', value: `host-${Math.floor(SERIES / 8)}:9100` }];
const works: Work[] = [
  { name: 'checkpoint', inTurns: (db) => db.checkpointIfDue(), once: (db) => db.compact({ checkpoint: true }) },
  { name: 'cut and checkpoint', bucketMs: 10 * 60_000, inTurns: (db) => db.maintain(), once: (db) => db.compact() },
  { name: 'delete one series', deletes: SAMPLES, inTurns: (db) => db.deleteSeries(oneSeries, -Infinity, Infinity), once: (db) => db.deleteSeries(oneSeries, -Infinity, Infinity, async () => {}) },
];
try {
  for (const work of works) {
    const rows: { turns: [number, number]; once: [number, number] }[] = [];
    for (let r = 0; r < REPEAT; r++) {
      const measure = async (kind: 'turns' | 'once'): Promise<[number, number]> => {
        const db = loaded(`${works.indexOf(work)}-${kind}-${r}`, work.bucketMs);
        try {
          const samplesBefore = db.stats().samples;
          const result = await timed(async () => (kind === 'turns' ? await work.inTurns(db) : await work.once(db)));
          const lost = samplesBefore - db.stats().samples;
          if (lost !== (work.deletes ?? 0)) throw new Error(`${work.name} took ${lost} samples away`);
          return result;
        } finally {
          db.close();
        }
      };
      // Taking turns which goes first: the machine's load drifts.
      const row = r % 2 === 0 ? { turns: await measure('turns'), once: await measure('once') } : { once: await measure('once'), turns: await measure('turns') };
      rows.push(row);
      console.log(`${work.name}, run ${r + 1}: in turns ${fmt(row.turns[0])} ms, longest stall ${fmt(row.turns[1])} ms; in one transaction ${fmt(row.once[0])} ms, stall ${fmt(row.once[1])} ms`);
    }
    const stallTurns = median(rows.map((x) => x.turns[1]));
    const stallOnce = median(rows.map((x) => x.once[1]));
    console.log(
      `${work.name}, ${SERIES} series × ${SAMPLES} samples, medians of ${REPEAT}: longest stall in turns ${fmt(stallTurns)} ms against ${fmt(stallOnce)} ms in one transaction ` +
        `(${(stallTurns / stallOnce).toFixed(3)}×); the whole run ${fmt(median(rows.map((x) => x.turns[0])))} against ${fmt(median(rows.map((x) => x.once[0])))} ms\n`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
