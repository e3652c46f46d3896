// Remote write 2.0 is emitted from the layout its scan noted, as 1.0 is: each series in order with
// its references and float samples (start timestamps included), its data emitted only when the
// sink wants the series, histograms in body order among the samples.
import { describe, expect, it } from 'vitest';
import type { DecodedHistogram } from '../../../main/ingest/histogram-proto';
import { SeriesLayout } from '../../../main/ingest/layout';
import { ProtoReader } from '../../../main/ingest/proto';
import { emitV2, scanV2, Symbols } from '../../../main/ingest/rw2';
import type { LabelSource, SeriesSink } from '../../../main/ingest/sink';
import { LabelStrings } from '../../../main/ingest/state';
import { encodeV2, ProtoWriter } from './encode';

/** Every call a sink gets, as text (keys in hex); the series named `skip` is declined. */
function record(body: Buffer, layout: SeriesLayout, strings = new LabelStrings(), skip = ''): string[] {
  const calls: string[] = [];
  const sink: SeriesSink = {
    series(keyBuf: Buffer, keyStart: number, keyEnd: number, source: LabelSource, samples: number, histograms: number): boolean {
      const labels = source.labels() ?? [];
      calls.push(`series ${keyBuf.subarray(keyStart, keyEnd).toString('hex')} ${source.labelCount()} ${labels.map((l) => `${l.name}=${l.value}`).join(',')} ${samples}/${histograms}`);
      return labels[0]?.value !== skip;
    },
    sample(t: number, v: number, st?: number) {
      calls.push(`sample ${t} ${v}${st ? ` from ${st}` : ''}`);
    },
    histogram(d: DecodedHistogram) {
      calls.push(`histogram ${d.t}`);
    },
  };
  const r = new ProtoReader(body);
  const symbols = new Symbols();
  const counts = scanV2(r, symbols, layout);
  emitV2(r, symbols, layout, sink, strings);
  calls.push(`counts ${counts.series} ${counts.samples} ${counts.histograms} ${counts.exemplars} ${counts.metadata}`);
  return calls;
}

const keyOf = (call: string) => call.split(' ')[1];

describe('remote write 2.0 emitted from the scan layout', () => {
  it('emits each series as sent, whatever order its fields come in, with start timestamps and histograms in body order', () => {
    const layout = new SeriesLayout();
    // symbols: '', __name__, mixed, job, x, declined, h
    const body = new ProtoWriter();
    for (const s of ['', '__name__', 'mixed', 'job', 'x', 'declined', 'h']) body.string(4, s);
    body
      .message(5, (ts) => {
        ts.message(2, (m) => m.double(1, 5).tag(2, 0).varint(3000)); // before the labels
        ts.tag(1, 0).varint(1).tag(1, 0).varint(2); // references unpacked, in two fields
        ts.message(2, (m) => m.double(1, 6).tag(2, 0).varint(4000).tag(3, 0).varint(3500)); // with a start timestamp
        ts.tag(9, 0).varint(7); // an unknown field
        ts.bytes(1, new ProtoWriter().varint(3).varint(4).finish());
      })
      .message(5, (ts) => {
        ts.bytes(1, new ProtoWriter().varint(1).varint(5).finish());
        ts.message(2, (m) => m.double(1, 7).tag(2, 0).varint(5000));
      })
      .message(5, (ts) => {
        ts.bytes(1, new ProtoWriter().varint(1).varint(6).finish());
        ts.message(2, (m) => m.double(1, 8).tag(2, 0).varint(6000));
        ts.message(3, (h) => h.tag(1, 0).varint(0).double(3, 0).tag(4, 0).varint(0).tag(15, 0).varint(6500));
        ts.message(2, (m) => m.double(1, 9).tag(2, 0).varint(7000));
      });
    const calls = record(body.finish(), layout, undefined, 'declined');
    expect(calls.map((c) => (c.startsWith('series') ? c.replace(/^series \S+ /, 'series ') : c))).toEqual([
      'series 2 __name__=mixed,job=x 2/0',
      'sample 3000 5',
      'sample 4000 6 from 3500',
      'series 1 __name__=declined 1/0',
      'series 1 __name__=h 2/1',
      'sample 6000 8',
      'histogram 6500',
      'sample 7000 9',
      'counts 3 5 1 0 0',
    ]);
    // One layout for body after body: each scan starts it anew.
    const big = encodeV2(Array.from({ length: 300 }, (_, i) => ({ labels: [['__name__', `m${i}`]] as [string, string][], samples: [{ t: i, v: i }] })));
    const all = record(big, layout);
    expect(layout.count).toBe(300);
    expect(all.at(-2)).toBe('sample 299 299');
    expect(all.filter((c) => c.startsWith('series'))).toHaveLength(300);
  });

  it('keys a series by its strings, not by their places in the symbol table; long strings by their bytes', () => {
    const strings = new LabelStrings();
    const long = 'v'.repeat(200);
    const series = (name: string) => ({ labels: [['__name__', name], ['note', long]] as [string, string][], samples: [{ t: 1, v: 1 }] });
    const first = record(encodeV2([series('a'), series('b')]), new SeriesLayout(), strings);
    const second = record(encodeV2([series('b'), series('a')]), new SeriesLayout(), strings);
    expect(keyOf(second[0]!)).toBe(keyOf(first[2]!)); // b
    expect(keyOf(second[2]!)).toBe(keyOf(first[0]!)); // a
    expect(keyOf(first[0]!)).not.toBe(keyOf(first[2]!));
    expect(keyOf(first[0]!)).toContain(Buffer.from(long).toString('hex')); // not kept as a label string: its bytes
    // Another long value is another key.
    const other = record(encodeV2([{ ...series('a'), labels: [['__name__', 'a'], ['note', `${long}w`]] }]), new SeriesLayout(), strings);
    expect(keyOf(other[0]!)).not.toBe(keyOf(first[0]!));
  });

  it('refuses an odd number of references and a reference past the symbol table', () => {
    const syms = new ProtoWriter().string(4, '').string(4, 'a');
    const odd = Buffer.concat([syms.finish(), new ProtoWriter().message(5, (ts) => ts.bytes(1, new ProtoWriter().varint(1).finish())).finish()]);
    expect(() => scanV2(new ProtoReader(odd), new Symbols(), new SeriesLayout())).toThrow(/odd number \(1\)/);
    const past = Buffer.concat([new ProtoWriter().string(4, '').string(4, 'a').finish(), new ProtoWriter().message(5, (ts) => ts.bytes(1, new ProtoWriter().varint(1).varint(2).finish())).finish()]);
    expect(() => scanV2(new ProtoReader(past), new Symbols(), new SeriesLayout())).toThrow(/reference 2 is out of range/);
  });
});
