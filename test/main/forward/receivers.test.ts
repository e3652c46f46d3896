// Forwarding into real receivers: what we send comes back from their own query APIs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Batch } from '../../../main/forward/batch';
import { RemoteWriteEncoder } from '../../../main/forward/encode';
import { parseDestination } from '../../../main/forward/destination';
import { senderFor } from '../../../main/forward/sender-for';
import { labelsFromRecord } from '../../../shared/labels';
import { HAVE_PROMETHEUS, HAVE_VICTORIA, httpsGet, instantQuery, startPrometheus, startVictoriaMetrics, type RealReceiver } from './real-receivers';
import { makeTls, type TlsFixture } from './tls-fixture';

const SERIES = 200;
const SAMPLES = 30;
const STEP_MS = 10_000;
const END = Math.floor(Date.now() / 1000) * 1000 - 60_000;
const value = (i: number, j: number): number => i * 1000 + j + 0.25;

async function forward(rx: RealReceiver, tls: TlsFixture): Promise<{ sent: number }> {
  const dest = parseDestination({ url: rx.writeUrl.href, tls_config: { ca: tls.caPem }, queue_config: { max_samples_per_send: 500 } });
  const sender = senderFor(dest, {});
  const enc = new RemoteWriteEncoder();
  const batch = new Batch();
  try {
    // Batches of whole time slices, oldest first, as the queue will send them.
    for (let j = 0; j < SAMPLES; j++) {
      batch.clear();
      for (let i = 0; i < SERIES; i++) {
        batch.sample(batch.add(labelsFromRecord({ __name__: 'fwd_test', i: String(i), job: 'forward' })), END - (SAMPLES - 1 - j) * STEP_MS, value(i, j));
      }
      const out = await sender.send(enc.encode(batch, dest.protobufMessage), batch.samples);
      if (out.kind !== 'sent') throw new Error(`batch ${j} ${out.kind}: ${sender.lastError?.message}`);
    }
    return { sent: sender.counters.sent };
  } finally {
    sender.close();
  }
}

async function compare(rx: RealReceiver, tls: TlsFixture): Promise<void> {
  const endS = END / 1000;
  const count = await instantQuery(rx, tls.caPem, 'count(fwd_test)', endS);
  expect([...count.values()]).toEqual([String(SERIES)]);
  const total = await instantQuery(rx, tls.caPem, 'sum(count_over_time(fwd_test[10m]))', endS);
  expect([...total.values()]).toEqual([String(SERIES * SAMPLES)]);
  for (const j of [0, 13, SAMPLES - 1]) {
    const t = (END - (SAMPLES - 1 - j) * STEP_MS) / 1000;
    const got = await instantQuery(rx, tls.caPem, 'fwd_test', t);
    expect(got.size).toBe(SERIES);
    for (const i of [0, 1, 77, SERIES - 1]) expect(Number(got.get(`__name__=fwd_test,i=${i},job=forward`))).toBe(value(i, j));
    let sum = 0;
    for (const [k, v] of got) sum += Number(v) - value(Number(/i=(\d+)/.exec(k)![1]), j);
    expect(sum).toBe(0);
  }
}

describe.skipIf(!HAVE_PROMETHEUS)('forwarding to Prometheus 2.42 (remote-write receiver over TLS)', () => {
  let tls: TlsFixture;
  let rx: RealReceiver;
  beforeAll(async () => {
    tls = await makeTls();
    rx = await startPrometheus(tls, 'prom-rx');
  }, 60_000);
  afterAll(async () => {
    await rx?.stop();
    tls?.cleanup();
  });

  it(`${SERIES * SAMPLES} samples sent as remote write 1.0 come back from /api/v1/query`, async () => {
    expect((await forward(rx, tls)).sent).toBe(SERIES * SAMPLES);
    await compare(rx, tls);
  }, 120_000);
});

describe.skipIf(!HAVE_VICTORIA)('forwarding to VictoriaMetrics 1.79 (-tls)', () => {
  let tls: TlsFixture;
  let rx: RealReceiver;
  beforeAll(async () => {
    tls = await makeTls();
    rx = await startVictoriaMetrics(tls, 'vm-rx');
  }, 60_000);
  afterAll(async () => {
    await rx?.stop();
    tls?.cleanup();
  });

  it(`${SERIES * SAMPLES} samples sent as remote write 1.0 come back from /api/v1/query after a flush`, async () => {
    expect((await forward(rx, tls)).sent).toBe(SERIES * SAMPLES);
    expect((await httpsGet(new URL('/internal/force_flush', rx.base), tls.caPem)).status).toBe(200);
    await compare(rx, tls);
  }, 120_000);
});

if (!HAVE_PROMETHEUS || !HAVE_VICTORIA) {
  console.warn('skipped: /usr/bin/prometheus or /usr/bin/victoria-metrics is not installed (Debian packages prometheus, victoria-metrics)');
}
