// The self-test reads on a thread of its own: the ingest thread's event loop keeps turning while
// the stores are verified, and the same work is done on the ingest thread, a slice a turn, where
// that thread cannot start or dies. Real appliance, real encrypted stores and files.
import Database from 'better-sqlite3';
import { closeSync, ftruncateSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SelfTestProgress } from '../../../shared/api';
import { labelsFromRecord } from '../../../shared/labels';
import type { Appliance } from '../../../main/core/appliance';
import { openAppliance, workspaceDir } from '../../../main/core/open-appliance';
import { controlDatabase } from '../../../main/retention/key-lifecycle';
import { PlaintextSelfTest } from '../../../main/service/self-test';
import { spawnSelfTestWorker } from '../../../main/service/self-test-worker';
import { openTsdb } from '../../../main/tsdb';
import { tempKeyFileDir } from '../core/key-file-dir';

const T0 = 1_700_000_000_000;
const SERIES = 3000;
const SAMPLES = 120;

interface Run {
  readonly progress: SelfTestProgress;
  /** Turns of this thread's event loop seen while the progress said the stores were being verified. */
  readonly turnsVerifying: number;
  readonly records: string[];
}

describe('the self-test off the ingest thread', () => {
  const made = tempKeyFileDir('ampule-selftest-thread-');
  const dataDir = join(made.dir, 'data');
  let app: Appliance;
  const ws: string[] = [];
  const file = (id: string) => join(workspaceDir(dataDir, id), 'tsdb.db');

  beforeAll(async () => {
    app = await openAppliance({ dataDir, masterKeyFile: made.keyFile });
    for (const alias of ['alpha-workspace', 'beta-workspace']) {
      const id = app.control.createWorkspace({ alias }).workspaceId;
      ws.push(id);
      app.store(id);
      app.closeStore(id);
      const db = openTsdb({ path: file(id), workspaceId: id, keys: controlDatabase(app).dataKeys(id) });
      const refs = new Array<number>(SERIES).fill(0);
      const labels = refs.map((_, s) => labelsFromRecord({ __name__: 'thread_metric', instance: `node-${s}.example.internal:9100` }));
      for (let i = 0; i < SAMPLES; i++) {
        const a = db.appender();
        for (let s = 0; s < SERIES; s++) refs[s] = a.append(refs[s]!, labels[s]!, T0 + i * 15_000, (s * i) % 97);
        a.commit();
      }
      db.compact({ all: true });
      db.close();
    }
  });
  afterAll(() => {
    app?.close();
    rmSync(made.dir, { recursive: true, force: true });
  });

  async function run(spawn?: typeof spawnSelfTestWorker): Promise<Run> {
    const records: string[] = [];
    const test = new PlaintextSelfTest(app, (outcome, detail) => records.push(`${outcome}: ${detail}`), spawn);
    test.start();
    let turnsVerifying = 0;
    while (test.current().state === 'running') {
      if (test.current().message.startsWith('verifying workspace stores')) turnsVerifying++;
      await new Promise((r) => setImmediate(r));
    }
    return { progress: test.current(), turnsVerifying, records };
  }

  it('keeps the event loop turning while it verifies the stores, and passes them', async () => {
    const { progress, turnsVerifying, records } = await run();
    expect(progress.state, progress.message).toBe('passed');
    expect(progress.damage).toEqual([]);
    expect(progress.filesScanned).toBe(progress.filesTotal);
    expect(records).toEqual([expect.stringMatching(/^passed: \d+ files, \d+ strings, 0 with plaintext, 0 damaged store\(s\)$/)]);
    // On this thread each store took one turn; a store of 360,000 samples takes thousands of turns to verify elsewhere.
    expect(turnsVerifying).toBeGreaterThan(10 * ws.length);
  });

  it('does the same work on this thread where the reading thread cannot start, or dies at once', async () => {
    // A packaged app that refuses to load the bundle as a worker cannot be produced here: both are fakes of that.
    for (const spawn of [() => null, () => new Worker('process.exit(3)', { eval: true })]) {
      const { progress, records } = await run(spawn);
      expect(progress.state, progress.message).toBe('passed');
      expect(progress.filesScanned).toBe(progress.filesTotal);
      expect(progress.bytesScanned).toBeGreaterThan(0);
      expect(records).toHaveLength(1);
    }
  });

  // The scan that read each file at once skipped any over 2 GiB as if it had gone, and passed.
  it('finds a stored string in a file over 2 GiB (sparse) in the data directory, and names the file', async () => {
    const large = join(dataDir, 'stray-export.bin');
    const size = 2 ** 31 + (1 << 20);
    const fd = openSync(large, 'w');
    try {
      ftruncateSync(fd, size);
      writeSync(fd, Buffer.from('alias=beta-workspace'), 0, 20, size - 4096);
    } finally {
      closeSync(fd);
    }
    try {
      const { progress } = await run();
      expect(progress.state).toBe('failed');
      expect(progress.findings).toEqual(['stray-export.bin']);
      expect(progress.bytesScanned).toBeGreaterThan(size);
      expect(progress.message).toMatch(/stored strings found in clear in 1 file/);
    } finally {
      rmSync(large);
    }
  }, 120_000);

  it('reports a damaged chunk row from this thread too', async () => {
    const [alpha] = ws as [string];
    app.closeStore(alpha);
    const raw = new Database(file(alpha));
    const row = raw.prepare('SELECT bucket, part, data FROM chunks LIMIT 1').get() as { bucket: number; part: number; data: Buffer };
    row.data[row.data.length >> 1]! ^= 0x20;
    raw.prepare('UPDATE chunks SET data = ? WHERE bucket = ? AND part = ?').run(row.data, row.bucket, row.part);
    raw.close();
    for (const spawn of [undefined, () => null]) {
      const { progress } = await run(spawn);
      expect(progress.state).toBe('failed');
      expect(progress.damage).toEqual([expect.stringMatching(new RegExp(`^Workspace ${alpha}: .*ciphertext failed authentication`))]);
    }
  });
});
