// Real Prometheus (Debian's /usr/bin/prometheus) remote-writes its own metrics to a real
// `ampule serve` over TLS, configured exactly as the README tells users: a token in a
// credentials_file and the exported CA in tls_config.ca_file (and, into a second workspace, a client
// certificate from `ampule cert issue` instead of a token). The series must show up through
// Ampule's query API, and none of the label values may be readable anywhere in the data directory.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { filesUnder, prometheusSkipReason } from '../local-peers';
import { runCli } from '../main/http/cli-process';
import { send } from '../main/http/harness';
import { senderWorkspace, serveFixture, startSendingPrometheus } from './sender-workspace';

const why = prometheusSkipReason;

describe.skipIf(why)(`Prometheus remote write into ampule serve${why ? ` (skipped: ${why})` : ''}`, () => {
  const fx = serveFixture('prom');
  const { work, dataDir, env } = fx;

  it('receives, stores encrypted and serves what Prometheus sends', async () => {
    const serve = await fx.start();
    const sender = await senderWorkspace(work, dataDir, env, 'prometheus-e2e');
    const { ws, token, caFile } = sender;
    // A second workspace that Prometheus reaches with a client certificate instead of a token.
    const createdB = await runCli(['workspace', 'create', '--data-dir', dataDir, '--alias', 'prometheus-mtls', '--json'], env);
    const wsB = JSON.parse(createdB.stdout).workspaceId as string;
    const certDir = join(work, 'client-cert');
    expect((await runCli(['cert', 'issue', '--data-dir', dataDir, '--workspace', wsB, '--out-dir', certDir], env)).status).toBe(0);
    const tokB = await runCli(['token', 'create', '--data-dir', dataDir, '--workspace', wsB, '--scope', 'query', '--json'], env);
    const queryTokenB = JSON.parse(tokB.stdout).token as string;
    expect(readFileSync(caFile, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);

    // Label values that must never be readable on disk.
    const job = `e2e-job-${process.pid}-${Date.now()}`;
    const prom = await startSendingPrometheus({
      work, serverPort: serve.port, sender, job,
      otherRemoteWrites: [
        `  - url: https://localhost:${serve.port}/workspaces/${wsB}/api/v1/remote_write`,
        '    tls_config:',
        `      ca_file: ${caFile}`,
        `      cert_file: ${join(certDir, `${wsB}.crt`)}`,
        `      key_file: ${join(certDir, `${wsB}.key`)}`,
        '    queue_config: {batch_send_deadline: 1s}',
      ],
    });
    fx.onCleanup(() => prom.process.kill('SIGKILL'));
    const { instance } = prom;

    const h = { server: { port: serve.port }, caPem: readFileSync(caFile, 'utf8') } as Parameters<typeof send>[0];
    const query = `/workspaces/${ws}/api/v1/series?match[]=${encodeURIComponent(`up{job="${job}"}`)}`;
    let series: Record<string, string>[] = [];
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const r = await send(h, { path: query, headers: { Authorization: `Bearer ${token}` } });
      expect(r.status).toBe(200);
      series = r.json().data as Record<string, string>[];
      if (series.length > 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(series, `no series arrived; Prometheus said:\n${prom.log().slice(-3000)}`).toEqual([{ __name__: 'up', instance, job }]);
    // And through mutual TLS into workspace B.
    const queryB = `/workspaces/${wsB}/api/v1/series?match[]=${encodeURIComponent(`up{job="${job}"}`)}`;
    let seriesB: Record<string, string>[] = [];
    while (Date.now() < deadline) {
      seriesB = (await send(h, { path: queryB, headers: { Authorization: `Bearer ${queryTokenB}` } })).json().data as Record<string, string>[];
      if (seriesB.length > 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(seriesB, `no series arrived over mTLS; Prometheus said:\n${prom.log().slice(-3000)}`).toEqual([{ __name__: 'up', instance, job }]);
    expect(prom.log()).not.toMatch(/x509|certificate signed by unknown authority|server returned HTTP status [45]\d\d/);

    // Give Prometheus a few more sends, then look at every byte in the data directory.
    await new Promise((r) => setTimeout(r, 2000));
    const needles = [job, instance, 'prometheus_tsdb_head_series', 'go_goroutines'];
    const scan = (dir: string) => {
      const found: string[] = [];
      let bytesScanned = 0;
      for (const file of filesUnder(dir)) {
        const bytes = readFileSync(file);
        bytesScanned += bytes.length;
        for (const n of needles) {
          if (bytes.includes(Buffer.from(n, 'utf8')) || bytes.includes(Buffer.from(n, 'utf16le'))) found.push(`${file}: ${n}`);
        }
      }
      return { found, bytesScanned };
    };
    // Control: the same scan finds the labels in Prometheus's own (unencrypted) storage.
    expect(scan(join(work, 'prom-data')).found.length).toBeGreaterThan(0);
    const ours = scan(dataDir);
    expect(ours.bytesScanned).toBeGreaterThan(10_000);
    expect(ours.found).toEqual([]);
  });
});
