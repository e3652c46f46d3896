// Every sample acknowledged with a 2xx survives kill -9 of the server: concurrent writers send
// until the server process is killed mid-flight; then the data directory is opened again and every
// acknowledged sample must be there.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAppliance } from '../../../main/core/open-appliance';
import { keychainSkipNote, noKeychainReason, removeService, uniqueService } from '../crypto/keychain-env';
import { encodeV1, snappy, V1_TYPE } from '../ingest/encode';
import { startServe } from './cli-process';

const WRITERS = 4;
const SERIES_PER_REQUEST = 20;

describe.skipIf(noKeychainReason)(`durability across kill -9${keychainSkipNote}`, () => {
  const service = uniqueService();
  const dataDir = mkdtempSync(join(tmpdir(), 'ampule-durable-'));
  afterAll(() => {
    removeService(service);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged sample', async () => {
    const setup = await openAppliance({ dataDir, keychainService: service });
    const ws = setup.control.createWorkspace({ alias: 'durable' }).workspaceId;
    const token = setup.control.createToken(ws, { scopes: ['remote_write'] }).token;
    setup.close();

    const serve = await startServe(dataDir, { ...process.env, AMPULE_KEYCHAIN_SERVICE: service });
    const ca = readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
    const base = Date.now() - 3_600_000;
    const acked: { writer: number; k: number }[] = [];
    let killed = false;

    const errors: string[] = [];
    const post = (agent: Agent, body: Buffer) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: 'localhost',
            port: serve.port,
            method: 'POST',
            path: `/workspaces/${ws}/api/v1/remote_write`,
            headers: { Authorization: `Bearer ${token}`, 'Content-Type': V1_TYPE, 'Content-Encoding': 'snappy' },
            ca,
            agent,
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode!, text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });

    const writer = async (w: number) => {
      const agent = new Agent({ keepAlive: true, ca });
      for (let k = 0; !killed; k++) {
        const series = Array.from({ length: SERIES_PER_REQUEST }, (_, i) => ({
          labels: [['__name__', 'durable_metric'], ['series', String(i)], ['writer', String(w)]] as [string, string][],
          samples: [{ t: base + k * 1000, v: k }],
        }));
        try {
          const r = await post(agent, snappy(encodeV1(series)));
          if (r.status === 204) acked.push({ writer: w, k });
          else {
            errors.push(`writer ${w} request ${k}: status ${r.status}: ${r.text.slice(0, 300)}`);
            break;
          }
        } catch (e) {
          if (!killed) errors.push(`writer ${w} request ${k}: ${(e as Error).message}`);
          break;
        }
      }
      agent.destroy();
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    // Kill once enough has been acknowledged, while requests are still in flight.
    const deadline = Date.now() + 60_000;
    while (acked.length < 40 && errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    killed = true;
    serve.process.kill('SIGKILL');
    expect(await serve.exited).toBe('SIGKILL');
    await Promise.all(writers);
    expect(errors, `server log:\n${serve.stderr().slice(-2000)}`).toEqual([]);

    const reopened = await openAppliance({ dataDir, keychainService: service });
    try {
      const data = reopened.store(ws).querier().select([{ type: '=', name: '__name__', value: 'durable_metric' }], base - 1, base + 1e9);
      const have = new Map<string, Map<number, number>>();
      for (const s of data) {
        const key = s.labels.map((l) => `${l.name}=${l.value}`).join(',');
        const m = new Map<number, number>();
        s.timestamps.forEach((t, i) => m.set(t, s.values[i]!));
        have.set(key, m);
      }
      let missing = 0;
      for (const { writer: w, k } of acked) {
        for (let i = 0; i < SERIES_PER_REQUEST; i++) {
          const got = have.get(`__name__=durable_metric,series=${i},writer=${w}`)?.get(base + k * 1000);
          if (got !== k) missing++;
        }
      }
      expect(acked.length).toBeGreaterThanOrEqual(40);
      expect(missing).toBe(0);
    } finally {
      reopened.close();
    }
  });
});
