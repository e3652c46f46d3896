import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteWriteSender } from '../../../main/forward/sender';
import { ShardPool } from '../../../main/forward/shard-pool';
import { hashLabels } from '../../../main/forward/queue';
import { labelsFromRecord, type Labels } from '../../../shared/labels';
import { decodeBody, type DecodedSeries } from './decode';
import { makeTls, startReceiver, type TlsFixture } from './tls-fixture';

let tls: TlsFixture;
beforeAll(async () => {
  tls = await makeTls();
});
afterAll(() => tls.cleanup());

type Rx = Awaited<ReturnType<typeof startReceiver>>;

async function setup(hold?: (series: DecodedSeries[]) => boolean) {
  const requests: DecodedSeries[][] = [];
  const held: (() => void)[] = [];
  let releasing = false;
  const rx: Rx = await startReceiver(tls, (r, res) => {
    const series = decodeBody(r.body, 1);
    const done = () => {
      requests.push(series);
      res.writeHead(204).end();
    };
    if (hold && !releasing && hold(series)) held.push(done);
    else done();
  });
  const sender = new RemoteWriteSender({ url: rx.url('/w'), message: 'prometheus.WriteRequest', auth: { kind: 'none' }, ca: tls.caPem, timeoutMs: 10_000, minBackoffMs: 10, maxBackoffMs: 50, retryOn429: true, maxConnections: 8 });
  return {
    rx,
    sender,
    requests,
    release: () => {
      releasing = true;
      for (const h of held.splice(0)) h();
    },
    heldCount: () => held.length,
    async close() {
      sender.close();
      await rx.close();
    },
  };
}

/** Polls until `cond` holds (load on a shared machine makes fixed sleeps flaky); fails after 10 s. */
async function waitFor(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not reached in 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const series: Labels[] = Array.from({ length: 50 }, (_, i) => labelsFromRecord({ __name__: 'p', i: String(i) }));

describe('shard pool', () => {
  it("keeps each series' shard across versions (persisted frontiers are per shard)", () => {
    // FNV-1a of "__name__þupÿjobþapiÿ", as every version so far has hashed it.
    expect(hashLabels(labelsFromRecord({ __name__: 'up', job: 'api' }))).toBe(2979509032);
  });

  it('sends every series in order over 4 shards, batches at most max_samples_per_send', async () => {
    const env = await setup();
    const pool = new ShardPool(env.sender, { shards: 4, maxSamplesPerSend: 37, batchSendDeadlineMs: 5000, capacity: 10_000, message: 'prometheus.WriteRequest' });
    try {
      for (let j = 0; j < 20; j++) for (let i = 0; i < series.length; i++) expect(pool.append(series[i]!, i, j * 1000, i * 100 + j, j)).toBe(true);
      await pool.flush();
      const got = new Map<string, number[]>();
      for (const req of env.requests) {
        expect(req.reduce((n, s) => n + s.samples.length, 0)).toBeLessThanOrEqual(37);
        for (const s of req) {
          const i = s.labels.find((l) => l.name === 'i')!.value;
          got.set(i, [...(got.get(i) ?? []), ...s.samples.map((x) => x.t)]);
        }
      }
      expect(got.size).toBe(50);
      for (const ts of got.values()) expect(ts).toEqual(Array.from({ length: 20 }, (_, j) => j * 1000));
      expect(pool.resumePosition()).toBe(20);
      expect(env.sender.counters.sent).toBe(1000);
    } finally {
      pool.stop();
      await env.close();
    }
  });

  it('sends a partial batch after batch_send_deadline', async () => {
    const env = await setup();
    const pool = new ShardPool(env.sender, { shards: 2, maxSamplesPerSend: 500, batchSendDeadlineMs: 100, capacity: 10_000, message: 'prometheus.WriteRequest' });
    try {
      pool.append(series[0]!, 0, 1, 1, 0);
      pool.append(series[1]!, 1, 1, 1, 0);
      // No flush(): only the deadline sends them. The receiver records a request before it answers,
      // so the acknowledgement (and the resume position) follows a moment later.
      await waitFor(() => env.requests.flat().length === 2 && pool.resumePosition() === 1);
      expect(env.requests.flat()).toHaveLength(2);
      expect(pool.resumePosition()).toBe(1);
    } finally {
      pool.stop();
      await env.close();
    }
  });

  it('resumePosition stays at the oldest unacknowledged sample while its shard is held; capacity pushes back', async () => {
    const env = await setup((req) => req.some((s) => s.labels.some((l) => l.name === 'i' && l.value === '0')));
    const pool = new ShardPool(env.sender, { shards: 4, maxSamplesPerSend: 5, batchSendDeadlineMs: 50, capacity: 10, message: 'prometheus.WriteRequest' });
    try {
      // Series 0 (shard 0) is held by the receiver; series 1-3 (shards 1-3) flow.
      for (let j = 0; j < 5; j++) for (let i = 0; i < 4; i++) expect(pool.append(series[i]!, i, j, j, 10 + j)).toBe(true);
      await waitFor(() => env.heldCount() === 1 && env.requests.length >= 3);
      expect(pool.resumePosition()).toBe(10);
      // Shard 0 holds 5 in flight; 5 more fit, the 11th does not.
      for (let j = 5; j < 10; j++) expect(pool.append(series[0]!, 0, j, j, 20 + j)).toBe(true);
      expect(pool.append(series[0]!, 0, 10, 10, 30)).toBe(false);
      // room() says some shard made room (shards 1-3 may ack first): try again until shard 0 has.
      env.release();
      while (!pool.append(series[0]!, 0, 10, 10, 30)) await pool.room();
      await pool.flush();
      expect(pool.resumePosition()).toBe(31);
      const zero = env.requests.flatMap((r) => r.filter((s) => s.labels.some((l) => l.name === 'i' && l.value === '0'))).flatMap((s) => s.samples.map((x) => x.t));
      expect(zero).toEqual(Array.from({ length: 11 }, (_, j) => j));
    } finally {
      pool.stop();
      await env.close();
    }
  });

  it('stop() leaves unacknowledged samples outstanding; reshard keeps per-series order', async () => {
    const env = await setup((req) => req.some((s) => s.labels.some((l) => l.name === 'i' && l.value === '2')));
    const pool = new ShardPool(env.sender, { shards: 3, maxSamplesPerSend: 2, batchSendDeadlineMs: 20, capacity: 100, message: 'prometheus.WriteRequest' });
    try {
      for (let i = 0; i < 3; i++) pool.append(series[i]!, i, 0, 0, 5 + i);
      await waitFor(() => env.heldCount() === 1 && env.requests.length === 2 && pool.resumePosition() === 7);
      expect(pool.resumePosition()).toBe(7);
      pool.stop();
      expect(pool.resumePosition()).toBe(7);
    } finally {
      env.release();
      await env.close();
    }
    const env2 = await setup();
    const pool2 = new ShardPool(env2.sender, { shards: 1, maxSamplesPerSend: 3, batchSendDeadlineMs: 1000, capacity: 100, message: 'prometheus.WriteRequest' });
    try {
      for (let j = 0; j < 4; j++) for (let i = 0; i < 5; i++) pool2.append(series[i]!, i, j, j, j);
      await pool2.reshard(4);
      expect(pool2.shardCount).toBe(4);
      for (let j = 4; j < 8; j++) for (let i = 0; i < 5; i++) pool2.append(series[i]!, i, j, j, j);
      await pool2.flush();
      for (let i = 0; i < 5; i++) {
        const ts = env2.requests.flatMap((r) => r.filter((s) => s.labels.some((l) => l.name === 'i' && l.value === String(i)))).flatMap((s) => s.samples.map((x) => x.t));
        expect(ts).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      }
    } finally {
      pool2.stop();
      await env2.close();
    }
  });

  it('desiredShards feeds the measured send rates into the queue-manager formula', async () => {
    const env = await setup();
    const pool = new ShardPool(env.sender, { shards: 1, maxSamplesPerSend: 10, batchSendDeadlineMs: 5000, capacity: 10_000, message: 'prometheus.WriteRequest' });
    try {
      expect(pool.desiredShards(1000, 0, 0, 1, 10)).toBe(1); // nothing sent yet: no change
      for (let j = 0; j < 10; j++) for (let i = 0; i < 50; i++) pool.append(series[i]!, i, j, j, j);
      await pool.flush();
      // 500 samples in the 10 s interval is 50/s; the EWMA (started at 0 by the first tick) moves 20% there.
      const n = pool.desiredShards(50 * 1e6, 0, 0, 1, 10);
      expect(n).toBe(10);
      expect(pool.outSamples.rate()).toBe(10);
      expect(pool.desiredShards(0, 0, 0, 2, 10)).toBe(2); // idle: down to min_shards
    } finally {
      pool.stop();
      await env.close();
    }
  });
});
