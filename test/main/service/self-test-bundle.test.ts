// The built self-test thread (dist/self-test-worker.mjs, spawned beside the server's bundle) loads
// on its own and does the work: a store verified with data keys handed over as raw copies (wiped
// once sent), a file searched for the stored strings.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../../../shared/labels';
import { openAppliance, workspaceDir } from '../../../main/core/open-appliance';
import { cipherKey } from '../../../main/crypto/cipher';
import { controlDatabase } from '../../../main/retention/key-lifecycle';
import type { SelfTestEvent, SelfTestWork } from '../../../main/service/self-test-worker';
import { ensureBuilt, ROOT } from '../cli/bin-process';
import { tempKeyFileDir } from '../core/key-file-dir';

describe('dist/self-test-worker.mjs', () => {
  const made = tempKeyFileDir('ampule-selftest-bundle-');
  afterAll(() => rmSync(made.dir, { recursive: true, force: true }));

  it('verifies a store and finds a stored string in a file, as a worker of its own', async () => {
    ensureBuilt();
    const dataDir = join(made.dir, 'data');
    const app = await openAppliance({ dataDir, masterKeyFile: made.keyFile });
    const id = app.control.createWorkspace({ alias: 'bundle' }).workspaceId;
    const a = app.store(id).appender();
    a.append(0, labelsFromRecord({ __name__: 'bundle_metric', team: 'observability' }), 1_700_000_000_000, 1);
    a.commit();
    const key = new Uint8Array(cipherKey(controlDatabase(app).dataKeys(id)!.get(1)));
    app.close();
    const clear = join(made.dir, 'clear.txt');
    const text = 'a note that names the team observability in clear';
    writeFileSync(clear, text);

    const work: SelfTestWork = { needles: [Buffer.from('observability')], stores: [{ workspaceId: id, path: join(workspaceDir(dataDir, id), 'tsdb.db'), keys: [[1, key]] }], files: [clear] };
    const worker = new Worker(join(ROOT, 'dist', 'self-test-worker.mjs'), { workerData: { ampuleSelfTest: true, work }, transferList: [key.buffer as ArrayBuffer] });
    const events: SelfTestEvent[] = [];
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (e: SelfTestEvent) => {
        events.push(e);
        if (events.length === 2) resolve();
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the worker exited (${code}) after ${events.length} event(s)`)));
    });
    await worker.terminate();
    expect(events).toEqual([
      { kind: 'store', damage: null },
      { kind: 'file', bytes: text.length, found: true, unreadable: null },
    ]);
    expect(key.byteLength).toBe(0); // moved to the worker, not copied
  }, 120_000);
});
