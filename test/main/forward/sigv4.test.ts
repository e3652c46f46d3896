import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Batch } from '../../../main/forward/batch';
import { RemoteWriteEncoder } from '../../../main/forward/encode';
import { RemoteWriteSender } from '../../../main/forward/sender';
import { SigV4Signer } from '../../../main/forward/sigv4';
import { labelsFromRecord } from '../../../shared/labels';
import { SUITE, VECTORS } from './fixtures/sigv4-vectors';
import { canonicalRequest, verifySigV4 } from './sigv4-verifier';
import { decodeBody } from './decode';
import { makeTls, startReceiver, type TlsFixture } from './tls-fixture';

const AMZ_DATE = '20150830T123600Z';

describe('SigV4 signer against AWS test vectors', () => {
  const signer = new SigV4Signer({ accessKeyId: SUITE.accessKeyId, secretAccessKey: SUITE.secretAccessKey }, SUITE.region, SUITE.service);
  for (const v of VECTORS) {
    it(v.name, async () => {
      const url = new URL(`https://example.amazonaws.com${v.target}`);
      const headers = await signer.sign({ method: v.method, url, headers: Object.fromEntries(v.headers), body: v.body }, SUITE.date);
      const authorization = headers.authorization ?? headers.Authorization;
      expect(authorization).toBe(v.authz);
      // The independent verifier rebuilds the suite's canonical request and string to sign...
      const target = `${url.pathname}${url.search}`;
      const arrived = {
        method: v.method,
        target,
        headers: [['Host', 'example.amazonaws.com'], ...v.headers, ['X-Amz-Date', AMZ_DATE], ['Authorization', authorization!]] as [string, string][],
        body: v.body,
      };
      const signedHeaders = v.creq.split('\n').at(-2)!.split(';');
      expect(canonicalRequest(arrived, signedHeaders)).toBe(v.creq);
      const result = verifySigV4(arrived, (id) => (id === SUITE.accessKeyId ? SUITE.secretAccessKey : undefined), SUITE.region, SUITE.service);
      expect(result.why).toBeUndefined();
      expect(result.canonicalRequest).toBe(v.creq);
      expect(result.stringToSign).toBe(v.sts);
      expect(result.ok).toBe(true);
      // ...and refuses the same request with another body or another secret.
      expect(verifySigV4({ ...arrived, body: `${v.body}x` }, () => SUITE.secretAccessKey, SUITE.region, SUITE.service).ok).toBe(false);
      expect(verifySigV4(arrived, () => 'another secret', SUITE.region, SUITE.service).ok).toBe(false);
    });
  }
});

describe('SigV4 remote write to a verifying receiver', () => {
  let tls: TlsFixture;
  beforeAll(async () => {
    tls = await makeTls();
  });
  afterAll(() => tls.cleanup());

  it('a signed 1.0 request verifies with its session token; a wrong secret gets 403, kept and retried', async () => {
    const keys = new Map([['AKIDAMPULETEST', 'ampule/test+secret']]);
    const rx = await startReceiver(tls, (r, res) => {
      const v = verifySigV4({ method: r.method, target: r.url, headers: r.headers, body: r.body }, (id) => keys.get(id), 'eu-west-1', 'aps');
      const token = r.headers.find(([n]) => n.toLowerCase() === 'x-amz-security-token')?.[1];
      const tokenSigned = /SignedHeaders=[^,]*x-amz-security-token/.test(r.headers.find(([n]) => n.toLowerCase() === 'authorization')?.[1] ?? '');
      res.writeHead(v.ok && token === 'session-token' && tokenSigned ? 204 : 403).end(v.ok ? 'token' : v.why);
    });
    const batch = new Batch();
    batch.sample(batch.add(labelsFromRecord({ __name__: 'up', job: 'amp' })), Date.now(), 1);
    const body = new RemoteWriteEncoder().encode(batch, 'prometheus.WriteRequest');
    const common = {
      url: rx.url('/workspaces/ws-1234/api/v1/remote_write'),
      message: 'prometheus.WriteRequest' as const,
      ca: tls.caPem,
      timeoutMs: 5000,
      minBackoffMs: 10,
      maxBackoffMs: 50,
      retryOn429: true,
      maxConnections: 2,
    };
    const good = new RemoteWriteSender({
      ...common,
      auth: { kind: 'sigv4', signer: new SigV4Signer({ accessKeyId: 'AKIDAMPULETEST', secretAccessKey: 'ampule/test+secret', sessionToken: 'session-token' }, 'eu-west-1') },
    });
    const bad = new RemoteWriteSender({
      ...common,
      auth: { kind: 'sigv4', signer: new SigV4Signer({ accessKeyId: 'AKIDAMPULETEST', secretAccessKey: 'wrong', sessionToken: 'session-token' }, 'eu-west-1') },
    });
    try {
      expect(await good.send(body, 1)).toEqual({ kind: 'sent', status: 204 });
      expect(decodeBody(rx.received[0]!.body, 1)[0]!.labels).toEqual(labelsFromRecord({ __name__: 'up', job: 'amp' }));
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 800);
      await expect(bad.send(body, 1, ac.signal)).rejects.toThrow('send aborted');
      expect(bad.lastError?.message).toContain('signature does not match');
      expect(bad.counters.sent).toBe(0);
      expect(bad.counters.dropped).toBe(0);
      expect(bad.counters.retried).toBeGreaterThan(0);
    } finally {
      good.close();
      bad.close();
      await rx.close();
    }
  });
});
