// Every network input is hostile: corrupt compression, malformed protobuf and bad references
// must end in a clear 400/413, never a crash, a hang or a half-stored body.
import { describe, expect, it } from 'vitest';
import type { WorkspaceLimits } from '../../../main/control/types';
import { DEFAULT_LIMITS } from '../../../main/ingest/limits';
import { Ingester } from '../../../main/ingest/remote-write';
import { encodeV1, encodeV2, ProtoWriter, snappy, V1_TYPE, V2_TYPE, type SeriesInput } from './encode';
import { MemoryAppender } from './memory-appender';

const NOW = 1_790_000_000_000;
const UP: SeriesInput = { labels: [['__name__', 'up'], ['job', 'node']], samples: [{ t: NOW, v: 1 }] };

async function sendCompressed(body: Buffer, type = V1_TYPE, limits: Partial<WorkspaceLimits> = {}) {
  const appender = new MemoryAppender();
  const res = await new Ingester(appender).ingest(
    { body, contentType: type, contentEncoding: 'snappy', version: undefined },
    { ...DEFAULT_LIMITS, ...limits },
    NOW,
  );
  return { res, appender };
}

const send = (raw: Buffer, type = V1_TYPE) => sendCompressed(snappy(raw), type);

/** A varint as bytes (the snappy header and hand-made protobuf). */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

describe('snappy bomb guard', () => {
  it('refuses a 16-byte body declaring 4 GiB with 413 before allocating', async () => {
    const body = Buffer.alloc(16);
    Buffer.from(varint(2 ** 32 - 1)).copy(body);
    const before = process.memoryUsage().arrayBuffers;
    const { res } = await sendCompressed(body);
    expect(res.status).toBe(413);
    expect(res.message).toContain('decompressed body of 4294967295 bytes exceeds the limit maxDecompressedBytes=67108864');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
  });

  it('refuses a declared size impossible for the compressed size even under a huge limit', async () => {
    // Were this allocated, 2 GiB would fail or take seconds; the ratio check answers first.
    const body = Buffer.alloc(16);
    Buffer.from(varint(2 ** 31 - 2)).copy(body);
    const before = process.memoryUsage().arrayBuffers;
    const { res } = await sendCompressed(body, V1_TYPE, { maxDecompressedBytes: 2 ** 40 });
    expect(res.status).toBe(400);
    expect(res.message).toContain('declares 2147483646 bytes, impossible for 16 compressed bytes');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
    // Beyond what snappyjs can address: the limit, whatever the workspace allows.
    Buffer.from(varint(2 ** 32 - 1)).copy(body);
    expect((await sendCompressed(body, V1_TYPE, { maxDecompressedBytes: 2 ** 40 })).res.message).toContain('exceeds the limit maxDecompressedBytes=2147483647');
  });

  it('refuses a length header over 32 bits and an empty body', async () => {
    expect((await sendCompressed(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).res.status).toBe(400);
    const empty = (await sendCompressed(Buffer.alloc(0))).res;
    expect(empty.status).toBe(400);
    expect(empty.message).toContain('missing or invalid length header');
  });

  it('refuses truncated, gzip and copy-before-start bodies with a clear 400', async () => {
    const good = snappy(encodeV1([UP, UP, UP]));
    const truncated = (await sendCompressed(good.subarray(0, good.length - 3))).res;
    expect(truncated.status).toBe(400);
    expect(truncated.message).toMatch(/corrupt snappy body/);
    const gzip = (await sendCompressed(Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]))).res;
    expect(gzip.status).toBe(400);
    // Declares 8 bytes, then copies from offset 5 with nothing written yet.
    const copy = (await sendCompressed(Buffer.from([8, 0x01 | (4 << 2), 5]))).res;
    expect(copy.status).toBe(400);
    expect(copy.message).toContain('copy refers before the start of the output');
    // Declares 10 bytes, provides 3.
    const short = (await sendCompressed(Buffer.from([10, 2 << 2, 1, 2, 3]))).res;
    expect(short.message).toContain('output is 3 bytes, header declares 10');
  });

  it('survives random and mutated bodies: only 204/400/413, never a throw', async () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const good = [snappy(encodeV1([UP, { ...UP, exemplars: 1, histograms: 1 }], 2)), snappy(encodeV2([UP, UP]))];
    const statuses = new Set<number>();
    for (let i = 0; i < 1500; i++) {
      let body: Buffer;
      if (i % 3 === 0) body = Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
      else {
        body = Buffer.from(good[i % 2]!);
        for (let k = 0; k < 1 + rand() * 4; k++) body[Math.floor(rand() * body.length)] = Math.floor(rand() * 256);
      }
      const { res, appender } = await sendCompressed(body, i % 2 ? V2_TYPE : V1_TYPE);
      statuses.add(res.status);
      expect([204, 400, 413]).toContain(res.status);
      if (res.status !== 204) expect(appender.series.length - 1).toBeLessThanOrEqual(res.samplesWritten + res.histogramsWritten);
    }
    expect(statuses.has(400)).toBe(true);
  });
});

describe('malformed protobuf (1.0)', () => {
  it('refuses every truncation of a valid body as a whole: nothing stored', async () => {
    const raw = encodeV1([UP, { ...UP, labels: [['__name__', 'down']] }]);
    const firstEnd = encodeV1([UP]).length;
    for (let cut = 1; cut < raw.length; cut++) {
      const { res, appender } = await send(raw.subarray(0, cut));
      if (cut === firstEnd) {
        expect(res.status).toBe(204); // a complete one-series request
        continue;
      }
      expect(res.status, `cut at ${cut}`).toBe(400);
      expect(res.message).toMatch(/^invalid remote-write body: /);
      expect(appender.commits).toBe(0);
    }
  });

  it('names wrong wire types', async () => {
    const cases: [Buffer, string][] = [
      [new ProtoWriter().tag(1, 0).varint(5).finish(), 'WriteRequest.timeseries has wire type varint, expected length-delimited'],
      [new ProtoWriter().message(1, (ts) => ts.tag(2, 1).raw(Buffer.alloc(8))).finish(), 'TimeSeries.samples has wire type fixed64'],
      [new ProtoWriter().message(1, (ts) => ts.message(2, (s) => s.tag(1, 0).varint(1))).finish(), 'Sample.value has wire type varint, expected fixed64'],
      [new ProtoWriter().message(1, (ts) => ts.message(2, (s) => s.double(2, 1))).finish(), 'Sample.timestamp has wire type fixed64, expected varint'],
      [new ProtoWriter().tag(7, 3).finish(), 'unsupported wire type start-group'],
      [new ProtoWriter().tag(7, 6).finish(), 'unsupported wire type 6'],
      [new ProtoWriter().tag(0, 0).varint(1).finish(), 'field number 0'],
    ];
    for (const [raw, expected] of cases) {
      const { res } = await send(raw);
      expect(res.status).toBe(400);
      expect(res.message).toContain(expected);
    }
  });

  it('rejects a series whose Label message is malformed, keeping the others', async () => {
    const good = encodeV1([UP]);
    for (const label of [
      new ProtoWriter().tag(1, 5).raw(Buffer.alloc(4)), // name with wire type fixed32
      new ProtoWriter().tag(1, 2).varint(50).raw(Buffer.from('up')), // name longer than its label
      new ProtoWriter().raw(Buffer.from([0x0a, 0x80])), // truncated length varint
    ]) {
      const bad = new ProtoWriter().message(1, (ts) => ts.bytes(1, label.finish()).message(2, (m) => m.double(1, 1).tag(2, 0).varint(NOW))).finish();
      const { res, appender } = await send(Buffer.concat([bad, good]));
      expect(res.status).toBe(400);
      expect(res.samplesWritten).toBe(1);
      expect(res.message).toContain('not a valid Label message');
      expect(appender.find('up')).toBeDefined();
    }
  });

  it('refuses varints over 10 bytes or 64 bits, lengths past the end, and out-of-range timestamps', async () => {
    const long = Buffer.from([...Array(10).fill(0xff), 0x01]);
    const sampleWith = (ts: Buffer) => new ProtoWriter().message(1, (s) => s.message(2, (m) => m.tag(2, 0).raw(ts))).finish();
    expect((await send(sampleWith(long))).res.message).toContain('varint longer than 10 bytes');
    expect((await send(sampleWith(Buffer.from([...Array(9).fill(0xff), 0x03])))).res.message).toContain('varint overflows 64 bits');
    // 2^63 as int64 is -2^63: not a usable millisecond timestamp.
    expect((await send(sampleWith(Buffer.from([...Array(9).fill(0x80), 0x01])))).res.message).toContain('Sample.timestamp -9223372036854775808 is out of range');
    const past = Buffer.from([0x0a, ...varint(1000), 1, 2, 3]);
    expect((await send(past)).res.message).toContain('WriteRequest.timeseries of 1000 bytes runs past the end');
    const hugeLen = Buffer.from([0x0a, ...Array(9).fill(0xff), 0x01]);
    expect((await send(hugeLen)).res.status).toBe(400);
  });

  it('skips unknown fields of every wire type at every level', async () => {
    const unknown = (w: ProtoWriter) => w.tag(50, 0).varint(7).double(51, 1.5).tag(52, 5).raw(Buffer.alloc(4)).string(53, 'x').bytes(54, Buffer.alloc(0));
    const raw = new ProtoWriter();
    unknown(raw);
    raw.message(1, (ts) => {
      unknown(ts);
      ts.message(1, (l) => unknown(l).string(1, '__name__').string(2, 'up'));
      unknown(ts);
      ts.message(1, (l) => l.string(2, 'node').string(1, 'job'));
      ts.message(2, (s) => unknown(s).tag(2, 0).varint(NOW).double(1, 42));
      unknown(ts);
    });
    const { res, appender } = await send(raw.finish());
    expect(res.status).toBe(204);
    const s = appender.find('up')!;
    expect(s.labels).toEqual([{ name: '__name__', value: 'up' }, { name: 'job', value: 'node' }]);
    expect(s.t).toEqual([NOW]);
    expect(appender.value(s, 0)).toBe(42);
  });
});

describe('field order', () => {
  it('accepts samples before and between labels (protobuf fields may come in any order)', async () => {
    const raw = new ProtoWriter().message(1, (ts) => {
      ts.message(2, (m) => m.double(1, 1).tag(2, 0).varint(NOW));
      ts.message(1, (l) => l.string(1, '__name__').string(2, 'up'));
      ts.message(2, (m) => m.double(1, 2).tag(2, 0).varint(NOW + 1));
      ts.message(1, (l) => l.string(1, 'job').string(2, 'node'));
    });
    const { res, appender } = await send(raw.finish());
    expect(res.status).toBe(204);
    const s = appender.find('up')!;
    expect(s.labels).toEqual([{ name: '__name__', value: 'up' }, { name: 'job', value: 'node' }]);
    expect(s.t).toEqual([NOW, NOW + 1]);
    const v2 = new ProtoWriter().string(4, '').string(4, '__name__').string(4, 'up');
    v2.message(5, (ts) => ts.message(2, (m) => m.double(1, 3).tag(2, 0).varint(NOW)).bytes(1, Buffer.from([1, 2])).message(2, (m) => m.double(1, 4).tag(2, 0).varint(NOW + 1)));
    const r2 = await send(v2.finish(), V2_TYPE);
    expect(r2.res.status).toBe(204);
    expect(r2.appender.find('up')!.t).toEqual([NOW, NOW + 1]);
  });
});

describe('malformed protobuf (2.0)', () => {
  const v2 = (symbols: string[], refs: number[], packed = true) => {
    const w = new ProtoWriter();
    for (const s of symbols) w.string(4, s);
    w.message(5, (ts) => {
      if (packed) {
        const p = new ProtoWriter();
        for (const r of refs) p.varint(r);
        ts.bytes(1, p.finish());
      } else for (const r of refs) ts.tag(1, 0).varint(r);
      ts.message(2, (m) => m.double(1, 7).tag(2, 0).varint(NOW));
    });
    return w.finish();
  };

  it('accepts packed and unpacked label references', async () => {
    for (const packed of [true, false]) {
      const { res, appender } = await send(v2(['', '__name__', 'up'], [1, 2], packed), V2_TYPE);
      expect(res.status).toBe(204);
      expect(appender.find('up')!.t).toEqual([NOW]);
    }
  });

  it('refuses bad symbol references, a non-empty symbols[0], odd pairs and invalid UTF-8', async () => {
    const cases: [Buffer, string][] = [
      [v2(['', '__name__', 'up'], [1, 99]), 'label reference 99 is out of range: the request has 3 symbols'],
      [v2(['x', '__name__', 'up'], [1, 2]), 'symbols[0] must be the empty string'],
      [v2(['', '__name__', 'up'], [1, 2, 1]), 'odd number (3) of references'],
      [v2([], [0, 0]), 'label reference 0 is out of range: the request has 0 symbols'],
    ];
    for (const [raw, expected] of cases) {
      const { res, appender } = await send(raw, V2_TYPE);
      expect(res.status).toBe(400);
      expect(res.message).toContain(expected);
      expect(appender.commits).toBe(0);
    }
  });

  it('rejects a series using a symbol that is not UTF-8, keeping the others', async () => {
    const w = new ProtoWriter().string(4, '').string(4, '__name__').bytes(4, Buffer.from([0xc3, 0x28])).string(4, 'ok');
    for (const ref of [2, 3]) w.message(5, (ts) => ts.bytes(1, Buffer.from([1, ref])).message(2, (m) => m.double(1, 1).tag(2, 0).varint(NOW)));
    const { res, appender } = await send(w.finish(), V2_TYPE);
    expect(res.status).toBe(400);
    expect(res.samplesWritten).toBe(1);
    expect(res.message).toContain('not valid UTF-8');
    expect(appender.find('ok')).toBeDefined();
  });

  it('refuses a reference that runs past its packed field', async () => {
    const w = new ProtoWriter().string(4, '').string(4, 'a');
    w.message(5, (ts) => ts.bytes(1, Buffer.from([0x81])));
    expect((await send(w.finish(), V2_TYPE)).res.message).toContain('truncated');
  });
});
