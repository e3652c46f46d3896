// Remote write 2.0: io.prometheus.write.v2.Request. Labels are pairs of references into the
// request's symbol table. `scanV2` validates the body (including every reference), notes where
// the symbols are and, as 1.0's scan does, each series' references and float samples (./layout);
// `emitV2` then feeds the sink from that layout.
import type { Label } from '../../shared/labels';
import { ProtoError, ProtoReader, WIRE_LEN, WIRE_VARINT } from './proto';
import { L_HISTOGRAMS, L_LABEL_COUNT, L_LABELS_START, L_META_END, L_META_START, L_SAMPLES, SeriesLayout } from './layout';
import { emitRow, fastSampleField, scanHistogram, scanSample, V1_CONTENT_TYPE } from './rw1';
import { KeyScratch, newCounts, type LabelSource, type LabelText, type RequestCounts, type SeriesSink } from './sink';

const REQUEST_SYMBOLS = 4;
const REQUEST_TIMESERIES = 5;
/** 1.0's WriteRequest.timeseries, to recognise a 1.0 body sent as 2.0. */
const V1_TIMESERIES = 1;
const SERIES_LABEL_REFS = 1;
const SERIES_SAMPLES = 2;
const SERIES_HISTOGRAMS = 3;
const SERIES_EXEMPLARS = 4;
const SERIES_METADATA = 5;
/** Sample.start_timestamp (int64 ms; 0 = unknown). */
const SAMPLE_START_TIMESTAMP = 3;

/** Starts 2.0 keys: a 1.0 key starts with a label field tag (0x0a or 0x8a), so they never collide. */
const V2_KEY_PREFIX = 0xff;

/** A request's symbol table as byte ranges of the body; strings are decoded only for new series. */
export class Symbols {
  ranges = new Int32Array(256);
  count = 0;

  add(start: number, end: number): void {
    if (2 * this.count + 2 > this.ranges.length) {
      const grown = new Int32Array(this.ranges.length * 2);
      grown.set(this.ranges);
      this.ranges = grown;
    }
    this.ranges[2 * this.count] = start;
    this.ranges[2 * this.count + 1] = end;
    this.count++;
  }
}

export function scanV2(r: ProtoReader, symbols: Symbols, layout: SeriesLayout): RequestCounts {
  const end = r.buf.length;
  symbols.count = 0;
  r.pos = 0;
  while (r.pos < end) {
    r.tag(end);
    if (r.field === REQUEST_SYMBOLS) {
      r.expect(WIRE_LEN, 'Request.symbols');
      const e = r.lenEnd(end, 'Request.symbols');
      symbols.add(r.pos, e);
      r.pos = e;
    } else r.skip(end);
  }
  if (symbols.count > 0 && symbols.ranges[0] !== symbols.ranges[1]) throw new ProtoError('symbols[0] must be the empty string');

  const counts = newCounts();
  let v1Fields = 0;
  layout.reset();
  r.pos = 0;
  while (r.pos < end) {
    r.tag(end);
    if (r.field === REQUEST_TIMESERIES) {
      r.expect(WIRE_LEN, 'Request.timeseries');
      scanSeries(r, r.lenEnd(end, 'Request.timeseries'), symbols.count, counts, layout);
      counts.series++;
    } else {
      if (r.field === V1_TIMESERIES) v1Fields++;
      r.skip(end);
    }
  }
  if (v1Fields > 0 && counts.series === 0) {
    throw new ProtoError(`this is a remote write 1.0 body; send it with Content-Type: ${V1_CONTENT_TYPE}`);
  }
  return counts;
}

/** Validates and counts one TimeSeries, noting its references and samples in `layout`. */
function scanSeries(r: ProtoReader, end: number, symbolCount: number, counts: RequestCounts, layout: SeriesLayout): void {
  const start = r.pos;
  const refsAt = layout.refCount;
  const sampleAt = layout.samples;
  let first = -1;
  let samples = 0;
  let histograms = 0;
  let exemplars = 0;
  let metaStart = -1;
  let metaEnd = -1;
  while (r.pos < end) {
    const fieldStart = r.pos;
    if (fastSampleField(r, fieldStart, end, layout)) {
      if (first < 0) first = fieldStart;
      samples++;
      continue;
    }
    r.tag(end);
    switch (r.field) {
      case SERIES_LABEL_REFS: {
        // Packed (the norm) or, as protobuf allows, one unpacked varint per field.
        if (r.wire === WIRE_LEN) {
          const e = r.lenEnd(end, 'TimeSeries.labels_refs');
          while (r.pos < e) layout.ref(checkRef(r.varint(e), symbolCount));
        } else {
          r.expect(WIRE_VARINT, 'TimeSeries.labels_refs');
          layout.ref(checkRef(r.varint(end), symbolCount));
        }
        break;
      }
      case SERIES_SAMPLES:
        r.expect(WIRE_LEN, 'TimeSeries.samples');
        scanSample(r, r.lenEnd(end, 'TimeSeries.samples'), SAMPLE_START_TIMESTAMP, layout);
        if (first < 0) first = fieldStart;
        samples++;
        break;
      case SERIES_HISTOGRAMS:
        scanHistogram(r, end, 'TimeSeries.histograms');
        if (first < 0) first = fieldStart;
        histograms++;
        break;
      case SERIES_EXEMPLARS:
        r.skipMessage(end, 'TimeSeries.exemplars');
        exemplars++;
        break;
      case SERIES_METADATA:
        // Read after the samples are stored (metadataV2): a malformed one refuses only itself.
        r.expect(WIRE_LEN, 'TimeSeries.metadata');
        metaEnd = r.lenEnd(end, 'TimeSeries.metadata');
        metaStart = r.pos;
        r.pos = metaEnd;
        counts.metadata++;
        break;
      default:
        r.skip(end);
    }
  }
  const refs = layout.refCount - refsAt;
  if (refs % 2 !== 0) throw new ProtoError(`TimeSeries.labels_refs has an odd number (${refs}) of references; they come in name/value pairs`);
  const at = layout.add(counts, start, end, first, samples, sampleAt, histograms, exemplars);
  const row = layout.rows;
  row[at + L_LABELS_START] = refsAt;
  row[at + L_LABEL_COUNT] = refs;
  row[at + L_META_START] = metaStart;
  row[at + L_META_END] = metaEnd;
}

function checkRef(ref: number, symbolCount: number): number {
  if (ref >= symbolCount) throw new ProtoError(`label reference ${ref} is out of range: the request has ${symbolCount} symbols`);
  return ref;
}

/** Label strings by their bytes (the ingest state's LabelStrings): their text, and an id for series keys. */
export interface SymbolStrings {
  text: LabelText;
  id(buf: Uint8Array, start: number, end: number): number;
}

/** The label references of the current series: refs[from, from + n) of the layout's. */
class V2Labels implements LabelSource {
  from = 0;
  n = 0;
  private readonly scratch = new KeyScratch();
  /** Each symbol's id in `strings`, -1 when not kept there; NaN until looked up (once a request). */
  private readonly ids: Float64Array;
  constructor(
    private readonly buf: Buffer,
    private readonly symbols: Symbols,
    private readonly refs: Uint32Array,
    private readonly strings: SymbolStrings,
  ) {
    this.ids = new Float64Array(symbols.count).fill(NaN);
  }

  /**
   * Hands the series to the sink keyed by its label strings' ids (a symbol table differs from one
   * request to the next; the ids do not): each an even varint, or, for a string the label strings
   * do not keep, an odd one (2 × length + 1) and its bytes. Short, and one string at a time is
   * looked up once a request, not copied once a series.
   */
  begin(sink: SeriesSink, samples: number, histograms: number): boolean {
    const { scratch, buf, ids, refs } = this;
    const ranges = this.symbols.ranges;
    scratch.length = 0;
    scratch.byte(V2_KEY_PREFIX);
    for (let i = this.from; i < this.from + this.n; i++) {
      const ref = refs[i]!;
      const start = ranges[2 * ref]!;
      const end = ranges[2 * ref + 1]!;
      let id = ids[ref]!;
      if (id !== id) id = ids[ref] = this.strings.id(buf, start, end);
      if (id >= 0) scratch.varint(2 * id);
      else {
        scratch.varint(2 * (end - start) + 1);
        scratch.bytes(buf, start, end);
      }
    }
    return sink.series(scratch.buf, 0, scratch.length, this, samples, histograms);
  }

  labelCount(): number {
    return this.n / 2;
  }

  labels(max = Infinity): Label[] | null {
    const out: Label[] = [];
    for (let i = this.from; i < this.from + this.n && out.length < max; i += 2) {
      const name = this.text(this.refs[i]!);
      const value = this.text(this.refs[i + 1]!);
      if (name === null || value === null) return null;
      out.push({ name, value });
    }
    return out;
  }

  private text(ref: number): string | null {
    const ranges = this.symbols.ranges;
    return this.strings.text(this.buf, ranges[2 * ref]!, ranges[2 * ref + 1]!);
  }
}

/** Feeds the sink the series of a body scanned by scanV2 into `layout`, in order, without walking their fields again. */
export function emitV2(r: ProtoReader, symbols: Symbols, layout: SeriesLayout, sink: SeriesSink, strings: SymbolStrings): void {
  const labels = new V2Labels(r.buf, symbols, layout.refs, strings);
  const rows = layout.rows;
  for (let i = 0; i < layout.count; i++) {
    const at = i * SeriesLayout.ROW;
    labels.from = rows[at + L_LABELS_START]!;
    labels.n = rows[at + L_LABEL_COUNT]!;
    if (labels.begin(sink, rows[at + L_SAMPLES]!, rows[at + L_HISTOGRAMS]!)) emitRow(r, layout, at, sink, SERIES_HISTOGRAMS, SAMPLE_START_TIMESTAMP);
  }
  r.pos = r.buf.length;
}
