// bench:protection — what the data-protection checks cost the ingest thread: the longest stall of
// its event loop (a 1 ms timer's largest gap) and the whole run's time, for the self-test (store
// verification and plaintext scan), the first sensitive-data scan of a workspace, the activity
// log's hash-chain verification and a data-key rotation. The peer is the same work on the ingest
// thread, measured in the same run: the self-test's in-thread fallback, the others in one turn (as before).
//   --series N (10,000)  --samples N per series (480: 2 h at 15 s)  --records N activity records (100,000)
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelsFromRecord } from '../../shared/labels';
import { controlDatabase } from '../../main/retention/key-lifecycle';
import { openAppliance, workspaceDir } from '../../main/core/open-appliance';
import { PlaintextSelfTest } from '../../main/service/self-test';
import { openTsdb } from '../../main/tsdb';
import { scanWorkspace } from '../../main/discovery/scan';
import { numberArg } from './args';
import { timed } from './stall';

const SERIES = numberArg('series', 10_000);
const SAMPLES = numberArg('samples', 480);
const RECORDS = numberArg('records', 100_000);

const dir = mkdtempSync(join(tmpdir(), 'ampule-bench-protection-'));
try {
  const keyFile = join(dir, 'master.key');
  writeFileSync(keyFile, randomBytes(32), { mode: 0o600 });
  const app = await openAppliance({ dataDir: join(dir, 'data'), masterKeyFile: keyFile });
  const id = app.control.createWorkspace({ alias: 'bench-protection' }).workspaceId;
  app.store(id);
  app.closeStore(id);
  const path = join(workspaceDir(join(dir, 'data'), id), 'tsdb.db');
  const db = openTsdb({ path, workspaceId: id, keys: controlDatabase(app).dataKeys(id) });
  // Distinct instance names, as a fleet has: the self-test looks for 5,000 of them.
  const labels = Array.from({ length: SERIES }, (_, s) => labelsFromRecord({ __name__: 'bench_metric', instance: `host-${s}.example.internal:9100`, job: `job-${s % 10}` }));
  const refs = new Array<number>(SERIES).fill(0);
  const t0 = Date.now() - SAMPLES * 15_000;
  for (let i = 0; i < SAMPLES; i++) {
    const a = db.appender();
    for (let s = 0; s < SERIES; s++) refs[s] = a.append(refs[s]!, labels[s]!, t0 + i * 15_000, Math.round(Math.random() * 1000));
    a.commit();
  }
  db.compact({ all: true });
  db.close();
  const control = controlDatabase(app).db;
  control.pragma('synchronous = OFF'); // the records' durability is not what is measured
  for (let i = 0; i < RECORDS; i++) app.activity.append({ action: 'token.create', outcome: 'ok', actor: 'cli', detail: `tokenId=${i.toString(16)}` });
  control.pragma('synchronous = FULL');
  app.store(id); // open, as on a serving appliance
  console.log(`${SERIES} series × ${SAMPLES} samples: store ${(statSync(path).size / 1e6).toFixed(1)} MB; ${RECORDS} activity records`);

  const selfTest = async (spawn?: ConstructorParameters<typeof PlaintextSelfTest>[2]) => {
    const test = new PlaintextSelfTest(app, () => {}, spawn);
    const [took, stall] = await timed(async () => {
      test.start();
      while (test.current().state === 'running') await new Promise((r) => setTimeout(r, 2));
    });
    if (test.current().state !== 'passed') throw new Error(`self-test ${test.current().state}: ${test.current().message}`);
    return [took, stall] as const;
  };
  const [ownTook, ownStall] = await selfTest();
  const [hereTook, hereStall] = await selfTest(() => null);
  const workspace = app.control.describeWorkspace(id);
  const [scanTook, scanStall] = await timed(() => scanWorkspace(workspace, app.store(id).querier()));
  const [scanOneTook, scanOneStall] = await timed(() => scanWorkspace(workspace, app.store(id).querier(), undefined, Infinity));
  const intact = app.activity.chainPoint();
  const [turnsTook, turnsStall] = await timed(() => app.activity.verifyInTurns());
  // The checklist between full runs: only what was appended since the last intact one.
  for (let i = 0; i < 10; i++) app.activity.append({ action: 'token.create', outcome: 'ok', actor: 'cli', detail: `tokenId=new-${i}` });
  const [sinceTook, sinceStall] = await timed(() => app.activity.verifyInTurns(undefined, intact));
  const [oneTook, oneStall] = await timed(async () => app.activity.verify());
  // Data-key rotation (last: it changes the store), a new generation each time.
  const rotation = async (between?: () => Promise<void>) => {
    app.closeStore(id);
    const control = controlDatabase(app);
    control.keys.rotate(id, new Date().toISOString());
    const store = openTsdb({ path, workspaceId: id, keys: control.dataKeys(id) });
    try {
      return await timed(() => store.reencrypt(undefined, between));
    } finally {
      store.close();
    }
  };
  const [rotTook, rotStall] = await rotation();
  const [rotOneTook, rotOneStall] = await rotation(() => Promise.resolve());
  app.close();

  const ms = (x: number) => `${x.toFixed(1)} ms`;
  console.log('\ncheck | on | took | longest stall of the ingest thread |');
  console.log(`self-test | its own thread | ${ms(ownTook)} | ${ms(ownStall)} |`);
  console.log(`self-test | the ingest thread, in slices (the fallback) | ${ms(hereTook)} | ${ms(hereStall)} |`);
  console.log(`sensitive-data scan | in turns | ${ms(scanTook)} | ${ms(scanStall)} |`);
  console.log(`sensitive-data scan | one turn | ${ms(scanOneTook)} | ${ms(scanOneStall)} |`);
  console.log(`activity chain | in turns | ${ms(turnsTook)} | ${ms(turnsStall)} |`);
  console.log(`activity chain | one turn | ${ms(oneTook)} | ${ms(oneStall)} |`);
  console.log(`activity chain | since the last intact run (10 records appended; the checklist between full runs) | ${ms(sinceTook)} | ${ms(sinceStall)} |`);
  console.log(`data-key rotation | in turns | ${ms(rotTook)} | ${ms(rotStall)} |`);
  console.log(`data-key rotation | one turn | ${ms(rotOneTook)} | ${ms(rotOneStall)} |`);
  console.log(`\nlongest stall: self-test ${(ownStall / hereStall).toFixed(3)}× its in-thread fallback; sensitive-data scan ${(scanStall / scanOneStall).toFixed(3)}× one turn; chain ${(turnsStall / oneStall).toFixed(3)}× one turn; rotation ${(rotStall / rotOneStall).toFixed(3)}× one turn`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
