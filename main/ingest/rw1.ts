// Remote write 1.0: prometheus.WriteRequest. `scanV1` validates the whole body and counts it
// (nothing is stored from a malformed body), noting where each series' labels lie and keeping its
// float samples; `emitV1` then feeds the sink from that layout, without walking the series' fields
// again. Label fields and samples encoded as every sender writes them (one-byte tags and lengths,
// value then timestamp) are read without the general field loop.
import type { Label } from '../../shared/labels';
import { ProtoError, ProtoReader, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './proto';
import { decodeHistogram } from './histogram-proto';
import { KeyScratch, newCounts, type LabelSource, type LabelText, type RequestCounts, type SeriesSink } from './sink';
import { L_CONTIGUOUS, L_END, L_FIRST, L_HISTOGRAMS, L_LABEL_COUNT, L_LABELS_END, L_LABELS_START, L_SAMPLE_AT, L_SAMPLES, L_START, SeriesLayout } from './layout';

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

/** The tags of TimeSeries.labels and .samples and of Sample.value and .timestamp, as one byte each. */
const TAG_LABELS = (SERIES_LABELS << 3) | WIRE_LEN;
const TAG_SAMPLES = (SERIES_SAMPLES << 3) | WIRE_LEN;
const TAG_VALUE = (SAMPLE_VALUE << 3) | WIRE_FIXED64;
const TAG_TIMESTAMP = (SAMPLE_TIMESTAMP << 3) | WIRE_VARINT;

export function scanV1(r: ProtoReader, layout: SeriesLayout): RequestCounts {
  const counts = newCounts();
  const end = r.buf.length;
  let v2Fields = 0;
  layout.reset();
  r.pos = 0;
  while (r.pos < end) {
    r.tag(end);
    if (r.field === REQUEST_TIMESERIES) {
      r.expect(WIRE_LEN, 'WriteRequest.timeseries');
      const seriesEnd = r.lenEnd(end, 'WriteRequest.timeseries');
      scanSeries(r, seriesEnd, counts, layout);
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

/** Validates and counts one TimeSeries, noting its layout and keeping its samples (see SeriesLayout). */
function scanSeries(r: ProtoReader, end: number, counts: RequestCounts, layout: SeriesLayout): void {
  const start = r.pos;
  const buf = r.buf;
  const sampleAt = layout.samples;
  let labelsStart = 0;
  let labelsEnd = 0;
  let labelCount = 0;
  let contiguous = 1;
  let first = -1;
  let samples = 0;
  let histograms = 0;
  let exemplars = 0;
  while (r.pos < end) {
    const fieldStart = r.pos;
    const tag = buf[fieldStart]!;
    const len = fieldStart + 1 < end ? buf[fieldStart + 1]! : 0x80;
    if (tag === TAG_LABELS && len < 0x80 && fieldStart + 2 + len <= end) {
      // A Label field with a one-byte length: skipped as skipMessage would.
      r.pos = fieldStart + 2 + len;
      if (labelCount++ === 0) labelsStart = fieldStart;
      else if (fieldStart !== labelsEnd) contiguous = 0;
      labelsEnd = r.pos;
      continue;
    }
    if (fastSampleField(r, fieldStart, end, layout)) {
      if (first < 0) first = fieldStart;
      samples++;
      continue;
    }
    r.tag(end);
    switch (r.field) {
      case SERIES_LABELS:
        // Label messages are only looked into for a new series (V1Labels.labels), where a
        // malformed one rejects that series; a known series' label bytes were valid before.
        r.skipMessage(end, 'TimeSeries.labels');
        if (labelCount++ === 0) labelsStart = fieldStart;
        else if (fieldStart !== labelsEnd) contiguous = 0;
        labelsEnd = r.pos;
        break;
      case SERIES_SAMPLES:
        r.expect(WIRE_LEN, 'TimeSeries.samples');
        scanSample(r, r.lenEnd(end, 'TimeSeries.samples'), 0, layout);
        if (first < 0) first = fieldStart;
        samples++;
        break;
      case SERIES_EXEMPLARS:
        r.skipMessage(end, 'TimeSeries.exemplars');
        exemplars++;
        break;
      case SERIES_HISTOGRAMS:
        scanHistogram(r, end, 'TimeSeries.histograms');
        if (first < 0) first = fieldStart;
        histograms++;
        break;
      default:
        r.skip(end);
    }
  }
  const at = layout.add(counts, start, end, first, samples, sampleAt, histograms, exemplars);
  const row = layout.rows;
  row[at + L_LABELS_START] = labelsStart;
  row[at + L_LABELS_END] = labelsEnd;
  row[at + L_LABEL_COUNT] = labelCount;
  row[at + L_CONTIGUOUS] = contiguous;
}

/**
 * A TimeSeries.samples field at `fieldStart` (1.0 and 2.0 number it alike) whose Sample is laid out
 * as senders write it — a one-byte length, the value's tag and 8 bytes, the timestamp's tag and a
 * varint of at most 7 bytes (a safe integer), nothing else — kept; false (nothing read) for any
 * other layout, which the general loop then reads.
 */
export function fastSampleField(r: ProtoReader, fieldStart: number, seriesEnd: number, layout: SeriesLayout): boolean {
  const buf = r.buf;
  if (buf[fieldStart] !== TAG_SAMPLES || fieldStart + 1 >= seriesEnd) return false;
  const pos = fieldStart + 2;
  const end = pos + buf[fieldStart + 1]!; // a two-byte length reads as over 17 here
  if (end > seriesEnd || end - pos < 11 || end - pos > 17 || buf[pos] !== TAG_VALUE || buf[pos + 9] !== TAG_TIMESTAMP) return false;
  let t = 0;
  let mul = 1;
  for (let p = pos + 10; p < end; p++, mul *= 0x80) {
    const b = buf[p]!;
    t += (b & 0x7f) * mul;
    if (b < 0x80) {
      if (p + 1 !== end) return false;
      layout.sample(t, r.doubleAt(pos + 1));
      r.pos = end;
      return true;
    }
  }
  return false;
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
 * start_timestamp field number as `startField`, 0 for none) and keeps its value and timestamp in
 * `keep` when given (later fields override earlier ones, as protobuf says).
 */
export function scanSample(r: ProtoReader, end: number, startField = 0, keep?: SeriesLayout): void {
  let t = 0;
  let v = 0;
  let st = 0;
  while (r.pos < end) {
    r.tag(end);
    if (r.field === SAMPLE_VALUE) {
      r.expect(WIRE_FIXED64, 'Sample.value');
      v = r.double(end);
    } else if (r.field === SAMPLE_TIMESTAMP || r.field === startField) {
      const name = r.field === SAMPLE_TIMESTAMP ? 'Sample.timestamp' : 'Sample.start_timestamp';
      r.expect(WIRE_VARINT, name);
      const n = r.int64(end, name);
      if (r.field === SAMPLE_TIMESTAMP) t = n;
      else st = n;
    } else r.skip(end);
  }
  keep?.sample(t, v, st);
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

/**
 * The label fields of the current series: their count known from the scan, their byte ranges
 * found and their strings decoded only when asked for (a new series, or one keyed by scattered fields).
 */
class V1Labels implements LabelSource {
  ranges = new Int32Array(64);
  n = 0;
  private readonly scratch = new KeyScratch();
  private seriesStart = 0;
  private seriesEnd = 0;
  private count = 0;
  private collected = false;

  constructor(
    private readonly r: ProtoReader,
    private readonly text: LabelText,
  ) {}

  /** The series in [start, end) with `count` label fields. */
  of(start: number, end: number, count: number): void {
    this.seriesStart = start;
    this.seriesEnd = end;
    this.count = count;
    this.collected = false;
  }

  /** Finds the byte ranges of the series' label fields. */
  private collect(): void {
    if (this.collected) return;
    this.collected = true;
    const r = this.r;
    const saved = r.pos;
    this.n = 0;
    r.pos = this.seriesStart;
    while (r.pos < this.seriesEnd) {
      const fieldStart = r.pos;
      r.tag(this.seriesEnd);
      const field = r.field;
      r.skip(this.seriesEnd);
      if (field === SERIES_LABELS) this.add(fieldStart, r.pos);
    }
    r.pos = saved;
  }

  private add(start: number, end: number): void {
    if (this.n + 2 > this.ranges.length) {
      const grown = new Int32Array(this.ranges.length * 2);
      grown.set(this.ranges);
      this.ranges = grown;
    }
    this.ranges[this.n++] = start;
    this.ranges[this.n++] = end;
  }

  /** Hands the series to the sink keyed by its label fields' bytes copied together (other fields sit between them). */
  beginScattered(sink: SeriesSink, samples: number, histograms: number): boolean {
    this.collect();
    const { ranges, n } = this;
    const buf = this.r.buf;
    const scratch = this.scratch;
    scratch.length = 0;
    for (let i = 0; i < n; i += 2) scratch.bytes(buf, ranges[i]!, ranges[i + 1]!);
    return sink.series(scratch.buf, 0, scratch.length, this, samples, histograms);
  }

  labelCount(): number {
    return this.count;
  }

  labels(max = Infinity): Label[] | null {
    this.collect();
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
          const text = this.text(r.buf, r.pos, e);
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

/** Feeds the sink the series of a body scanned by scanV1 into `layout`, in order, without walking their fields again. */
export function emitV1(r: ProtoReader, layout: SeriesLayout, sink: SeriesSink, text: LabelText): void {
  const labels = new V1Labels(r, text);
  const buf = r.buf;
  const rows = layout.rows;
  for (let i = 0; i < layout.count; i++) {
    const at = i * SeriesLayout.ROW;
    const count = rows[at + L_LABEL_COUNT]!;
    const samples = rows[at + L_SAMPLES]!;
    const histograms = rows[at + L_HISTOGRAMS]!;
    labels.of(rows[at + L_START]!, rows[at + L_END]!, count);
    // Keyed by the raw bytes of its label fields: one range of the body in practice.
    let wanted: boolean;
    if (count === 0) wanted = sink.series(buf, 0, 0, labels, samples, histograms);
    else if (rows[at + L_CONTIGUOUS] === 1) wanted = sink.series(buf, rows[at + L_LABELS_START]!, rows[at + L_LABELS_END]!, labels, samples, histograms);
    else wanted = labels.beginScattered(sink, samples, histograms);
    if (wanted) emitRow(r, layout, at, sink, SERIES_HISTOGRAMS);
  }
  r.pos = buf.length;
}

/**
 * Feeds the sink the data of the series in layout row `at` (1.0 and 2.0 alike; 2.0 passes its
 * start_timestamp field number as `startField`): the float samples the scan kept, or, when the
 * series has histograms, its fields walked again so that histograms come in body order among them.
 */
export function emitRow(r: ProtoReader, layout: SeriesLayout, at: number, sink: SeriesSink, histogramField: number, startField = 0): void {
  const { rows, times, values, starts } = layout;
  const first = rows[at + L_FIRST]!;
  if (first < 0) return;
  if (rows[at + L_HISTOGRAMS]! > 0) return emitSeriesData(r, first, rows[at + L_END]!, SERIES_SAMPLES, histogramField, sink, startField);
  const sampleAt = rows[at + L_SAMPLE_AT]!;
  for (let k = sampleAt; k < sampleAt + rows[at + L_SAMPLES]!; k++) sink.sample(times[k]!, values[k]!, starts[k]!);
}
