// Group commit against the real encrypted store: concurrent requests sharing one appender are
// answered only after one shared commit, and a failing commit fails all of them, nothing stored.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createCipher } from '../../../main/crypto/cipher';
import { DEFAULT_LIMITS } from '../../../main/ingest/limits';
import { Ingester } from '../../../main/ingest/remote-write';
import { openTsdb, type DataKeys, type Tsdb } from '../../../main/tsdb/index';
import type { Appender } from '../../../main/tsdb/types';
import { encodeV1, snappy, V1_TYPE, type SeriesInput } from './encode';

const NOW = 1_790_000_000_000;
const REQUESTS = 5;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function openStore(dir = mkdtempSync(join(tmpdir(), 'ampule-group-')), keys?: DataKeys): { db: Tsdb; dir: string; keys: DataKeys } {
  if (!keys) {
    const cipher = createCipher(randomBytes(32));
    keys = { current: 1, get: () => cipher };
  }
  const db = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'ws-grouptest', keys });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => db.close());
  return { db, dir, keys };
}

/**
 * The store's appender with each commit's real fsync held until the test calls release() (test
 * timing, not a fault): the oldest held one finishes first.
 */
function heldFsyncs(db: Tsdb): { appender: Appender; held: { commits: number; release(): void } } {
  const inner = db.appender();
  const waiting: (() => void)[] = [];
  const held = { commits: 0, release: () => waiting.shift()!() };
  const appender: Appender = {
    append: (...a) => inner.append(...a),
    appendHistogram: (...a) => inner.appendHistogram(...a),
    commit: () => inner.commit(),
    rollback: () => inner.rollback(),
    commitAsync: () => {
      held.commits++;
      const synced = inner.commitAsync!();
      return new Promise<void>((resolve, reject) => waiting.push(() => void synced.then(resolve, reject)));
    },
  };
  return { appender, held };
}

/** Counting wrapper around the store's real appender; `failCommit` is a test fault (a real failed fsync cannot be made here). */
class CountingAppender implements Appender {
  commits = 0;
  rollbacks = 0;
  readonly events: string[] = [];
  constructor(
    private readonly inner: Appender,
    private readonly failCommit = false,
  ) {}
  append(ref: number, labels: Parameters<Appender['append']>[1], t: number, v: number): number {
    return this.inner.append(ref, labels, t, v);
  }
  appendHistogram(...a: Parameters<Appender['appendHistogram']>): number {
    return this.inner.appendHistogram(...a);
  }
  commit(): void {
    this.commits++;
    this.events.push('commit');
    if (this.failCommit) throw new Error('fsync failed (test fault)');
    this.inner.commit();
  }
  rollback(): void {
    this.rollbacks++;
    this.inner.rollback();
  }
}

function request(i: number): Buffer {
  const input: SeriesInput[] = [
    { labels: [['__name__', 'up'], ['instance', `host-${i}`]], samples: [{ t: NOW, v: i }] },
    // One series shared by every request, at different timestamps: all of them accepted.
    { labels: [['__name__', 'shared']], samples: [{ t: NOW + i, v: i }] },
  ];
  // Request 0 carries an invalid series too: refused alone, the valid ones of that request kept.
  if (i === 0) input.push({ labels: [['__name__', 'bad name!']], samples: [{ t: NOW, v: 1 }] });
  return snappy(encodeV1(input));
}

function sendAll(appender: Appender) {
  const ingester = new Ingester(appender);
  return Array.from({ length: REQUESTS }, (_, i) =>
    ingester.ingest({ body: request(i), contentType: V1_TYPE, contentEncoding: 'snappy', version: undefined }, DEFAULT_LIMITS, NOW),
  );
}

const upSeries = (db: Tsdb) => db.querier().select([{ type: '=', name: '__name__', value: 'up' }], NOW - 1, NOW + 1);
const sharedSeries = (db: Tsdb) => db.querier().select([{ type: '=', name: '__name__', value: 'shared' }], NOW - 1, NOW + REQUESTS);

describe('group commit', () => {
  it('answers concurrent requests only after one shared commit, keeping per-request partial acceptance', async () => {
    const { db, dir, keys } = openStore();
    const appender = new CountingAppender(db.appender());
    const pending = sendAll(appender);
    pending.forEach((p, i) => void p.then(() => appender.events.push(`answer ${i}`)));
    expect(appender.commits).toBe(0); // all appended in this turn, none committed yet
    const results = await Promise.all(pending);
    await Promise.resolve(); // let the answer callbacks run
    expect(appender.commits).toBe(1);
    expect(appender.events[0]).toBe('commit');
    expect(appender.events.slice(1).sort()).toEqual(Array.from({ length: REQUESTS }, (_, i) => `answer ${i}`));
    expect(results[0]).toMatchObject({ status: 400, samplesWritten: 2 });
    expect(results[0]!.rejected.map((r) => r.reason)).toEqual(['invalid_labels']);
    for (const r of results.slice(1)) expect(r).toMatchObject({ status: 204, samplesWritten: 2 });

    // Durable: everything answered is there after a reopen.
    db.close();
    const { db: reopened } = openStore(dir, keys);
    expect(upSeries(reopened)).toHaveLength(REQUESTS);
    expect([...sharedSeries(reopened)[0]!.timestamps]).toEqual(Array.from({ length: REQUESTS }, (_, i) => NOW + i));
  });

  it('answers every request of a failed commit with an error and stores nothing', async () => {
    const { db, dir, keys } = openStore();
    const appender = new CountingAppender(db.appender(), true);
    const outcomes = await Promise.allSettled(sendAll(appender));
    expect(appender.commits).toBe(1);
    expect(appender.rollbacks).toBe(1);
    expect(outcomes.map((o) => o.status)).toEqual(Array(REQUESTS).fill('rejected'));
    for (const o of outcomes) expect(String((o as PromiseRejectedResult).reason)).toContain('fsync failed');
    expect(upSeries(db)).toHaveLength(0);
    expect(sharedSeries(db)).toHaveLength(0);

    db.close();
    const { db: reopened } = openStore(dir, keys);
    expect(upSeries(reopened)).toHaveLength(0);
    expect(reopened.stats().series).toBe(0);
  });

  it('commits the requests appended during a running fsync together, once it ends, and answers each after its own fsync', async () => {
    const { db, dir, keys } = openStore();
    const { appender, held } = heldFsyncs(db);
    const ingester = new Ingester(appender);
    const send = (i: number) => ingester.ingest({ body: request(i + 1), contentType: V1_TYPE, contentEncoding: 'snappy', version: undefined }, DEFAULT_LIMITS, NOW);
    const turn = () => new Promise((r) => setImmediate(r));
    const answered: number[] = [];
    const first = send(0).then(() => answered.push(0));
    await turn();
    expect(held.commits).toBe(1);
    // Two more requests, in later turns, while the first commit's fsync runs: no commit for them yet.
    const later = [send(1).then(() => answered.push(1))];
    await turn();
    later.push(send(2).then(() => answered.push(2)));
    await turn();
    expect(held.commits).toBe(1);
    expect(answered).toEqual([]);
    held.release();
    await first;
    await turn();
    // Both in one commit, made as soon as the first fsync ended; answered only after theirs.
    expect(held.commits).toBe(2);
    expect(answered).toEqual([0]);
    held.release();
    await Promise.all(later);
    expect(answered.sort()).toEqual([0, 1, 2]);
    expect(held.commits).toBe(2);

    db.close();
    const { db: reopened } = openStore(dir, keys);
    expect(upSeries(reopened)).toHaveLength(3);
    expect([...sharedSeries(reopened)[0]!.timestamps]).toEqual([NOW + 1, NOW + 2, NOW + 3]);
  });

  it('counts a request as in progress until it is answered, refused ones too (the ingest gap maintenance waits for)', async () => {
    const { db } = openStore();
    const { appender, held } = heldFsyncs(db);
    const ingester = new Ingester(appender);
    expect(ingester.idleMs()).toBe(Infinity);
    const answered = ingester.ingest({ body: request(1), contentType: V1_TYPE, contentEncoding: 'snappy', version: undefined }, DEFAULT_LIMITS, NOW);
    await new Promise((r) => setTimeout(r, 30));
    expect(ingester.idleMs()).toBe(0); // appended, its fsync still running
    held.release();
    expect((await answered).status).toBe(204);
    await new Promise((r) => setTimeout(r, 30));
    expect(ingester.idleMs()).toBeGreaterThanOrEqual(25);
    const refused = await ingester.ingest({ body: request(2), contentType: 'text/plain', contentEncoding: 'snappy', version: undefined }, DEFAULT_LIMITS, NOW);
    expect(refused.status).toBe(415);
    expect(ingester.idleMs()).toBeLessThan(25);
  });
});
