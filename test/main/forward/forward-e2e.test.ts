// The whole forwarding path into real receivers: samples committed to a real appliance's encrypted
// store are followed by the durable queue and arrive at Debian's Prometheus 2.42 (remote-write
// receiver, TLS through --web.config.file) and VictoriaMetrics 1.79 (-tls) at once; query answers
// on both sides agree with Ampule's own. AMPULE_FORWARD_SAMPLES sets the size (default 60,000;
// `npm run bench:forward` and the closing note use ≥ 1 M). Also: /metrics (admin scope) reports it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Appliance } from '../../../main/core/appliance';
import type { Forwarding } from '../../../main/host/forwarding';
import { labelsFromRecord } from '../../../shared/labels';
import { openForwardingAppliance, type ForwardingAppliance } from './forwarding-appliance';
import { HAVE_PROMETHEUS, HAVE_VICTORIA, httpsGet, instantQuery, startPrometheus, startVictoriaMetrics, type RealReceiver } from './real-receivers';
import { makeTls, type TlsFixture } from './tls-fixture';

const TOTAL = Number(process.env.AMPULE_FORWARD_SAMPLES ?? 60_000);
const PER_SERIES = 200;
const SERIES = Math.max(1, Math.ceil(TOTAL / PER_SERIES));
const STEP_MS = 15_000;
const END = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
const START = END - (PER_SERIES - 1) * STEP_MS;
const value = (i: number, j: number) => i * 1000 + j + 0.5;

describe.skipIf(!HAVE_PROMETHEUS || !HAVE_VICTORIA)(`forwarding ${SERIES * PER_SERIES} committed samples to Prometheus 2.42 and VictoriaMetrics 1.79`, () => {
  let tls: TlsFixture;
  let prom: RealReceiver;
  let vm: RealReceiver;
  let fa: ForwardingAppliance;
  let app: Appliance;
  let fwd: Forwarding;
  let ws: string;
  beforeAll(async () => {
    tls = await makeTls();
    [prom, vm] = await Promise.all([startPrometheus(tls, 'prom-e2e'), startVictoriaMetrics(tls, 'vm-e2e')]);
    fa = await openForwardingAppliance('ampule-forward-e2e-');
    ({ app, ws } = fa);
    for (const [name, rx] of [['prom', prom], ['vm', vm]] as const) {
      fa.add(`name: ${name}\nurl: ${rx.writeUrl.href}\ntls_config: { ca: ${JSON.stringify(tls.caPem)} }\nqueue_config: { max_samples_per_send: 2000, batch_send_deadline: 200ms, max_shards: 4 }\n`);
    }
    fwd = fa.start();
  }, 60_000);
  afterAll(async () => {
    await fa?.close();
    await Promise.all([prom?.stop(), vm?.stop()]);
    tls?.cleanup();
  });

  it('every committed sample arrives at both; their answers match Ampule\'s', async () => {
    const began = performance.now();
    // Time slices oldest first, 1,000-sample commits: the shape of remote-write traffic.
    const a = app.store(ws).appender();
    let n = 0;
    for (let j = 0; j < PER_SERIES; j++) {
      for (let i = 0; i < SERIES; i++) {
        a.append(0, labelsFromRecord({ __name__: 'fwd_e2e', i: String(i), job: 'edge' }), START + j * STEP_MS, value(i, j));
        if (++n % 1000 === 0) a.commit();
      }
    }
    a.commit();
    const total = SERIES * PER_SERIES;
    const deadline = Date.now() + 600_000;
    while (fwd.status(ws).some((s) => s.samples.sent < total)) {
      if (Date.now() > deadline) throw new Error(`not caught up: ${JSON.stringify(fwd.status(ws).map((s) => [s.name, s.samples.sent, s.lastError]))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const secs = (performance.now() - began) / 1000;
    console.log(`forwarded ${total} samples to each of 2 receivers in ${secs.toFixed(1)} s (${Math.round((2 * total) / secs)} samples/s in all, commits included)`);
    for (const s of fwd.status(ws)) expect(s.samples).toMatchObject({ sent: total, dropped: 0 });

    const endS = END / 1000;
    expect((await httpsGet(new URL('/internal/force_flush', vm.base), tls.caPem)).status).toBe(200); // VictoriaMetrics makes new data searchable after a flush
    for (const rx of [prom, vm]) {
      expect([...(await instantQuery(rx, tls.caPem, 'count(fwd_e2e)', endS)).values()]).toEqual([String(SERIES)]);
      expect([...(await instantQuery(rx, tls.caPem, `sum(count_over_time(fwd_e2e[${PER_SERIES * 15 + 60}s]))`, endS)).values()]).toEqual([String(total)]);
      for (const j of [0, 77, PER_SERIES - 1]) {
        const got = await instantQuery(rx, tls.caPem, 'fwd_e2e', (START + j * STEP_MS) / 1000);
        expect(got.size).toBe(SERIES);
        // Ampule's own answer at that instant, from its store.
        const mine = app.store(ws).querier().select([{ type: '=', name: '__name__', value: 'fwd_e2e' }], START + j * STEP_MS, START + j * STEP_MS);
        expect(mine).toHaveLength(SERIES);
        for (const s of mine) {
          const key = s.labels.map((l) => `${l.name}=${l.value}`).join(',');
          expect(Number(got.get(key))).toBe(s.values[0]);
        }
      }
    }
  }, 900_000);
});
