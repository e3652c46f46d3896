// Real Prometheus (Debian's /usr/bin/prometheus, --enable-feature=exemplar-storage) scrapes a small
// OpenMetrics exporter written here that attaches exemplars (trace ids) to a counter, and
// remote-writes them (send_exemplars) to a real `ampule serve`: Ampule's /api/v1/query_exemplars
// must answer what that Prometheus's own answers, and no trace id may be readable on Ampule's disk.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { filesUnder, prometheusSkipReason } from '../local-peers';
import { getJson, senderWorkspace, serveFixture, startSendingPrometheus } from './sender-workspace';
import { send } from '../main/http/harness';

const why = prometheusSkipReason;

type SeriesExemplars = { seriesLabels: Record<string, string>; exemplars: { labels: Record<string, string>; value: string; timestamp: number }[] }[];

describe.skipIf(why)(`Prometheus exemplars through remote write${why ? ` (skipped: ${why})` : ''}`, () => {
  const fx = serveFixture('exemplars');
  const { work, dataDir, env } = fx;
  const exporter = createServer();
  fx.onCleanup(() => exporter.close());

  it('answers /api/v1/query_exemplars as the sending Prometheus does, and keeps trace ids sealed', async () => {
    // Each scrape: the counter goes up by one and carries a new trace id stamped with the scrape time.
    const traces: string[] = [];
    let count = 0;
    exporter.on('request', (_req, res) => {
      count++;
      const trace = `${randomBytes(16).toString('hex')}`;
      traces.push(trace);
      const t = (Date.now() / 1000).toFixed(3);
      res.writeHead(200, { 'Content-Type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' });
      res.end(`# TYPE demo_requests counter\n# HELP demo_requests Requests.\ndemo_requests_total{path="/api"} ${count} # {trace_id="${trace}"} ${count}.5 ${t}\n# EOF\n`);
    });
    const exporterPort = await new Promise<number>((resolve) => exporter.listen(0, '127.0.0.1', () => resolve((exporter.address() as { port: number }).port)));

    const serve = await fx.start();
    const sender = await senderWorkspace(work, dataDir, env, 'exemplars-e2e');
    const { ws, token, caFile } = sender;
    const prom = await startSendingPrometheus({ work, serverPort: serve.port, sender, job: 'demo', target: `127.0.0.1:${exporterPort}`, remoteWrite: ['send_exemplars: true'], features: 'exemplar-storage' });
    fx.onCleanup(() => prom.process.kill('SIGKILL'));
    const { instance } = prom;

    const h = { server: { port: serve.port }, caPem: readFileSync(caFile, 'utf8') } as Parameters<typeof send>[0];
    const start = Math.floor(Date.now() / 1000) - 60;
    const q = `query=${encodeURIComponent('rate(demo_requests_total[1m])')}&start=${start}&end=${start + 3600}`;
    const ours = async () => {
      const r = await send(h, { path: `/workspaces/${ws}/api/v1/query_exemplars?${q}`, headers: { Authorization: `Bearer ${token}` } });
      expect(r.status).toBe(200);
      return r.json().data as SeriesExemplars;
    };
    const deadline = Date.now() + 40_000;
    let have: SeriesExemplars = [];
    while (Date.now() < deadline) {
      have = await ours();
      if ((have[0]?.exemplars.length ?? 0) >= 5) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    if ((have[0]?.exemplars.length ?? 0) < 5) {
      const own = JSON.stringify((await getJson(`http://${instance}/api/v1/query_exemplars?${q}`)).body).slice(0, 1000);
      expect.fail(`exemplars did not arrive (scrapes: ${count}; ours: ${JSON.stringify(have).slice(0, 500)}; Prometheus's own: ${own}); Prometheus said:\n${prom.log().slice(-3000)}`);
    }
    // Prometheus's answer, then a few seconds for its last sends to arrive.
    const theirs = (await getJson(`http://${instance}/api/v1/query_exemplars?${q}`)).body.data as SeriesExemplars;
    await new Promise((r) => setTimeout(r, 3000));
    prom.process.kill('SIGKILL');
    have = await ours();
    expect(theirs[0]!.exemplars.length).toBeGreaterThanOrEqual(5);
    // Ampule may hold exemplars Prometheus had not yet sent when it stopped; every one Prometheus sent must match.
    const got = new Map(have[0]!.exemplars.map((e) => [e.labels.trace_id, e]));
    const sent = theirs[0]!.exemplars.filter((e) => got.has(e.labels.trace_id));
    expect(sent.length).toBeGreaterThanOrEqual(theirs[0]!.exemplars.length - 3);
    for (const e of sent) expect(got.get(e.labels.trace_id)).toEqual(e);
    expect(have[0]!.seriesLabels).toEqual(theirs[0]!.seriesLabels);
    console.log(`exemplars compared with Prometheus: ${sent.length} of ${theirs[0]!.exemplars.length} equal`);
    expect(prom.log()).not.toMatch(/server returned HTTP status [45]\d\d/);

    // Trace ids must not be readable anywhere in Ampule's data directory (flushed on shutdown).
    await fx.stop();
    let bytesScanned = 0;
    const found: string[] = [];
    const needles = traces.filter((t) => got.has(t));
    for (const file of filesUnder(dataDir)) {
      const bytes = readFileSync(file);
      bytesScanned += bytes.length;
      for (const t of needles) if (bytes.includes(Buffer.from(t, 'utf8'))) found.push(`${file}: ${t}`);
    }
    expect(needles.length).toBeGreaterThanOrEqual(5);
    expect(bytesScanned).toBeGreaterThan(10_000);
    expect(found).toEqual([]);
  }, 120_000);
});
