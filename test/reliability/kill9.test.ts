// Random kill -9 of a real `node bin/ampule.mjs serve` while remote-write clients send: every sample
// acknowledged with a 2xx must be there after the restart, trial after trial on the same data
// directory, and the restarted server must open every store (a crash is not damage).
import { readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openAppliance } from '../../main/core/open-appliance';
import { encodeV1, snappy, V1_TYPE } from '../main/ingest/encode';
import { https, keyFileDir, SOAK, startServe } from './harness';

const TRIALS = SOAK ? 25 : 3;
const WRITERS = 3;
const SERIES_PER_REQUEST = 25;

describe('kill -9 during remote write', () => {
  const made = keyFileDir('ampule-kill9-');
  afterAll(() => rmSync(made.dir, { recursive: true, force: true }));

  it(`keeps every acknowledged sample over ${TRIALS} random kills`, async () => {
    const setup = await openAppliance({ dataDir: made.dataDir, masterKeyFile: made.keyFile });
    const ws = setup.control.createWorkspace({ alias: 'kill9' }).workspaceId;
    const token = setup.control.createToken(ws, { scopes: ['remote_write'] }).token;
    setup.close();

    const acked: { trial: number; writer: number; k: number; t: number }[] = [];
    const stats: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const serve = await startServe(made.dataDir, made.keyFile);
      const ca = readFileSync(join(made.dataDir, 'tls', 'ca.crt'), 'utf8');
      const base = Date.now() - 600_000;
      let killed = false;
      const errors: string[] = [];
      let inTrial = 0;
      const writer = async (w: number) => {
        const agent = new Agent({ keepAlive: true, ca });
        for (let k = 0; !killed; k++) {
          const t = base + k * 100;
          const series = Array.from({ length: SERIES_PER_REQUEST }, (_, i) => ({
            labels: [['__name__', 'kill9_metric'], ['series', String(i)], ['trial', String(trial)], ['writer', String(w)]] as [string, string][],
            samples: [{ t, v: k }],
          }));
          try {
            const r = await https(serve.port, ca, agent, 'POST', `/workspaces/${ws}/api/v1/remote_write`, { Authorization: `Bearer ${token}`, 'Content-Type': V1_TYPE, 'Content-Encoding': 'snappy' }, snappy(encodeV1(series)));
            if (r.status >= 200 && r.status < 300) {
              acked.push({ trial, writer: w, k, t });
              inTrial++;
            } else if (!killed) {
              errors.push(`trial ${trial} writer ${w} request ${k}: ${r.status} ${r.text.slice(0, 200)}`);
              break;
            }
          } catch (e) {
            if (!killed) errors.push(`trial ${trial} writer ${w} request ${k}: ${(e as Error).message}`);
            break;
          }
        }
        agent.destroy();
      };
      const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
      // Kill at a random moment once writes are flowing (requests in flight at that instant).
      const wait = 150 + Math.random() * (SOAK ? 2500 : 800);
      const until = Date.now() + 30_000;
      while (inTrial < 5 && errors.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, wait));
      killed = true;
      serve.process.kill('SIGKILL');
      expect(await serve.exited).toBe('SIGKILL');
      await Promise.all(writers);
      expect(errors, serve.stderr().slice(-2000)).toEqual([]);
      stats.push(`trial ${trial}: killed after ${Math.round(wait)} ms, ${inTrial} requests acknowledged`);
    }

    // The last restart: every store opens (no false damage after a crash) and holds every acknowledged sample.
    const app = await openAppliance({ dataDir: made.dataDir, masterKeyFile: made.keyFile });
    try {
      const data = app.store(ws).querier().select([{ type: '=', name: '__name__', value: 'kill9_metric' }], -8.64e15, 8.64e15);
      const have = new Map<string, Map<number, number>>();
      for (const s of data) {
        const rec = Object.fromEntries(s.labels.map((l) => [l.name, l.value]));
        const m = new Map<number, number>();
        s.timestamps.forEach((t, i) => m.set(t, s.values[i]!));
        have.set(`${rec.trial}/${rec.writer}/${rec.series}`, m);
      }
      let missing = 0;
      for (const a of acked) for (let i = 0; i < SERIES_PER_REQUEST; i++) if (have.get(`${a.trial}/${a.writer}/${i}`)?.get(a.t) !== a.k) missing++;
      console.log(`kill -9 (${SOAK ? 'soak' : 'CI'} form): ${TRIALS} trials, ${acked.length} requests (${acked.length * SERIES_PER_REQUEST} samples) acknowledged, ${missing} missing after restart\n  ${stats.join('\n  ')}`);
      expect(acked.length).toBeGreaterThanOrEqual(TRIALS * 5);
      expect(missing).toBe(0);
    } finally {
      app.close();
    }
  }, SOAK ? 1_800_000 : 120_000);
});
