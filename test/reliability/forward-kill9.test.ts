// kill -9 of the forwarding path at random moments: a real `node bin/ampule.mjs serve` forwards a
// workspace to a real Prometheus 2.42 (remote-write receiver over TLS) while a client remote-writes
// into Ampule; trial after trial either Ampule or Prometheus is killed with SIGKILL and restarted
// on the same data. Once caught up, every sample Ampule acknowledged is at the receiver.
// AMPULE_FORWARD_KILLS sets the kills of each (default 3 each in CI form, 10 each with AMPULE_SOAK=1).
import { readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openAppliance } from '../../main/core/open-appliance';
import { destinationStoreOf } from '../../main/host/forwarding';
import { encodeV1, snappy, V1_TYPE } from '../main/ingest/encode';
import { HAVE_PROMETHEUS, httpsGet, startPrometheus, type RealReceiver } from '../main/forward/real-receivers';
import { makeTls } from '../main/forward/tls-fixture';
import { freePort } from '../local-peers';
import { https, keyFileDir, SOAK, startServe, type Serve } from './harness';

const KILLS = Number(process.env.AMPULE_FORWARD_KILLS ?? (SOAK ? 10 : 3));
const SERIES = 10;

describe.skipIf(!HAVE_PROMETHEUS)('kill -9 of Ampule and of the receiver while forwarding', () => {
  const made = keyFileDir('ampule-fwd-kill9-');
  afterAll(() => rmSync(made.dir, { recursive: true, force: true }));

  it(`loses no committed sample over ${KILLS} kills of each`, async () => {
    const tls = await makeTls();
    const promPort = await freePort();
    let prom: RealReceiver = await startPrometheus(tls, 'prom-kill9', undefined, promPort);
    const setup = await openAppliance({ dataDir: made.dataDir, masterKeyFile: made.keyFile });
    const ws = setup.control.createWorkspace({ alias: 'fwd-kill9' }).workspaceId;
    const token = setup.control.createToken(ws, { scopes: ['remote_write'] }).token;
    destinationStoreOf(setup).add(
      ws,
      `name: prom\nurl: ${prom.writeUrl.href}\ntls_config: { ca: ${JSON.stringify(tls.caPem)} }\nqueue_config: { max_samples_per_send: 50, batch_send_deadline: 20ms, min_backoff: 20ms, max_backoff: 200ms, max_shards: 4, min_shards: 2 }\n`,
      { seq: 0, ackedMaxT: null },
    );
    setup.close();

    let serve: Serve = await startServe(made.dataDir, made.keyFile);
    const ca = readFileSync(join(made.dataDir, 'tls', 'ca.crt'), 'utf8');
    const acked: { k: number; t: number }[] = [];
    let stop = false;
    let lastT = 0;
    let k = 0;
    // One client, as a Prometheus would be: retries what was not acknowledged (a new request, new timestamp).
    const writer = (async () => {
      while (!stop) {
        const agent = new Agent({ keepAlive: true, ca });
        const port = serve.port;
        try {
          for (; !stop && port === serve.port; k++) {
            const t = (lastT = Math.max(lastT + 1, Date.now()));
            const series = Array.from({ length: SERIES }, (_, i) => ({ labels: [['__name__', 'fwd_kill9'], ['series', String(i)]] as [string, string][], samples: [{ t, v: k }] }));
            const r = await https(port, ca, agent, 'POST', `/workspaces/${ws}/api/v1/remote_write`, { Authorization: `Bearer ${token}`, 'Content-Type': V1_TYPE, 'Content-Encoding': 'snappy' }, snappy(encodeV1(series)));
            if (r.status >= 200 && r.status < 300) acked.push({ k, t });
            await new Promise((res) => setTimeout(res, 5));
          }
        } catch {
          await new Promise((res) => setTimeout(res, 50)); // Ampule is down: try again once it is back
        } finally {
          agent.destroy();
        }
      }
    })();

    const log: string[] = [];
    const logs: string[] = []; // what each killed process wrote, for a failure's diagnosis
    try {
      for (let trial = 0; trial < 2 * KILLS; trial++) {
        const wait = 200 + Math.random() * (SOAK ? 2000 : 700);
        await new Promise((r) => setTimeout(r, wait));
        const before = acked.length;
        if (trial % 2 === 0) {
          serve.process.kill('SIGKILL');
          expect(await serve.exited).toBe('SIGKILL');
          logs.push(serve.stderr());
          serve = await startServe(made.dataDir, made.keyFile);
          log.push(`Ampule killed after ${Math.round(wait)} ms (${before} requests acknowledged so far)`);
        } else {
          prom.proc.kill('SIGKILL');
          await new Promise((r) => prom.proc.once('exit', r));
          logs.push(prom.log());
          prom = await startPrometheus(tls, 'prom-kill9', undefined, promPort);
          log.push(`Prometheus killed after ${Math.round(wait)} ms (${before} requests acknowledged so far)`);
        }
      }
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await writer;

      // Caught up: every acknowledged sample of every series is at the receiver.
      const want = new Map(acked.map((a) => [a.t, a.k]));
      const missingAt = new Map<number, number>(); // timestamp → series missing at the receiver
      const missing = async (): Promise<number> => {
        const u = new URL('/api/v1/query', prom.base);
        u.searchParams.set('query', 'fwd_kill9[1h]');
        u.searchParams.set('time', String((lastT + 1000) / 1000));
        const res = await httpsGet(u, tls.caPem);
        if (res.status !== 200) return Infinity;
        const j = JSON.parse(res.body) as { data: { result: { metric: Record<string, string>; values: [number, string][] }[] } };
        let n = 0;
        missingAt.clear();
        for (let i = 0; i < SERIES; i++) {
          const got = new Map((j.data.result.find((s) => s.metric.series === String(i))?.values ?? []).map(([ts, v]) => [Math.round(ts * 1000), Number(v)]));
          for (const [t, v] of want) {
            if (got.get(t) === v) continue;
            n++;
            missingAt.set(t, (missingAt.get(t) ?? 0) + 1);
          }
        }
        return n;
      };
      const deadline = Date.now() + 120_000;
      let left = await missing();
      while (left > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        left = await missing();
      }
      console.log(`forward kill -9: ${KILLS} kills of Ampule and ${KILLS} of Prometheus; ${acked.length} requests (${acked.length * SERIES} samples) acknowledged by Ampule; ${left} missing at the receiver once caught up\n  ${log.join('\n  ')}`);
      if (left > 0) {
        // Which side lost them: Ampule's store (an acknowledged write not durable) or the forwarder.
        serve.process.kill('SIGTERM');
        await serve.exited;
        const app = await openAppliance({ dataDir: made.dataDir, masterKeyFile: made.keyFile, maintenanceIntervalMs: 3600_000 });
        const stored = new Set<number>();
        for (const s of app.store(ws).querier().select([{ type: '=', name: '__name__', value: 'fwd_kill9' }], 0, lastT + 1)) for (const t of s.timestamps) stored.add(t);
        app.close();
        const lines = [...missingAt].map(([t, n]) => `k=${want.get(t)} t=${t}: ${n} series missing at the receiver; ${stored.has(t) ? 'in' : 'NOT in'} Ampule's store`);
        const said = [...logs, serve.stderr(), prom.log()].flatMap((l) => l.split('\n')).filter((l) => /error|warn|drop|order|duplicate|refus/i.test(l));
        console.log(`missing at the receiver:\n  ${lines.join('\n  ')}\nwarnings and errors logged:\n  ${said.slice(0, 40).join('\n  ')}`);
        serve = await startServe(made.dataDir, made.keyFile);
      }
      expect(acked.length).toBeGreaterThan(4 * KILLS);
      expect(left).toBe(0);
    } finally {
      stop = true;
      serve.process.kill('SIGTERM');
      await serve.exited;
      await prom.stop();
      tls.cleanup();
    }
  }, SOAK ? 1_800_000 : 300_000);
});
