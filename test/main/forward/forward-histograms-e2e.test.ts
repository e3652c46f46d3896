// Native histograms committed to a real appliance's store are forwarded to Debian's Prometheus 2.42
// (--enable-feature=native-histograms, remote-write receiver over TLS) with write_relabel_configs
// applied to them, and Prometheus's answers agree with Ampule's own: the raw histograms at chosen
// instants (count, sum, every bucket) and their rates and histogram_count/histogram_sum of rate.
// VictoriaMetrics 1.79 gets the same requests: it has no native histograms and skips the
// TimeSeries.histograms field (the request is accepted, the floats stored, the histograms nowhere);
// the test checks that it neither fails the request nor stores anything for them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Appliance } from '../../../main/core/appliance';
import type { Forwarding } from '../../../main/host/forwarding';
import { instantQuery as ampuleQuery } from '../../../main/query/engine';
import { histogramJSON } from '../../../main/query/histogram/json';
import type { FloatHistogram } from '../../../main/tsdb/histogram';
import { labelsFromRecord, type Labels } from '../../../shared/labels';
import { openForwardingAppliance, type ForwardingAppliance } from './forwarding-appliance';
import { HAVE_PROMETHEUS, HAVE_VICTORIA, httpsGet, instantQueryResult, startPrometheus, startVictoriaMetrics, type RealReceiver } from './real-receivers';
import { makeTls, type TlsFixture } from './tls-fixture';

const SERIES = 4;
const POINTS = 120;
const STEP_MS = 15_000;
const END = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
const START = END - (POINTS - 1) * STEP_MS;

/** A counter histogram (schema 3, zero bucket, both sides), integer counts growing with j. */
function hist(i: number, j: number): FloatHistogram {
  const positiveBuckets = [1, 2, 3, 4].map((k) => (j + 1) * k + i);
  const negativeBuckets = [j, 2 * j];
  const zeroCount = j + i;
  const count = zeroCount + positiveBuckets.reduce((a, b) => a + b, 0) + negativeBuckets.reduce((a, b) => a + b, 0);
  return {
    counterResetHint: 'unknown',
    schema: 3,
    zeroThreshold: 1e-3,
    zeroCount,
    count,
    sum: j * 3.25 + i,
    positiveSpans: [{ offset: -2, length: 2 }, { offset: 3, length: 2 }],
    negativeSpans: [{ offset: 1, length: 2 }],
    positiveBuckets,
    negativeBuckets,
  };
}

interface PromSample {
  metric: Record<string, string>;
  value?: [number, string];
  histogram?: [number, { count: string; sum: string; buckets?: [number, string, string, string][] }];
}

function query(rx: RealReceiver, ca: string, q: string, t: number): Promise<PromSample[]> {
  return instantQueryResult<PromSample>(rx, ca, q, t / 1000);
}

function close(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

describe.skipIf(!HAVE_PROMETHEUS || !HAVE_VICTORIA)('forwarding native histograms to Prometheus 2.42 and VictoriaMetrics 1.79', () => {
  let tls: TlsFixture;
  let prom: RealReceiver;
  let vm: RealReceiver;
  let fa: ForwardingAppliance;
  let app: Appliance;
  let fwd: Forwarding;
  let ws: string;
  beforeAll(async () => {
    tls = await makeTls();
    [prom, vm] = await Promise.all([
      startPrometheus(tls, 'prom-hist', undefined, undefined, ['--enable-feature=native-histograms']),
      startVictoriaMetrics(tls, 'vm-hist'),
    ]);
    fa = await openForwardingAppliance('ampule-forward-hist-');
    ({ app, ws } = fa);
    const ca = JSON.stringify(tls.caPem);
    // Relabelling applies to histogram series as to floats: one series dropped, one label stripped.
    fa.add(
      `name: prom\nurl: ${prom.writeUrl.href}\ntls_config: { ca: ${ca} }\nqueue_config: { max_samples_per_send: 100, batch_send_deadline: 200ms }\n` +
        `write_relabel_configs:\n  - { source_labels: [drop_me], regex: yes, action: drop }\n  - { regex: secret, action: labeldrop }\n`,
    );
    fa.add(`name: vm\nurl: ${vm.writeUrl.href}\ntls_config: { ca: ${ca} }\nqueue_config: { batch_send_deadline: 200ms }\n`);
    fwd = fa.start();
  }, 60_000);
  afterAll(async () => {
    await fa?.close();
    await Promise.all([prom?.stop(), vm?.stop()]);
    tls?.cleanup();
  });

  it('Prometheus holds the same histograms and answers the same histogram queries; VictoriaMetrics accepts and skips them', async () => {
    const a = app.store(ws).appender();
    const series: Labels[] = [];
    for (let i = 0; i < SERIES; i++) series.push(labelsFromRecord({ __name__: 'fwd_hist', i: String(i), secret: 's3cret' }));
    const dropped = labelsFromRecord({ __name__: 'fwd_hist', i: 'x', drop_me: 'yes' });
    const floats = labelsFromRecord({ __name__: 'fwd_hist_floats', job: 'edge' });
    for (let j = 0; j < POINTS; j++) {
      const t = START + j * STEP_MS;
      for (let i = 0; i < SERIES; i++) a.appendHistogram(0, series[i]!, t, hist(i, j));
      a.appendHistogram(0, dropped, t, hist(9, j));
      a.append(0, floats, t, j);
      if (j % 10 === 9) a.commit();
    }
    a.commit();
    const toProm = SERIES * POINTS + POINTS;
    const toVm = (SERIES + 1) * POINTS + POINTS;
    const deadline = Date.now() + 120_000;
    const want = (name: string): number => (name === 'prom' ? toProm : toVm);
    while (fwd.status(ws).some((s) => s.samples.sent < want(s.name))) {
      if (Date.now() > deadline) throw new Error(`not caught up: ${JSON.stringify(fwd.status(ws).map((s) => [s.name, s.samples, s.lastError]))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const s of fwd.status(ws)) {
      expect(s.samples).toMatchObject({ sent: want(s.name), failed: 0, dropped: 0 });
      expect(s.lastError).toBeNull();
      expect(s.samples.relabelledAway).toBe(s.name === 'prom' ? POINTS : 0);
    }

    const querier = app.store(ws).querier();
    const mineAt = (q: string, t: number) => {
      const v = ampuleQuery(querier, q.replace('fwd_hist', 'fwd_hist{drop_me=""}'), t).value;
      if (v.type !== 'vector') throw new Error('expected a vector');
      return (i: string) => v.samples.find((x) => x.metric.find((l) => l.name === 'i')?.value === i)!;
    };
    // Raw histograms at chosen instants, then their rates: every bucket, count and sum as the API writes them.
    // (histogram_quantile is not compared: 2.42 interpolates linearly inside exponential buckets, Ampule as Prometheus 3 does, prometheus#14677.)
    for (const q of ['fwd_hist', 'rate(fwd_hist[5m])']) {
      for (const j of [0, 1, 59, POINTS - 1]) {
        const t = START + j * STEP_MS;
        const got = await query(prom, tls.caPem, q, t);
        if (q !== 'fwd_hist' && j === 0) {
          expect(got).toEqual([]); // one sample: no rate
          continue;
        }
        expect(got.map((s) => s.metric.i).sort()).toEqual(['0', '1', '2', '3']);
        const mine = mineAt(q, t);
        for (const s of got) {
          expect(s.metric.secret).toBeUndefined(); // labeldrop applied
          const want = histogramJSON(mine(s.metric.i!).h!, (v) => String(v));
          const [, h] = s.histogram!;
          expect(close(Number(h.count), Number(want.count)), `${q} count at ${j}`).toBe(true);
          expect(close(Number(h.sum), Number(want.sum)), `${q} sum at ${j}`).toBe(true);
          expect(h.buckets!.length).toBe(want.buckets!.length);
          h.buckets!.forEach((b, k) => {
            const w = want.buckets![k]!;
            expect(b[0]).toBe(w[0]);
            expect(close(Number(b[1]), Number(w[1])) && close(Number(b[2]), Number(w[2])) && close(Number(b[3]), Number(w[3])), `${q} bucket ${k} at ${j}`).toBe(true);
          });
        }
      }
    }
    for (const q of ['histogram_count(rate(fwd_hist[5m]))', 'histogram_sum(rate(fwd_hist[5m]))']) {
      for (const j of [30, 90, POINTS - 1]) {
        const t = START + j * STEP_MS;
        const got = await query(prom, tls.caPem, q, t);
        expect(got).toHaveLength(SERIES);
        const mine = mineAt(q, t);
        for (const s of got) {
          const f = mine(s.metric.i!).f;
          expect(close(Number(s.value![1]), f), `${q} at ${j} for i=${s.metric.i}: ${s.value![1]} vs ${f}`).toBe(true);
        }
      }
    }
    expect((await query(prom, tls.caPem, 'count_over_time(fwd_hist_floats[1h])', END)).map((s) => s.value![1])).toEqual([String(POINTS)]);

    // VictoriaMetrics: the requests were accepted (above: sent, no failure); floats stored, histograms not.
    expect((await httpsGet(new URL('/internal/force_flush', vm.base), tls.caPem)).status).toBe(200);
    expect((await query(vm, tls.caPem, 'count_over_time(fwd_hist_floats[1h])', END)).map((s) => s.value![1])).toEqual([String(POINTS)]);
    expect(await query(vm, tls.caPem, 'count({__name__="fwd_hist"})', END)).toEqual([]);
  }, 300_000);
});
