import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Batch } from '../../../main/forward/batch';
import { parseDestination } from '../../../main/forward/destination';
import { RemoteWriteEncoder } from '../../../main/forward/encode';
import { RemoteWriteSender, retryAfterMs, SendAborted, type SenderOptions } from '../../../main/forward/sender';
import { senderFor } from '../../../main/forward/sender-for';
import { labelsFromRecord } from '../../../shared/labels';
import { decodeBody } from './decode';
import { header, makeTls, startReceiver, type TlsFixture } from './tls-fixture';

let tls: TlsFixture;
beforeAll(async () => {
  tls = await makeTls();
});
afterAll(() => tls.cleanup());

function body(n = 3): Buffer {
  const b = new Batch();
  for (let i = 0; i < n; i++) b.sample(b.add(labelsFromRecord({ __name__: 'm', i: String(i) })), 1_700_000_000_000 + i, i);
  return new RemoteWriteEncoder().encode(b, 'prometheus.WriteRequest');
}

function options(url: URL, extra: Partial<SenderOptions> = {}): SenderOptions {
  return { url, message: 'prometheus.WriteRequest', auth: { kind: 'none' }, ca: tls.caPem, timeoutMs: 2000, minBackoffMs: 10, maxBackoffMs: 40, retryOn429: true, maxConnections: 4, ...extra };
}

describe('remote-write sender', () => {
  it('sends with basic auth, tenant and remote-write headers over TLS with the custom CA', async () => {
    const rx = await startReceiver(tls, (_r, res) => res.writeHead(204).end());
    const s = new RemoteWriteSender(options(rx.url('/api/v1/push'), { auth: { kind: 'basic', username: 'alice', password: 's3cret-pw' }, orgId: 'tenant-1', headers: { 'X-Extra': 'yes' } }));
    try {
      expect(await s.send(body(), 3)).toEqual({ kind: 'sent', status: 204 });
      const r = rx.received[0]!;
      expect(r.url).toBe('/api/v1/push');
      expect(header(r, 'authorization')).toBe(`Basic ${Buffer.from('alice:s3cret-pw').toString('base64')}`);
      expect(header(r, 'x-scope-orgid')).toBe('tenant-1');
      expect(header(r, 'x-extra')).toBe('yes');
      expect(header(r, 'content-encoding')).toBe('snappy');
      expect(header(r, 'x-prometheus-remote-write-version')).toBe('0.1.0');
      expect(decodeBody(r.body, 1)).toHaveLength(3);
      expect(s.counters).toMatchObject({ sent: 3, failed: 0, retried: 0, dropped: 0 });
    } finally {
      s.close();
      await rx.close();
    }
  });

  it('retries 5xx with backoff, then succeeds; counts failed and retried samples', async () => {
    let n = 0;
    const rx = await startReceiver(tls, (_r, res) => (++n <= 2 ? res.writeHead(503).end('overloaded') : res.writeHead(200).end()));
    const s = new RemoteWriteSender(options(rx.url('/w'), { auth: { kind: 'bearer', token: 'tok-123456' } }));
    try {
      expect(await s.send(body(), 3)).toEqual({ kind: 'sent', status: 200 });
      expect(rx.received).toHaveLength(3);
      expect(s.counters).toMatchObject({ sent: 3, failed: 6, retried: 6, dropped: 0 });
      expect(s.lastError?.message).toMatch(/^HTTP 503 from localhost:\d+: overloaded$/);
      expect(header(rx.received[0]!, 'authorization')).toBe('Bearer tok-123456');
    } finally {
      s.close();
      await rx.close();
    }
  });

  it('honours Retry-After on 429', async () => {
    const times: number[] = [];
    const rx = await startReceiver(tls, (_r, res) => {
      times.push(Date.now());
      if (times.length === 1) res.writeHead(429, { 'Retry-After': '1' }).end('slow down');
      else res.writeHead(204).end();
    });
    const s = new RemoteWriteSender(options(rx.url('/w')));
    try {
      expect((await s.send(body(), 3)).kind).toBe('sent');
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
    } finally {
      s.close();
      await rx.close();
    }
  });

  it('with retry_on_http_429 off, a 429 drops the batch like a 400', async () => {
    const rx = await startReceiver(tls, (_r, res) => res.writeHead(429).end());
    const s = new RemoteWriteSender(options(rx.url('/w'), { retryOn429: false }));
    try {
      expect(await s.send(body(), 3)).toEqual({ kind: 'dropped', status: 429, reason: 'http_429' });
    } finally {
      s.close();
      await rx.close();
    }
  });

  it('a 400 drops the batch, counted with its reason, never retried; secrets are redacted from the last error', async () => {
    const rx = await startReceiver(tls, (r, res) => res.writeHead(400).end(`out of order sample; you sent ${header(r, 'authorization')}\n${'x'.repeat(1000)}`));
    const s = new RemoteWriteSender(options(rx.url('/w'), { auth: { kind: 'bearer', token: 'very-secret-token' } }));
    try {
      expect(await s.send(body(), 3)).toEqual({ kind: 'dropped', status: 400, reason: 'http_400' });
      expect(await s.send(body(2), 2)).toEqual({ kind: 'dropped', status: 400, reason: 'http_400' });
      expect(rx.received).toHaveLength(2);
      expect(s.counters).toMatchObject({ sent: 0, dropped: 5, retried: 0, droppedByReason: { http_400: 5 } });
      expect(s.lastError!.message).toContain('out of order sample');
      expect(s.lastError!.message).not.toContain('very-secret-token');
      expect(s.lastError!.message.length).toBeLessThan(400);
    } finally {
      s.close();
      await rx.close();
    }
  });

  it('retries when the receiver is unreachable or untrusted, until aborted', async () => {
    const rx = await startReceiver(tls, (_r, res) => res.writeHead(204).end());
    const url = rx.url('/w');
    await rx.close();
    const s = new RemoteWriteSender(options(url));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 800);
    try {
      await expect(s.send(body(), 3, ac.signal)).rejects.toBeInstanceOf(SendAborted);
      expect(s.counters.retried).toBeGreaterThan(0);
      expect(s.lastError!.message).toMatch(/^cannot reach localhost:\d+: .*ECONNREFUSED/);
    } finally {
      s.close();
    }
    // A receiver whose certificate the CA did not sign is refused (no fallback to trusting it).
    const other = await makeTls();
    const rx2 = await startReceiver(other, (_r, res) => res.writeHead(204).end());
    const s2 = new RemoteWriteSender(options(rx2.url('/w')));
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 800);
    try {
      await expect(s2.send(body(), 3, ac2.signal)).rejects.toBeInstanceOf(SendAborted);
      expect(rx2.received).toHaveLength(0);
      expect(s2.lastError!.message).toMatch(/certificate/i);
    } finally {
      s2.close();
      await rx2.close();
      other.cleanup();
    }
  });

  it('a destination definition builds a working sender (2.0 message)', async () => {
    const rx = await startReceiver(tls, (_r, res) => res.writeHead(204).end());
    const d = parseDestination({ url: rx.url('/api/v1/write').href, tls_config: { ca: tls.caPem }, headers: { 'X-Scope-OrgID': 'team' }, protobuf_message: 'io.prometheus.write.v2.Request' });
    const s = senderFor(d, {});
    try {
      const b = new Batch();
      b.sample(b.add(labelsFromRecord({ __name__: 'v2_metric' })), 5, 7);
      expect((await s.send(new RemoteWriteEncoder().encode(b, d.protobufMessage), 1)).kind).toBe('sent');
      const r = rx.received[0]!;
      expect(header(r, 'content-type')).toBe('application/x-protobuf;proto=io.prometheus.write.v2.Request');
      expect(header(r, 'x-prometheus-remote-write-version')).toBe('2.0.0');
      expect(header(r, 'x-scope-orgid')).toBe('team');
      expect(decodeBody(r.body, 2)[0]!.samples).toEqual([{ t: 5, v: 7, bits: 0x401c000000000000n }]);
    } finally {
      s.close();
      await rx.close();
    }
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('3', 0)).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs('soon', 0)).toBeNull();
    expect(retryAfterMs(undefined, 0)).toBeNull();
  });
});

describe('remote-write sender, credential failures', () => {
  it('401/403/404 keep the batch and retry at the longest backoff until fixed', async () => {
    let n = 0;
    const rx = await startReceiver(tls, (_r, res) => (++n <= 2 ? res.writeHead(n === 1 ? 401 : 403).end('expired token') : res.writeHead(204).end()));
    const s = new RemoteWriteSender(options(rx.url('/w'), { minBackoffMs: 1, maxBackoffMs: 150 }));
    const t0 = Date.now();
    try {
      expect(await s.send(body(), 3)).toEqual({ kind: 'sent', status: 204 });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
      expect(s.counters).toMatchObject({ sent: 3, failed: 6, retried: 6, dropped: 0 });
    } finally {
      s.close();
      await rx.close();
    }
  });
});
