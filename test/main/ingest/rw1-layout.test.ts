// Remote write 1.0 is emitted from the layout its scan noted: every series in order, keyed by the
// bytes of its label fields (copied together when other fields sit between them), its label count
// known without decoding, its data emitted only when the sink wants the series.
import { describe, expect, it } from 'vitest';
import { ProtoReader } from '../../../main/ingest/proto';
import { SeriesLayout } from '../../../main/ingest/layout';
import { emitV1, scanV1 } from '../../../main/ingest/rw1';
import { utf8Text, type LabelSource, type SeriesSink } from '../../../main/ingest/sink';
import type { DecodedHistogram } from '../../../main/ingest/histogram-proto';
import { encodeV1, ProtoWriter } from './encode';

const label = (name: string, value: string) => new ProtoWriter().message(1, (l) => l.string(1, name).string(2, value)).finish().toString('hex');

/** Every call a sink gets, as text; the series named `skip` is declined. */
function record(body: Buffer, layout: SeriesLayout, skip = ''): string[] {
  const calls: string[] = [];
  const sink: SeriesSink = {
    series(keyBuf: Buffer, keyStart: number, keyEnd: number, source: LabelSource, samples: number, histograms: number): boolean {
      const count = source.labelCount(); // before any decoding
      const labels = source.labels() ?? [];
      calls.push(`series ${keyBuf.subarray(keyStart, keyEnd).toString('hex')} ${count} ${labels.map((l) => `${l.name}=${l.value}`).join(',')} ${samples}/${histograms}`);
      return labels[0]?.value !== skip;
    },
    sample(t: number, v: number) {
      calls.push(`sample ${t} ${v}`);
    },
    histogram(d: DecodedHistogram) {
      calls.push(`histogram ${d.t}`);
    },
  };
  const r = new ProtoReader(body);
  const counts = scanV1(r, layout);
  emitV1(r, layout, sink, utf8Text);
  calls.push(`counts ${counts.series} ${counts.samples} ${counts.histograms} ${counts.exemplars} ${counts.metadata}`);
  return calls;
}

describe('remote write 1.0 emitted from the scan layout', () => {
  it('keys, counts and emits each series as sent, whatever order its fields come in', () => {
    const layout = new SeriesLayout();
    const ordered = encodeV1(
      [
        { labels: [['__name__', 'up'], ['job', 'node']], samples: [{ t: 1000, v: 1 }, { t: 2000, v: 2 }], exemplars: 1 },
        { labels: [['__name__', 'h']], samples: [{ t: 1000, v: 3 }], histograms: 2 },
        { labels: [], samples: [{ t: 1000, v: 4 }] },
        { labels: [['__name__', 'none']], samples: [] },
      ],
      2,
    );
    expect(record(ordered, layout)).toEqual([
      `series ${label('__name__', 'up')}${label('job', 'node')} 2 __name__=up,job=node 2/0`,
      'sample 1000 1',
      'sample 2000 2',
      `series ${label('__name__', 'h')} 1 __name__=h 1/2`,
      'sample 1000 3',
      'histogram 1000',
      'histogram 1001',
      'series  0  1/0',
      'sample 1000 4',
      `series ${label('__name__', 'none')} 1 __name__=none 0/0`,
      'counts 4 4 2 1 2',
    ]);
    // Samples before, between and after labels, an unknown field among them; a declined series' data is not emitted.
    const mixed = new ProtoWriter()
      .message(1, (ts) => {
        ts.message(2, (m) => m.double(1, 5).tag(2, 0).varint(3000));
        ts.message(1, (l) => l.string(1, '__name__').string(2, 'mixed'));
        ts.message(2, (m) => m.double(1, 6).tag(2, 0).varint(4000));
        ts.tag(9, 0).varint(7);
        ts.message(1, (l) => l.string(1, 'job').string(2, 'x'));
      })
      .message(1, (ts) => {
        ts.message(1, (l) => l.string(1, '__name__').string(2, 'declined'));
        ts.message(2, (m) => m.double(1, 7).tag(2, 0).varint(5000));
      })
      .message(1, (ts) => {
        ts.message(1, (l) => l.string(1, '__name__').string(2, 'after'));
        ts.message(1, (l) => l.string(1, 'zone').string(2, 'a'));
        ts.message(2, (m) => m.double(1, 8).tag(2, 0).varint(6000));
      })
      .finish();
    expect(record(mixed, layout, 'declined')).toEqual([
      `series ${label('__name__', 'mixed')}${label('job', 'x')} 2 __name__=mixed,job=x 2/0`,
      'sample 3000 5',
      'sample 4000 6',
      `series ${label('__name__', 'declined')} 1 __name__=declined 1/0`,
      `series ${label('__name__', 'after')}${label('zone', 'a')} 2 __name__=after,zone=a 1/0`,
      'sample 6000 8',
      'counts 3 4 0 0 0',
    ]);
    // One layout for body after body: it grows, and each scan starts it anew.
    const big = encodeV1(Array.from({ length: 300 }, (_, i) => ({ labels: [['__name__', `m${i}`]] as [string, string][], samples: [{ t: i, v: i }] })));
    const calls = record(big, layout);
    expect(layout.count).toBe(300);
    expect(calls.at(-2)).toBe('sample 299 299');
    expect(calls.filter((c) => c.startsWith('series'))).toHaveLength(300);
    expect(record(mixed, layout)).toHaveLength(8);
    expect(layout.count).toBe(3);
  });

  it('reads samples and labels in any valid layout as it reads those senders write', () => {
    const layout = new SeriesLayout();
    const long = 'x'.repeat(200); // a Label field with a two-byte length
    const body = new ProtoWriter()
      .message(1, (ts) => {
        ts.message(1, (l) => l.string(1, '__name__').string(2, long));
        ts.message(2, (m) => m.double(1, 1.5).tag(2, 0).varint(1_700_000_000_000)); // as senders write it
        ts.message(2, (m) => m.tag(2, 0).varint(1_700_000_015_000).double(1, 2.5)); // timestamp first
        ts.message(2, (m) => m.double(1, 3.5).tag(2, 0).varint(-1000n & 0xffffffffffffffffn)); // negative: 10 bytes
        ts.message(2, (m) => m.double(1, 4.5).tag(2, 0).varint(2 ** 52)); // an 8-byte varint
        ts.message(2, (m) => m.double(1, 9).double(1, 5.5).tag(2, 0).varint(7)); // the last value counts
        ts.message(2, (m) => m.double(1, 6.5).tag(2, 0).varint(8).tag(7, 0).varint(1)); // an unknown field
        ts.message(2, (m) => m.double(1, 7.5)); // no timestamp: 0
      })
      .finish();
    expect(record(body, layout)).toEqual([
      `series ${label('__name__', long)} 1 __name__=${long} 7/0`,
      'sample 1700000000000 1.5',
      'sample 1700000015000 2.5',
      'sample -1000 3.5',
      `sample ${2 ** 52} 4.5`,
      'sample 7 5.5',
      'sample 8 6.5',
      'sample 0 7.5',
      'counts 1 7 0 0 0',
    ]);
    // A sample that looks like the usual layout but is cut short is refused, not read past its end.
    const cut = new ProtoWriter().message(1, (ts) => ts.message(1, (l) => l.string(1, 'a').string(2, 'b')).message(2, (m) => m.double(1, 1).tag(2, 0))).finish();
    expect(() => scanV1(new ProtoReader(cut), layout)).toThrow(/truncated/);
  });
});
