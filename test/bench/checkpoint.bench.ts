// bench:checkpoint — what a head checkpoint costs the ingest thread: the longest stall of its event
// loop (a 1 ms timer's largest gap) and the checkpoint's whole time, written in turns as the
// appliance writes it (Tsdb.checkpointIfDue: a part a turn), against the peer, the same checkpoint
// in one transaction (compact({ checkpoint: true }), as every checkpoint was written before), on a
// second store loaded the same way, in the same run. Both stores have checkpointed once after the
// first round (their series persisted), so what is measured is the steady checkpoint of a busy head.
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
function loaded(name: string): Tsdb {
  const db = openTsdb({ path: join(dir, `${name}.db`), workspaceId: `bench-${name}`, keys: new TestKeys({ 1: randomBytes(32) }) });
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
const rows: { turns: [number, number]; once: [number, number] }[] = [];
try {
  for (let r = 0; r < REPEAT; r++) {
    const inTurns = async (): Promise<[number, number]> => {
      const db = loaded(`turns-${r}`);
      try {
        return await timed(() => db.checkpointIfDue());
      } finally {
        db.close();
      }
    };
    const once = async (): Promise<[number, number]> => {
      const db = loaded(`once-${r}`);
      try {
        return await timed(async () => db.compact({ checkpoint: true }));
      } finally {
        db.close();
      }
    };
    // Taking turns which goes first: the machine's load drifts.
    const row = r % 2 === 0 ? { turns: await inTurns(), once: await once() } : { once: await once(), turns: await inTurns() };
    rows.push(row);
    console.log(`run ${r + 1}: in turns ${fmt(row.turns[0])} ms, longest stall ${fmt(row.turns[1])} ms; in one transaction ${fmt(row.once[0])} ms, stall ${fmt(row.once[1])} ms`);
  }
  const stallTurns = median(rows.map((x) => x.turns[1]));
  const stallOnce = median(rows.map((x) => x.once[1]));
  console.log(
    `\n${SERIES} series × ${SAMPLES} samples, medians of ${REPEAT}: longest stall in turns ${fmt(stallTurns)} ms against ${fmt(stallOnce)} ms in one transaction ` +
      `(${(stallTurns / stallOnce).toFixed(3)}×); whole checkpoint ${fmt(median(rows.map((x) => x.turns[0])))} against ${fmt(median(rows.map((x) => x.once[0])))} ms`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
