// write_relabel_configs checked against Prometheus itself: a real Prometheus 2.42 scrapes itself
// and remote-writes every series twice to a receiver of ours, once as scraped and once through
// write_relabel_configs. Our relabel() of the first stream must give exactly the second.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRelabelConfigs, relabel } from '../../../main/forward/relabel';
import { labelsKey, type Labels } from '../../../shared/labels';
import { decodeBody } from './decode';
import { HAVE_PROMETHEUS, startPrometheus, type RealReceiver } from './real-receivers';
import { makeTls, startReceiver, type TlsFixture } from './tls-fixture';

const RULES = [
  { source_labels: ['__name__'], regex: 'prometheus_http_.*|go_gc_.*|up|scrape_.*|prometheus_tsdb_head_.*|net_conntrack_.*', action: 'keep' },
  { source_labels: ['__name__'], regex: 'go_gc_duration_seconds', action: 'drop' },
  { source_labels: ['__name__', 'instance'], target_label: 'shard', modulus: 7, action: 'hashmod' },
  { source_labels: ['__name__'], regex: '([a-z]+)_(.*)', target_label: 'prefix_${1}', replacement: '$2' },
  { source_labels: ['handler', 'code'], separator: '@', regex: '/api/v1/(.+)@(2..)', target_label: 'api_ok', replacement: '${1}-$2' },
  { regex: '(job|handler)', replacement: 'copy_$1', action: 'labelmap' },
  { regex: 'instance', action: 'labeldrop' },
  { source_labels: ['job'], target_label: 'JOBUP', action: 'uppercase' },
  { source_labels: ['JOBUP'], target_label: 'joblow', action: 'lowercase' },
  { source_labels: ['job'], target_label: 'joblow', action: 'keepequal' },
];

function yamlRules(indent: string): string {
  return RULES.map((r) => `${indent}- ${JSON.stringify(r)}`).join('\n');
}

describe.skipIf(!HAVE_PROMETHEUS)('write_relabel_configs against Prometheus 2.42', () => {
  let tls: TlsFixture;
  let prom: RealReceiver;
  const raw = new Map<string, Labels>();
  const relabeled = new Map<string, Labels>();
  let rx: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    tls = await makeTls();
    rx = await startReceiver(tls, (r, res) => {
      const into = r.url === '/raw' ? raw : relabeled;
      for (const s of decodeBody(r.body, 1)) into.set(labelsKey(s.labels), s.labels);
      res.writeHead(204).end();
    });
    const rxBase = rx.url('/').origin;
    prom = await startPrometheus(
      tls,
      'prom-relabel',
      (port) => `global:
  scrape_interval: 1s
scrape_configs:
  - job_name: self
    scheme: https
    tls_config: { ca_file: ${tls.caFile} }
    static_configs: [{ targets: ['localhost:${port}'] }]
remote_write:
  - url: ${rxBase}/raw
    tls_config: { ca_file: ${tls.caFile} }
    queue_config: { batch_send_deadline: 1s }
  - url: ${rxBase}/relabeled
    tls_config: { ca_file: ${tls.caFile} }
    queue_config: { batch_send_deadline: 1s }
    write_relabel_configs:
${yamlRules('      ')}
`,
    );
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await rx?.close();
    tls?.cleanup();
  });

  it('our relabel() of what Prometheus scraped equals what Prometheus sent through the same rules', async () => {
    const rules = compileRelabelConfigs(RULES);
    let ours = new Map<string, Labels>();
    let missing: string[] = [];
    let extra: string[] = [];
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      ours = new Map();
      for (const l of raw.values()) {
        const out = relabel(l, rules);
        if (out) ours.set(labelsKey(out), out);
      }
      missing = [...relabeled.keys()].filter((k) => !ours.has(k));
      extra = [...ours.keys()].filter((k) => !relabeled.has(k));
      if (relabeled.size > 50 && missing.length === 0 && extra.length === 0) break;
    }
    expect(missing.slice(0, 5)).toEqual([]);
    expect(extra.slice(0, 5)).toEqual([]);
    expect(relabeled.size).toBeGreaterThan(50);
    expect(raw.size).toBeGreaterThan(relabeled.size); // keep/drop removed some
    const all = [...relabeled.values()];
    const shards = new Set(all.map((l) => l.find((x) => x.name === 'shard')?.value));
    expect(shards.size).toBeGreaterThan(3); // hashmod spread the series
    expect(all.some((l) => l.some((x) => x.name === 'copy_handler'))).toBe(true); // labelmap
    expect(all.some((l) => l.some((x) => x.name === 'prefix_prometheus'))).toBe(true); // replace with a target template
    expect(all.every((l) => !l.some((x) => x.name === 'instance'))).toBe(true); // labeldrop
  }, 90_000);
});
