// Real Prometheus (Debian's /usr/bin/prometheus) scrapes itself and remote-writes its metric
// metadata (1.0 WriteRequest.metadata, metadata_config.send) to a real `ampule serve`: Ampule's
// /api/v1/metadata must answer what that Prometheus's own /api/v1/metadata answers for the same
// metrics, and no help text may be readable anywhere in Ampule's data directory.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { filesUnder, prometheusSkipReason } from '../local-peers';
import { getJson, senderWorkspace, serveFixture, startSendingPrometheus } from './sender-workspace';
import { send } from '../main/http/harness';

const why = prometheusSkipReason;
/** One metric of each type Prometheus exposes about itself. */
const METRICS = ['go_goroutines', 'prometheus_http_requests_total', 'prometheus_http_request_duration_seconds', 'go_gc_duration_seconds', 'process_cpu_seconds_total'];

type Entries = { type: string; help: string; unit: string }[];
const sorted = (e: Entries) => [...e].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe.skipIf(why)(`Prometheus metadata through remote write${why ? ` (skipped: ${why})` : ''}`, () => {
  const fx = serveFixture('meta');
  const { work, dataDir, env } = fx;

  it('answers /api/v1/metadata as the sending Prometheus does, and keeps help text sealed', async () => {
    const serve = await fx.start();
    const sender = await senderWorkspace(work, dataDir, env, 'metadata-e2e');
    const { ws, token, caFile } = sender;
    const prom = await startSendingPrometheus({ work, serverPort: serve.port, sender, job: 'self', remoteWrite: ['metadata_config: {send: true, send_interval: 1s}'] });
    fx.onCleanup(() => prom.process.kill('SIGKILL'));
    const { instance } = prom;

    const h = { server: { port: serve.port }, caPem: readFileSync(caFile, 'utf8') } as Parameters<typeof send>[0];
    const ours = async (query: string) => {
      const r = await send(h, { path: `/workspaces/${ws}/api/v1/metadata${query}`, headers: { Authorization: `Bearer ${token}` } });
      expect(r.status).toBe(200);
      return r.json().data as Record<string, Entries>;
    };
    const deadline = Date.now() + 60_000;
    let have: Record<string, Entries> = {};
    while (Date.now() < deadline) {
      have = await ours('');
      if (METRICS.every((m) => m in have)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(Object.keys(have), `metadata did not arrive; Prometheus said:\n${prom.log().slice(-3000)}`).toEqual(expect.arrayContaining(METRICS));

    for (const metric of METRICS) {
      const theirs = await getJson(`http://${instance}/api/v1/metadata?metric=${metric}`);
      expect(theirs.status).toBe(200);
      const want = (theirs.body.data as Record<string, Entries>)[metric]!;
      expect(want.length).toBeGreaterThan(0);
      expect(sorted((await ours(`?metric=${metric}`))[metric]!), metric).toEqual(sorted(want));
    }
    // The whole answer: every metric Prometheus describes, Ampule describes alike.
    const all = (await getJson(`http://${instance}/api/v1/metadata`)).body.data as Record<string, Entries>;
    have = await ours('');
    let compared = 0;
    for (const [metric, want] of Object.entries(all)) {
      if (!(metric in have)) continue; // a metric first scraped after the last metadata send
      expect(sorted(have[metric]!), metric).toEqual(sorted(want));
      compared++;
    }
    expect(compared).toBeGreaterThan(50);
    console.log(`metadata compared with Prometheus for ${compared} of ${Object.keys(all).length} metrics`);
    expect(Object.keys(await ours('?limit=2'))).toHaveLength(2);
    expect(prom.log()).not.toMatch(/server returned HTTP status [45]\d\d/);

    // The help texts Prometheus reported must not be readable anywhere in Ampule's data directory.
    const helps = METRICS.map((m) => all[m]![0]!.help).filter((s) => s.length > 10);
    expect(helps.length).toBe(METRICS.length);
    let bytesScanned = 0;
    const found: string[] = [];
    for (const file of filesUnder(dataDir)) {
      const bytes = readFileSync(file);
      bytesScanned += bytes.length;
      for (const help of helps) if (bytes.includes(Buffer.from(help, 'utf8'))) found.push(`${file}: ${help}`);
    }
    expect(bytesScanned).toBeGreaterThan(10_000);
    expect(found).toEqual([]);
  });
});
