// Ampule's own /metrics (admin scope) and the API's forwardingStatus on a real host with a real
// keychain and TLS listener: the workspace's store, ingest and forwarding figures in Prometheus's
// text format (promtool checks it), only with an admin token of that workspace, no credential.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destinationStoreOf } from '../../../main/host/forwarding';
import { keychainSkipNote, noKeychainReason, send, startHarness, type Harness } from '../http/harness';
import { makeTls, startReceiver, type TlsFixture } from './tls-fixture';

const FILE_LOADED_S = Date.now() / 1000;

describe.skipIf(noKeychainReason !== null)(`/metrics and forwarding status${keychainSkipNote}`, () => {
  let h: Harness;
  let tls: TlsFixture;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    tls = await makeTls();
    rx = await startReceiver(tls, (_r, res) => res.writeHead(204).end());
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
    await rx?.close();
    tls?.cleanup();
  });

  it('serves the workspace\'s figures to its admin token only, in valid exposition format', async () => {
    destinationStoreOf(h.appliance).add(h.wsA, `name: central\nurl: ${rx.url('/api/v1/write').href}\nauthorization: { credentials: tok-secret-m1 }\ntls_config: { ca: ${JSON.stringify(tls.caPem)} }\n`, { seq: 0, ackedMaxT: null });
    const a = h.appliance.store(h.wsA).appender();
    a.append(0, [{ name: '__name__', value: 'up' }], Date.now(), 1);
    a.commit();
    const api = h.host.api('test');
    const deadline = Date.now() + 10_000;
    while ((await api.forwardingStatus(h.wsA))[0]?.samples.sent !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const st = await api.forwardingStatus(h.wsA);
    expect(st).toHaveLength(1);
    expect(st[0]).toMatchObject({ name: 'central', state: 'running', samples: { sent: 1, dropped: 0 }, tls: { customCa: true } });
    expect(await api.forwardingStatus(h.wsB)).toEqual([]);

    const admin = h.token(h.wsA, ['admin']);
    const r = await send(h, { path: '/metrics', headers: { Authorization: `Bearer ${admin}` } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toContain('text/plain; version=0.0.4');
    expect(r.text).toContain(`ampule_forward_samples_sent_total{workspace="${h.wsA}",destination="central",url="${rx.url('/api/v1/write').href}"} 1`);
    expect(r.text).toContain(`ampule_store_series{workspace="${h.wsA}"} 1`);
    // The process's own figures, under the names Prometheus's client libraries use.
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(r.text)?.[1]);
    expect(gauge('process_resident_memory_bytes')).toBeGreaterThan(gauge('nodejs_heap_size_used_bytes'));
    expect(gauge('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(gauge('nodejs_array_buffers_bytes')).toBeGreaterThan(0);
    expect(gauge('process_cpu_seconds_total')).toBeGreaterThan(0);
    // The server started before this test file was loaded, and not long before (not "now").
    expect(gauge('process_start_time_seconds')).toBeLessThanOrEqual(FILE_LOADED_S + 0.5); // the gauge is rounded to seconds
    expect(gauge('process_start_time_seconds')).toBeGreaterThan(FILE_LOADED_S - 600);
    expect(r.text).not.toContain('tok-secret-m1');
    expect(r.text).not.toContain(h.wsB);
    if (existsSync('/usr/bin/promtool')) execFileSync('/usr/bin/promtool', ['check', 'metrics'], { input: r.text });
    else console.log('promtool missing: exposition format not checked by promtool');

    expect((await send(h, { path: `/workspaces/${h.wsA}/metrics`, headers: { Authorization: `Bearer ${admin}` } })).status).toBe(200);
    expect((await send(h, { path: `/workspaces/${h.wsB}/metrics`, headers: { Authorization: `Bearer ${admin}` } })).status).toBe(403);
    expect((await send(h, { path: '/metrics', headers: { Authorization: `Bearer ${h.token(h.wsA, ['query'])}` } })).status).toBe(403);
    expect((await send(h, { path: '/metrics' })).status).toBe(401);
  });
});
