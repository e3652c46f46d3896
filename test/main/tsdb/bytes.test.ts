import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from '../../../main/tsdb/bytes';

describe('ByteWriter.string', () => {
  it('writes ASCII, multi-byte, 127/128-character and lone-surrogate strings as UTF-8 that ByteReader reads back', () => {
    const strings = ['', 'job', 'a'.repeat(127), 'b'.repeat(128), 'x'.repeat(5000), 'région', '日本語', '🚀 rocket', 'a\u00ffz'];
    const w = new ByteWriter(4); // grows as it goes
    for (const s of strings) w.string(s);
    w.string('\ud800'); // a lone surrogate: written as U+FFFD, as TextEncoder would
    const buf = Buffer.from(w.toBuffer());
    const r = new ByteReader(buf);
    for (const s of strings) expect(r.string()).toBe(s);
    expect(r.string()).toBe('\ufffd');
    // The length prefix is in bytes, not characters.
    const one = new ByteWriter();
    one.string('é');
    expect([...one.toBuffer()]).toEqual([2, 0xc3, 0xa9]);
  });
});
