// The durable forwarding queue on a real appliance (real control.db, real encrypted store, real TLS
// receiver): everything committed arrives, in order per series; the position survives a stop and a
// receiver that refuses for a while; records compacted before they were read still arrive (read
// back from chunk rows); a backfill sends history; nothing secret is in control.db in clear.
import Database from 'better-sqlite3';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Appliance } from '../../../main/core/appliance';
import { openAppliance, workspaceDir } from '../../../main/core/open-appliance';
import { DestinationStore } from '../../../main/forward/destination-store';
import { destinationStoreOf, startForwarding, type Forwarding } from '../../../main/host/forwarding';
import { labelsFromRecord, labelsKey } from '../../../shared/labels';
import { tempKeyFileDir } from '../core/key-file-dir';
import { decodeBody } from './decode';
import { makeTls, startReceiver, type TlsFixture } from './tls-fixture';

let tls: TlsFixture;
beforeAll(async () => {
  tls = await makeTls();
});
afterAll(() => tls.cleanup());

let dir: string;
let app: Appliance;
let fwd: Forwarding | null = null;
beforeEach(async () => {
  const made = tempKeyFileDir('ampule-forward-queue-');
  dir = made.dir;
  app = await openAppliance({ dataDir: join(dir, 'data'), masterKeyFile: made.keyFile, maintenanceIntervalMs: 100 });
});
afterEach(async () => {
  await fwd?.close();
  fwd = null;
  app.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A receiver that keeps every sample it acknowledged, keyed by series; `refuse` answers 503 while
 * true, and to every request on a connection made before it turned false: a stopped sender's last
 * retry, still unread in its socket when the test let the receiver up again (this process runs
 * both), would otherwise be taken, and then rightly sent again by the restarted sender.
 */
async function receiver() {
  const got = new Map<string, Map<number, number>>();
  let acked = 0;
  let dups = 0;
  let refusing = false;
  let upSince = 0;
  const state = {
    get refuse(): boolean {
      return refusing;
    },
    set refuse(on: boolean) {
      if (refusing && !on) upSince = performance.now();
      refusing = on;
    },
  };
  const rx = await startReceiver(tls, (r, res) => {
    if (refusing || r.connected < upSince) return void res.writeHead(503).end('down for maintenance');
    for (const s of decodeBody(r.body, 1)) {
      const k = labelsKey(s.labels);
      let m = got.get(k);
      if (!m) got.set(k, (m = new Map()));
      for (const x of s.samples) {
        if (m.has(x.t)) {
          acked--; // a duplicate: counted once
          dups++;
        }
        m.set(x.t, x.v);
        acked++;
      }
    }
    res.writeHead(204).end();
  });
  return { rx, got, state, count: () => acked, dups: () => dups };
}

function definition(url: URL, extra = ''): string {
  return `name: edge\nurl: ${url.href}\nbasic_auth: { username: fwd, password: pw-marker-q7 }\ntls_config: { ca: ${JSON.stringify(tls.caPem)} }\nqueue_config: { max_samples_per_send: 100, batch_send_deadline: 50ms, min_backoff: 10ms, max_backoff: 50ms }\n${extra}`;
}

/** Commits `n` samples of `series` series starting at t0, step ms apart, in commits of `perCommit`. */
function write(ws: string, t0: number, n: number, series: number, step = 1000, perCommit = 50): number {
  const a = app.store(ws).appender();
  let k = 0;
  for (let i = 0; k < n; i++) {
    for (let s = 0; s < series && k < n; s++, k++) {
      a.append(0, labelsFromRecord({ __name__: 'fwd_test', s: String(s) }), t0 + i * step, i * 10 + s);
      if (k % perCommit === perCommit - 1) a.commit();
    }
  }
  a.commit();
  return n;
}

async function until(what: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function start(ws: string, url: URL, extra = '', since?: number): string {
  const store = destinationStoreOf(app);
  const log = app.store(ws).committed();
  const now = Date.now();
  return store.add(ws, definition(url, extra), since === undefined ? { seq: log.nextSeq(), ackedMaxT: now } : { seq: log.nextSeq(), ackedMaxT: null, backfill: { from: since, to: now, next: since } }).id;
}

describe('durable forwarding queue', () => {
  it('forwards every committed sample, keeps order per series, and reports status', async () => {
    const { rx, got, count } = await receiver();
    try {
      const ws = app.control.createWorkspace({ alias: 'q' }).workspaceId;
      start(ws, rx.url('/api/v1/write'));
      fwd = startForwarding(app);
      // All in the past (300 steps of 1 s end 5 min ago): a lag of 0 then means every batch is
      // acknowledged, not only that the newest acknowledged sample lies in the future.
      const t0 = Date.now() - 600_000;
      const n = write(ws, t0, 3000, 10);
      await until(() => count() === n);
      expect(got.size).toBe(10);
      expect(got.get(labelsKey(labelsFromRecord({ __name__: 'fwd_test', s: '3' })))!.get(t0 + 5000)).toBe(53);
      await until(() => fwd!.status(ws)[0]!.backlogRecords === 0 && fwd!.status(ws)[0]!.lagSeconds === 0);
      const st = fwd.status(ws)[0]!;
      expect(st).toMatchObject({ name: 'edge', state: 'running', tls: { customCa: true } });
      expect(st.samples.sent).toBe(n);
      // Neither the URL's host nor the password is in control.db in clear.
      const db = readFileSync(join(dir, 'data', 'control.db'));
      expect(db.includes(Buffer.from('pw-marker-q7'))).toBe(false);
      expect(JSON.stringify(destinationStoreOf(app).list(ws))).not.toContain('pw-marker-q7');
    } finally {
      await rx.close();
    }
  });

  it('resumes from its persisted position after a stop while the receiver refused: nothing missing', async () => {
    const { rx, got, state, count, dups } = await receiver();
    try {
      const ws = app.control.createWorkspace({ alias: 'q' }).workspaceId;
      const id = start(ws, rx.url('/api/v1/write'));
      fwd = startForwarding(app);
      const t0 = Date.now() - 60_000;
      write(ws, t0, 1000, 5);
      await until(() => count() === 1000);
      // The receiver counts before it answers: wait until the sender has seen every 204 too, or a
      // batch still unanswered at the stop is (rightly) sent again.
      await until(() => fwd!.status(ws)[0]!.samples.sent === 1000);
      state.refuse = true;
      write(ws, t0 + 400_000, 1000, 5);
      await until(() => fwd!.status(ws)[0]!.samples.failed > 0);
      expect(fwd.status(ws)[0]!.lastError?.message).toMatch(/503/);
      expect(fwd.status(ws)[0]!.lastError?.message).not.toContain('pw-marker-q7');
      await fwd.close();
      const pos = destinationStoreOf(app).position(ws, id);
      expect(pos.seq).toBeLessThan(app.store(ws).committed().nextSeq());
      state.refuse = false;
      fwd = startForwarding(app);
      await until(() => count() === 2000);
      expect([...got.values()].reduce((a, m) => a + m.size, 0)).toBe(2000);
      // The per-shard frontiers skip what was acknowledged: nothing arrived twice.
      expect(dups()).toBe(0);
    } finally {
      await rx.close();
    }
  });

  it('writes a position whose write failed at the next chance, even when nothing moved since', async () => {
    const { rx, count, dups } = await receiver();
    const ws = app.control.createWorkspace({ alias: 'q' }).workspaceId;
    const id = start(ws, rx.url('/api/v1/write'));
    // A fake for a fault: control.db busy for every position write while `busy` (real contention
    // would block the event loop for the 5 s busy timeout each time).
    const real = Object.getOwnPropertyDescriptor(DestinationStore.prototype, 'setPosition')!;
    let busy = true;
    let refused = 0;
    DestinationStore.prototype.setPosition = function (this: DestinationStore, ...a) {
      if (busy) {
        refused++;
        throw new Error('SQLITE_BUSY: database is locked');
      }
      return (real.value as DestinationStore['setPosition']).apply(this, a);
    };
    try {
      fwd = startForwarding(app);
      const t0 = Date.now() - 600_000;
      write(ws, t0, 500, 5);
      // Every sample acknowledged and the reader past the last record (on a loaded machine the
      // acknowledgement can come before the reader moves on).
      await until(() => fwd!.status(ws)[0]!.samples.sent === 500 && fwd!.status(ws)[0]!.backlogRecords === 0);
      expect(refused).toBeGreaterThan(0);
      busy = false;
      await fwd.close(); // nothing moved since the last failed write: the stop writes it
      fwd = null;
      expect(destinationStoreOf(app).position(ws, id).seq).toBe(app.store(ws).committed().nextSeq());
      fwd = startForwarding(app);
      write(ws, t0 + 200_000, 100, 5);
      await until(() => count() === 600);
      expect(dups()).toBe(0);
    } finally {
      Object.defineProperty(DestinationStore.prototype, 'setPosition', real);
      await rx.close();
    }
  });

  it('resends a batch the receiver took but never answered in a batch of its own, so new samples are not refused with it', async () => {
    // A receiver as strict as Prometheus: a request with any sample older than its series' newest is
    // refused whole (400 "out of order sample", nothing appended). `hang` keeps the samples and never answers.
    const got = new Map<string, number[]>();
    const state = { hang: false, refused: 0 };
    const hung: import('node:http').ServerResponse[] = [];
    const rx = await startReceiver(tls, (r, res) => {
      const series = decodeBody(r.body, 1);
      const old = series.some((s) => s.samples.some((x) => x.t < (got.get(labelsKey(s.labels))?.at(-1) ?? -Infinity)));
      if (old) {
        state.refused++;
        return void res.writeHead(400).end('out of order sample');
      }
      for (const s of series) got.set(labelsKey(s.labels), [...(got.get(labelsKey(s.labels)) ?? []), ...s.samples.map((x) => x.t)]);
      if (state.hang) hung.push(res);
      else res.writeHead(204).end();
    });
    try {
      const ws = app.control.createWorkspace({ alias: 'q' }).workspaceId;
      start(ws, rx.url('/api/v1/write'));
      fwd = startForwarding(app);
      const t0 = Date.now() - 600_000;
      state.hang = true;
      write(ws, t0, 30, 3, 1000, 30); // one batch of 30 (cut by its deadline): taken, never answered
      await until(() => hung.length === 1);
      await fwd.close(); // as a crash would leave it: the batch sent, its answer never seen
      fwd = null;
      for (const res of hung) res.socket?.destroy();
      state.hang = false;
      write(ws, t0 + 100_000, 30, 3, 1000, 30);
      fwd = startForwarding(app);
      // The first 30 again, alone: refused as out of order (the receiver has them); the new 30 go through.
      await until(() => [...got.values()].reduce((a, ts) => a + ts.length, 0) === 60);
      expect(got.size).toBe(3);
      for (const ts of got.values()) expect(ts).toEqual(Array.from({ length: 20 }, (_, i) => t0 + (i < 10 ? i : 90 + i) * 1000));
      await until(() => fwd!.status(ws)[0]!.backlogRecords === 0 && fwd!.status(ws)[0]!.samples.sent + fwd!.status(ws)[0]!.samples.dropped === 60);
      expect(state.refused).toBe(1);
    } finally {
      await rx.close();
    }
  });

  it('sends records compaction deleted before they were read, from chunk rows', async () => {
    const { rx, count, got } = await receiver();
    try {
      const ws = app.control.createWorkspace({ alias: 'q' }).workspaceId;
      start(ws, rx.url('/api/v1/write'));
      // 4 h of data at 60 s in the past hours: the maintenance compaction (every 100 ms) cuts the
      // first buckets and deletes their log records before the forwarder starts.
      const t0 = Date.now() - 4 * 3600_000;
      const n = write(ws, t0, 2 * 240, 2, 60_000, 20);
      await until(() => app.store(ws).committed().read(0, 1000).truncatedBefore !== undefined);
      fwd = startForwarding(app);
      await until(() => count() === n);
      expect([...got.values()].every((m) => m.size === 240)).toBe(true);
    } finally {
      await rx.close();
    }
  });

  it('loses nothing, and sends nothing twice, when a head checkpoint happens while the destination is down', async () => {
    const { rx, got, state, count, dups } = await receiver();
    try {
      const ws = app.control.createWorkspace({ alias: 'q' }).workspaceId;
      const id = start(ws, rx.url('/api/v1/write'));
      fwd = startForwarding(app);
      const t0 = Date.now() - 3600_000;
      write(ws, t0, 1000, 50);
      // Acknowledged on our side too: a batch the receiver took but whose answer the stop cut off is
      // resent (at least once), which this test is not about.
      await until(() => count() === 1000 && fwd!.status(ws)[0]!.samples.sent === 1000);
      state.refuse = true;
      await fwd.close();
      fwd = null;
      const pos = destinationStoreOf(app).position(ws, id);
      // 110,000 samples in the head (recent, nothing to cut): the maintenance compaction writes a
      // checkpoint once 100,000 are logged since the last one; the records it covers stay for us.
      write(ws, t0 + 20_000, 110_000, 50, 1000, 1000);
      const file = new Database(join(workspaceDir(join(dir, 'data'), ws), 'tsdb.db'), { readonly: true });
      const checkpointSeq = (): number => (file.prepare('SELECT coalesce(max(seq), 0) AS n FROM head_state').get() as { n: number }).n;
      try {
        await until(() => checkpointSeq() > pos.seq + 100);
      } finally {
        file.close();
      }
      const log = app.store(ws).committed();
      expect(log.read(pos.seq, 10).truncatedBefore).toBeUndefined();
      write(ws, t0 + 20_000 + 2200 * 1000, 500, 50); // logged after the checkpoint
      state.refuse = false;
      fwd = startForwarding(app);
      const want = 1000 / 50 + 110_000 / 50 + 500 / 50;
      await until(() => got.size === 50 && [...got.values()].every((m) => m.size === want), 60_000);
      const k = labelsKey(labelsFromRecord({ __name__: 'fwd_test', s: '7' }));
      expect(got.get(k)!.get(t0 + 20_000 + 1234 * 1000)).toBe(1234 * 10 + 7);
      expect(dups()).toBe(0);
    } finally {
      await rx.close();
    }
  }, 90_000);

  it('backfills history since T in time order, then follows the log', async () => {
    const { rx, count } = await receiver();
    try {
      const ws = app.control.createWorkspace({ alias: 'q' }).workspaceId;
      const t0 = Date.now() - 3600_000;
      write(ws, t0, 600, 3, 5000);
      start(ws, rx.url('/api/v1/write'), '', t0);
      fwd = startForwarding(app);
      await until(() => count() === 600);
      write(ws, Date.now(), 30, 3);
      await until(() => count() === 630);
      await until(() => fwd!.status(ws)[0]!.state === 'running');
      // Time order: every batch's first timestamp is no older than the one before it (per series).
      const firsts = rx.received.map((r) => decodeBody(r.body, 1)).flatMap((ss) => ss.map((s) => [labelsKey(s.labels), s.samples[0]!.t] as const));
      const last = new Map<string, number>();
      for (const [k, t] of firsts) {
        expect(t).toBeGreaterThanOrEqual(last.get(k) ?? -Infinity);
        last.set(k, t);
      }
    } finally {
      await rx.close();
    }
  });
});
