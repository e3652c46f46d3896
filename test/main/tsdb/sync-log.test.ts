// Commits whose fsync runs off the event loop (Storage.transactionUnsynced + syncLog), as remote
// write's group commit uses them: other writers keep synchronous=FULL, one fsync covers every
// commit made before it starts, and what was acknowledged is there after a reopen. (A power cut
// cannot be made here; that the WAL file is fsynced is what SQLite's own FULL mode does.)
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCipher } from '../../../main/crypto/cipher';
import { DEFAULT_LIMITS } from '../../../main/ingest/limits';
import { Ingester } from '../../../main/ingest/remote-write';
import { openTsdb, type DataKeys } from '../../../main/tsdb/index';
import { items, Storage } from '../../../main/tsdb/storage';
import { encodeV1, snappy, V1_TYPE } from '../ingest/encode';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function setup(): { dir: string; keys: DataKeys } {
  const dir = mkdtempSync(join(tmpdir(), 'ampule-synclog-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const cipher = createCipher(randomBytes(32));
  return { dir, keys: { current: 1, get: () => cipher } };
}

describe('log commits synced off the event loop', () => {
  it('switches to synchronous=NORMAL for that one commit only, and shares one queued fsync among the callers behind a running one', async () => {
    const { dir, keys } = setup();
    const storage = new Storage(join(dir, 'ws.db'), 'ws-sync', keys, { bucketMs: 7_200_000, seriesPerPart: 256 });
    cleanups.push(() => storage.close());
    const synchronous = () => storage.db.pragma('synchronous', { simple: true });
    expect(synchronous()).toBe(2); // FULL
    let seen = -1;
    storage.transactionUnsynced(() => {
      seen = synchronous() as number;
      storage.putLog(1, 0, storage.seal(items.log(1), Buffer.from('one')));
    });
    expect(seen).toBe(1); // NORMAL inside
    expect(synchronous()).toBe(2); // FULL again for every other writer
    // A failing body switches back too.
    expect(() => storage.transactionUnsynced(() => { throw new Error('boom'); })).toThrow('boom');
    expect(synchronous()).toBe(2);

    const first = storage.syncLog();
    storage.transactionUnsynced(() => storage.putLog(2, 0, storage.seal(items.log(2), Buffer.from('two'))));
    const second = storage.syncLog();
    const third = storage.syncLog();
    expect(second).toBe(third); // both wait for the one fsync queued behind the running one
    expect(second).not.toBe(first);
    await Promise.all([first, second, third]);
    const after = storage.syncLog(); // none running: a new one
    expect(after).not.toBe(second);
    await after;
  });

  it('answers remote write once synced, and everything answered is in the store after a reopen', async () => {
    const { dir, keys } = setup();
    const db = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'ws-sync', keys });
    const appender = db.appender();
    expect(typeof appender.commitAsync).toBe('function'); // the path group commit takes
    const ingester = new Ingester(appender);
    const now = 1_790_000_000_000;
    // Three waves: each one's requests share a commit; the waves overlap the previous fsync.
    const answers: Promise<unknown>[] = [];
    for (let wave = 0; wave < 3; wave++) {
      for (let i = 0; i < 4; i++) {
        const body = snappy(encodeV1([{ labels: [['__name__', 'up'], ['i', String(i)]], samples: [{ t: now + wave * 1000, v: wave }] }]));
        answers.push(ingester.ingest({ body, contentType: V1_TYPE, contentEncoding: 'snappy', version: undefined }, DEFAULT_LIMITS, now));
      }
      await new Promise((r) => setImmediate(r));
    }
    const results = (await Promise.all(answers)) as { status: number }[];
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(204));
    db.close();
    const reopened = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'ws-sync', keys });
    cleanups.push(() => reopened.close());
    const series = reopened.querier().select([{ type: '=', name: '__name__', value: 'up' }], now, now + 5000);
    expect(series).toHaveLength(4);
    for (const s of series) expect([...s.values]).toEqual([0, 1, 2]);
  });
});
