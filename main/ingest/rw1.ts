// Remote write 1.0: prometheus.WriteRequest. `scanV1` validates the whole body and counts it
// (nothing is stored from a malformed body); `emitV1` then feeds the sink.
import type { Label } from '../../shared/labels';
import { ProtoError, ProtoReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './proto';
import { decodeHistogram } from './histogram-proto';
import { KeyScratch, newCounts, utf8Text, type LabelSource, type RequestCounts, type SeriesSink } from './sink';

const REQUEST_TIMESERIES = 1;
const REQUEST_METADATA = 3;
const SERIES_LABELS = 1;
const SERIES_SAMPLES = 2;
const SERIES_EXEMPLARS = 3;
const SERIES_HISTOGRAMS = 4;
const LABEL_NAME = 1;
const LABEL_VALUE = 2;
/** 2.0's request fields, to recognise a 2.0 body sent as 1.0. */
const V2_SYMBOLS = 4;
const V2_TIMESERIES = 5;
export const V1_CONTENT_TYPE = 'application/x-protobuf';
export const V2_CONTENT_TYPE = 'application/x-protobuf;proto=io.prometheus.write.v2.Request';
const SAMPLE_VALUE = 1;
const SAMPLE_TIMESTAMP = 2;

export function scanV1(r: ProtoReader): RequestCounts {
  const counts = newCounts();
  const end = r.buf.length;
  let v2Fields = 0;
  r.pos = 0;
  while (r.pos < end) {
    r.tag(end);
    if (r.field === REQUEST_TIMESERIES) {
      r.expect(WIRE_LEN, 'WriteRequest.timeseries');
      scanSeries(r, r.lenEnd(end, 'WriteRequest.timeseries'), counts);
      counts.series++;
    } else if (r.field === REQUEST_METADATA) {
      r.skipMessage(end, 'WriteRequest.metadata');
      counts.metadata++;
    } else {
      if (r.field === V2_SYMBOLS || r.field === V2_TIMESERIES) v2Fields++;
      r.skip(end);
    }
  }
  if (v2Fields > 0 && counts.series === 0 && counts.metadata === 0) {
    throw new ProtoError(`this is a remote write 2.0 body; send it with Content-Type: ${V2_CONTENT_TYPE}`);
  }
  return counts;
}

function scanSeries(r: ProtoReader, end: number, counts: RequestCounts): void {
  while (r.pos < end) {
    r.tag(end);
    switch (r.field) {
      case SERIES_LABELS:
        // Label messages are only looked into for a new series (V1Labels.labels), where a
        // malformed one rejects that series; a known series' label bytes were valid before.
        r.skipMessage(end, 'TimeSeries.labels');
        break;
      case SERIES_SAMPLES:
        r.expect(WIRE_LEN, 'TimeSeries.samples');
        scanSample(r, r.lenEnd(end, 'TimeSeries.samples'));
        counts.samples++;
        break;
      case SERIES_EXEMPLARS:
        r.skipMessage(end, 'TimeSeries.exemplars');
        counts.exemplars++;
        break;
      case SERIES_HISTOGRAMS:
        scanHistogram(r, end, 'TimeSeries.histograms');
        counts.histograms++;
        break;
      default:
        r.skip(end);
    }
  }
}

/** Validates one Histogram field's wire format (1.0 and 2.0 share the message). */
export function scanHistogram(r: ProtoReader, end: number, what: string): void {
  r.expect(WIRE_LEN, what);
  decodeHistogram(r, r.lenEnd(end, what));
}

/** Emits the samples and histograms of a series already scanned, from `first` to `seriesEnd`. */
export function emitSeriesData(r: ProtoReader, first: number, seriesEnd: number, sampleField: number, histogramField: number, sink: SeriesSink, startField = 0): void {
  r.pos = first;
  while (r.pos < seriesEnd) {
    r.tag(seriesEnd);
    if (r.field === sampleField) emitSample(r, r.lenEnd(seriesEnd, 'TimeSeries.samples'), sink, startField);
    else if (r.field === histogramField) sink.histogram(decodeHistogram(r, r.lenEnd(seriesEnd, 'TimeSeries.histograms')));
    else r.skip(seriesEnd);
  }
}

/**
 * Validates one Sample message (1.0 and 2.0 share value=1, timestamp=2; 2.0 passes its
 * start_timestamp field number as `startField`, 0 for none).
 */
export function scanSample(r: ProtoReader, end: number, startField = 0): void {
  while (r.pos < end) {
    r.tag(end);
    if (r.field === SAMPLE_VALUE) {
      r.expect(WIRE_FIXED64, 'Sample.value');
      r.double(end);
    } else if (r.field === SAMPLE_TIMESTAMP || r.field === startField) {
      const name = r.field === SAMPLE_TIMESTAMP ? 'Sample.timestamp' : 'Sample.start_timestamp';
      r.expect(WIRE_VARINT, name);
      r.int64(end, name);
    } else r.skip(end);
  }
}

/** Decodes a Sample already validated by scanSample and hands it to the sink. */
export function emitSample(r: ProtoReader, end: number, sink: SeriesSink, startField = 0): void {
  let t = 0;
  let v = 0;
  let st = 0;
  while (r.pos < end) {
    r.tag(end);
    if (r.field === SAMPLE_VALUE) v = r.double(end);
    else if (r.field === SAMPLE_TIMESTAMP) t = r.int64(end, 'Sample.timestamp');
    else if (r.field === startField) st = r.int64(end, 'Sample.start_timestamp');
    else r.skip(end);
  }
  sink.sample(t, v, st);
}

/** The label fields of the current series, as byte ranges; decoded only on demand. */
class V1Labels implements LabelSource {
  ranges = new Int32Array(64);
  n = 0;
  private readonly scratch = new KeyScratch();
  constructor(
    private readonly r: ProtoReader,
    private readonly intern: (s: string) => string,
  ) {}

  add(start: number, end: number): void {
    if (this.n + 2 > this.ranges.length) {
      const grown = new Int32Array(this.ranges.length * 2);
      grown.set(this.ranges);
      this.ranges = grown;
    }
    this.ranges[this.n++] = start;
    this.ranges[this.n++] = end;
  }

  /**
   * Hands the series to the sink keyed by the raw bytes of its label fields: one range of the
   * body in practice, copied together only when other fields sit between labels.
   */
  begin(sink: SeriesSink, samples: number, histograms: number): boolean {
    const { ranges, n } = this;
    const buf = this.r.buf;
    if (n === 0) return sink.series(buf, 0, 0, this, samples, histograms);
    let contiguous = true;
    for (let i = 1; i < n - 1; i += 2) if (ranges[i] !== ranges[i + 1]) contiguous = false;
    if (contiguous) return sink.series(buf, ranges[0]!, ranges[n - 1]!, this, samples, histograms);
    const scratch = this.scratch;
    scratch.length = 0;
    for (let i = 0; i < n; i += 2) scratch.bytes(buf, ranges[i]!, ranges[i + 1]!);
    return sink.series(scratch.buf, 0, scratch.length, this, samples, histograms);
  }

  labelCount(): number {
    return this.n / 2;
  }

  labels(max = Infinity): Label[] | null {
    const r = this.r;
    const saved = r.pos;
    try {
      return this.decode(max);
    } catch (err) {
      if (err instanceof ProtoError) return null;
      throw err;
    } finally {
      r.pos = saved;
    }
  }

  private decode(max: number): Label[] | null {
    const r = this.r;
    const out: Label[] = [];
    for (let i = 0; i < this.n && out.length < max; i += 2) {
      // Skip the field's tag and length to reach the Label message body.
      r.pos = this.ranges[i]!;
      const end = this.ranges[i + 1]!;
      r.tag(end);
      r.lenEnd(end, 'TimeSeries.labels');
      let name: string | null = '';
      let value: string | null = '';
      while (r.pos < end) {
        r.tag(end);
        if (r.field === LABEL_NAME || r.field === LABEL_VALUE) {
          r.expect(WIRE_LEN, 'Label');
          const e = r.lenEnd(end, 'Label');
          const text = utf8Text(r.buf, r.pos, e, this.intern);
          if (r.field === LABEL_NAME) name = text;
          else value = text;
          r.pos = e;
        } else r.skip(end);
      }
      if (name === null || value === null) return null;
      out.push({ name, value });
    }
    return out;
  }
}

export function emitV1(r: ProtoReader, sink: SeriesSink, intern: (s: string) => string): void {
  const end = r.buf.length;
  const labels = new V1Labels(r, intern);
  r.pos = 0;
  while (r.pos < end) {
    r.tag(end);
    const topField: number = r.field;
    if (topField !== REQUEST_TIMESERIES) {
      r.skip(end);
      continue;
    }
    const seriesEnd = r.lenEnd(end, 'WriteRequest.timeseries');
    labels.n = 0;
    let samples = 0;
    let histograms = 0;
    let first = -1;
    while (r.pos < seriesEnd) {
      const fieldStart = r.pos;
      r.tag(seriesEnd);
      const field = r.field;
      r.skip(seriesEnd);
      if (field === SERIES_LABELS) labels.add(fieldStart, r.pos);
      else if (field === SERIES_SAMPLES) {
        if (samples++ === 0 && first < 0) first = fieldStart;
      } else if (field === SERIES_HISTOGRAMS) {
        if (histograms++ === 0 && first < 0) first = fieldStart;
      }
    }
    if (labels.begin(sink, samples, histograms) && first >= 0) emitSeriesData(r, first, seriesEnd, SERIES_SAMPLES, SERIES_HISTOGRAMS, sink);
    r.pos = seriesEnd;
  }
}
