// Remote-write 1.0 decoding on the decode thread (a real worker thread) answers and stores exactly
// what decoding on the ingest thread does: the same samples, histograms, exemplars and metadata, the
// same refusals word for word (a snappy bomb, corrupt snappy, malformed protobuf, a 2.0 body sent as
// 1.0); 2.0 bodies stay on the ingest thread; a thread that cannot start, or is closed while it
// decodes, leaves the bodies to the ingest thread and nothing is lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeThread } from '../../../main/ingest/decode-thread';
import { DEFAULT_LIMITS } from '../../../main/ingest/limits';
import { Ingester } from '../../../main/ingest/remote-write';
import { encodeV1, encodeV2, snappy, V1_TYPE, V2_TYPE, type SeriesInput } from './encode';
import { MemoryAppender } from './memory-appender';

const NOW = 1_790_000_000_000;
const LIMITS = { ...DEFAULT_LIMITS, ingestionRate: 1e9, ingestionBurst: 1e9 };

function body(n: number, extra: Partial<SeriesInput> = {}, job = 'api'): SeriesInput[] {
  return Array.from({ length: n }, (_, i) => ({
    labels: [['__name__', 'rq_total'], ['i', String(i)], ['job', job]] as [string, string][],
    samples: [{ t: NOW - 30_000, v: i }, { t: NOW - 15_000, v: i + 0.5 }],
    ...extra,
  }));
}

async function until(what: () => boolean): Promise<void> {
  const end = Date.now() + 20_000;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Ingests `bodies` (compressed) with and without the thread; both outcomes and what each stored. */
async function both(thread: DecodeThread, bodies: { body: Buffer; type?: string }[], limits = LIMITS) {
  const run = async (viaThread: boolean) => {
    const appender = new MemoryAppender();
    const ingester = new Ingester(appender, viaThread ? { decodeThread: () => thread } : {});
    const results = [];
    for (const b of bodies) results.push(await ingester.ingest({ body: b.body, contentType: b.type ?? V1_TYPE, contentEncoding: 'snappy', version: '0.1.0' }, limits, NOW));
    return { results, stored: JSON.stringify(appender.series.slice(1), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) };
  };
  return { off: await run(true), on: await run(false) };
}

describe('the remote-write decode thread', () => {
  let thread: DecodeThread;
  beforeAll(async () => {
    thread = new DecodeThread();
    await until(() => thread.usable);
  });
  afterAll(() => thread.close());

  it('stores and answers exactly as decoding on the ingest thread, body after body', async () => {
    const bodies = [
      { body: snappy(encodeV1(body(300, {}, 'a'))) },
      { body: snappy(encodeV1(body(40, { exemplars: 2 }, 'b'), 3)) },
      { body: snappy(encodeV1(body(5, { samples: [], histograms: 2 }, 'c'))) },
      { body: snappy(encodeV1(body(2000, {}, 'd'))) }, // larger than the memory handed back so far
      { body: snappy(encodeV1(body(10, {}, 'e'))) },
    ];
    const before = thread.decoded;
    const { off, on } = await both(thread, bodies);
    expect(thread.decoded - before).toBe(5);
    expect(off.results.map((r) => r.status)).toEqual([204, 204, 204, 204, 204]);
    expect(off.results).toEqual(on.results);
    expect(off.stored).toEqual(on.stored);
    expect(off.results[3]!.samplesWritten).toBe(4000);
    expect(off.results[1]).toMatchObject({ exemplarsReceived: 80, metadataReceived: 3 });
    expect(off.results[2]!.histogramsWritten).toBe(10);
  });

  it('refuses as the ingest thread does, word for word', async () => {
    const good = snappy(encodeV1(body(50)));
    const bodies = [
      { body: good.subarray(0, good.length - 7) }, // truncated: corrupt snappy
      { body: Buffer.from([0xff, 0xff, 0x3f, 0x00]) }, // declares ~1 MB that 4 bytes cannot hold
      { body: snappy(Buffer.from([0x0a, 0xff, 0xff, 0x01])) }, // a series longer than the body
      { body: snappy(encodeV2(body(3))) }, // 2.0 sent as 1.0
      { body: good },
    ];
    const before = thread.decoded;
    const { off, on } = await both(thread, bodies, { ...LIMITS, maxDecompressedBytes: 1 << 21 });
    expect(thread.decoded - before).toBe(5);
    expect(off.results.map((r) => r.status)).toEqual([400, 400, 400, 400, 204]);
    expect(off.results).toEqual(on.results);
    expect(off.results[0]!.message).toMatch(/corrupt snappy body/);
    expect(off.results[3]!.message).toMatch(/remote write 2\.0 body/);
    const bomb = await both(thread, [{ body: good }], { ...LIMITS, maxDecompressedBytes: 100 });
    expect(bomb.off.results[0]!.status).toBe(413);
    expect(bomb.off.results).toEqual(bomb.on.results);
    expect(off.stored).toEqual(on.stored);
  });

  it('leaves 2.0 bodies to the ingest thread', async () => {
    const before = thread.decoded;
    const { off, on } = await both(thread, [{ body: snappy(encodeV2(body(20))), type: V2_TYPE }]);
    expect(thread.decoded).toBe(before);
    expect(off.results[0]!.status).toBe(204);
    expect(off).toEqual(on);
  });

  it('a thread that cannot start leaves every body to the ingest thread', async () => {
    const broken = new DecodeThread(new URL('data:text/javascript,process.exit(3)'));
    try {
      const appender = new MemoryAppender();
      const ingester = new Ingester(appender, { decodeThread: () => broken });
      const r = await ingester.ingest({ body: snappy(encodeV1(body(30))), contentType: V1_TYPE, contentEncoding: 'snappy', version: '0.1.0' }, LIMITS, NOW);
      expect(r).toMatchObject({ status: 204, samplesWritten: 60 });
      expect(broken.usable).toBe(false);
    } finally {
      await broken.close();
    }
  });

  it('a thread closed while it decodes hands its bodies back: nothing is lost', async () => {
    const closing = new DecodeThread();
    await until(() => closing.usable);
    const appender = new MemoryAppender();
    const ingester = new Ingester(appender, { decodeThread: () => closing });
    const pending = [1, 2, 3].map((k) => ingester.ingest({ body: snappy(encodeV1(body(500 * k, {}, `job${k}`))), contentType: V1_TYPE, contentEncoding: 'snappy', version: '0.1.0' }, LIMITS, NOW));
    await closing.close();
    const results = await Promise.all(pending);
    expect(results.map((r) => r.samplesWritten)).toEqual([1000, 2000, 3000]);
    expect(appender.series.length - 1).toBe(3000);
  });
});
