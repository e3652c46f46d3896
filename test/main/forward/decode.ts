// Decodes what the forwarder sends with main/ingest's own decoders (read-only use), so an
// encoding is checked by an implementation written independently of it.
import { ProtoReader } from '../../../main/ingest/proto';
import { SeriesLayout } from '../../../main/ingest/layout';
import { emitV1, scanV1 } from '../../../main/ingest/rw1';
import { emitV2, scanV2, Symbols } from '../../../main/ingest/rw2';
import { utf8Text, type SeriesSink } from '../../../main/ingest/sink';
import { decompressSnappyBlock } from '../../../main/ingest/snappy';
import { LabelStrings } from '../../../main/ingest/state';
import type { Label } from '../../../shared/labels';
import type { DecodedHistogram } from '../../../main/ingest/histogram-proto';

export interface DecodedSeries {
  labels: Label[];
  samples: { t: number; v: number; bits: bigint }[];
  histograms: DecodedHistogram[];
}

export function decodeBody(body: Buffer, version: 1 | 2): DecodedSeries[] {
  const raw = decompressSnappyBlock(body, 64 << 20);
  const r = new ProtoReader(raw);
  const out: DecodedSeries[] = [];
  const bits = new DataView(new ArrayBuffer(8));
  let current: DecodedSeries | null = null;
  const sink: SeriesSink = {
    series(_buf, _s, _e, source) {
      current = { labels: source.labels() ?? [], samples: [], histograms: [] };
      out.push(current);
      return true;
    },
    sample(t, v) {
      bits.setFloat64(0, v);
      current!.samples.push({ t, v, bits: bits.getBigUint64(0) });
    },
    histogram(d) {
      current!.histograms.push(d);
    },
  };
  const layout = new SeriesLayout();
  if (version === 1) {
    scanV1(r, layout);
    emitV1(r, layout, sink, utf8Text);
  } else {
    const symbols = new Symbols();
    scanV2(r, symbols, layout);
    emitV2(r, symbols, layout, sink, new LabelStrings());
  }
  return out;
}
