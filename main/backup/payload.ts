// What a workspace backup holds once decrypted: a logical dump, independent of the store's file
// layout and of any key (restoring re-encrypts under the target's own data key).
//
//   record := u8 type | u32 length | body
//   1 manifest  JSON (workspace alias, tags, settings)
//   2 series    u32 labels length | labels JSON | u32 n | n × f64 timestamp | n × f64 value (raw bits)
//   3 end       JSON { series, samples }  — the restore checks its counts against it
//   4 histograms u32 labels length | labels JSON | varint n | n × (f64 timestamp, histogram) (tsdb/histogram-record);
//               follows the series record of the same labels; its samples count in `samples`
import type { Labels } from '../../shared/labels';
import type { Querier, SeriesData } from '../tsdb/types';
import { BackupError } from './frames';
import { ByteReader, ByteWriter } from '../tsdb/bytes';
import { readHistogram, writeHistogram } from '../tsdb/histogram-record';
import type { FloatHistogram, HistogramSamples } from '../tsdb/histogram';

export interface BackupManifest {
  readonly format: 'ampule-workspace';
  readonly version: 1;
  readonly createdAt: string;
  readonly workspace: { readonly workspaceId: string; readonly alias: string; readonly tags: Readonly<Record<string, string>> };
  /** Settings restored alongside (retention, ingest rules); opaque to this module. */
  readonly settings: Readonly<Record<string, unknown>>;
}

export type PayloadItem =
  | { readonly type: 'manifest'; readonly manifest: BackupManifest }
  | { readonly type: 'series'; readonly series: SeriesData }
  | { readonly type: 'end'; readonly series: number; readonly samples: number };

const MANIFEST = 1, SERIES = 2, END = 3, HISTOGRAMS = 4;
/** Histogram samples per record: a histogram of a few hundred buckets is a few KiB. */
const HISTOGRAMS_PER_RECORD = 256;
/** Samples per series record: bounds memory on both sides. */
const MAX_SAMPLES_PER_RECORD = 1 << 16;
const MAX_RECORD = 16 + 2 * 8 * MAX_SAMPLES_PER_RECORD + (1 << 20);

function record(type: number, body: Buffer): Buffer {
  const head = Buffer.allocUnsafe(5);
  head[0] = type;
  head.writeUInt32LE(body.length, 1);
  return Buffer.concat([head, body]);
}

export function encodeSeries(labels: Labels, ts: Float64Array, vs: Float64Array): Buffer {
  const l = Buffer.from(JSON.stringify(labels.map((x) => [x.name, x.value])), 'utf8');
  const n = ts.length;
  const body = Buffer.allocUnsafe(8 + l.length + 16 * n);
  body.writeUInt32LE(l.length, 0);
  l.copy(body, 4);
  body.writeUInt32LE(n, 4 + l.length);
  const off = 8 + l.length;
  Buffer.from(ts.buffer, ts.byteOffset, n * 8).copy(body, off);
  Buffer.from(vs.buffer, vs.byteOffset, n * 8).copy(body, off + 8 * n);
  return record(SERIES, body);
}

export function encodeHistograms(labels: Labels, h: HistogramSamples, from: number, to: number): Buffer {
  const l = Buffer.from(JSON.stringify(labels.map((x) => [x.name, x.value])), 'utf8');
  const w = new ByteWriter(4 + l.length + 64 * (to - from));
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32LE(l.length, 0);
  for (const b of len) w.byte(b);
  for (const b of l) w.byte(b);
  w.varint(to - from);
  for (let i = from; i < to; i++) {
    w.float64(h.timestamps[i]!);
    writeHistogram(w, h.values[i]!);
  }
  return record(HISTOGRAMS, w.toBuffer());
}

export interface DumpProgress {
  readonly series: number;
  readonly samples: number;
}

/**
 * Streams a workspace: the manifest, then every series metric by metric (memory bounded by the
 * largest metric), then the end record with the counts.
 */
export async function* dumpWorkspace(manifest: BackupManifest, querier: Querier, onProgress?: (p: DumpProgress) => void): AsyncGenerator<Buffer> {
  yield record(MANIFEST, Buffer.from(JSON.stringify(manifest), 'utf8'));
  let series = 0, samples = 0;
  const names = querier.labelValues('__name__');
  for (const name of names) {
    for (const s of querier.select([{ type: '=', name: '__name__', value: name }], -Number.MAX_VALUE, Number.MAX_VALUE)) {
      for (let i = 0; i < s.timestamps.length || i === 0; i += MAX_SAMPLES_PER_RECORD) {
        const end = Math.min(s.timestamps.length, i + MAX_SAMPLES_PER_RECORD);
        yield encodeSeries(s.labels, s.timestamps.subarray(i, end), s.values.subarray(i, end));
      }
      const h = s.histograms;
      for (let i = 0; h && i < h.timestamps.length; i += HISTOGRAMS_PER_RECORD) yield encodeHistograms(s.labels, h, i, Math.min(h.timestamps.length, i + HISTOGRAMS_PER_RECORD));
      series++;
      samples += s.timestamps.length + (h?.timestamps.length ?? 0);
      onProgress?.({ series, samples });
    }
  }
  yield record(END, Buffer.from(JSON.stringify({ series, samples }), 'utf8'));
}

/** Parses a decrypted payload stream; throws BackupError when it is malformed or its counts disagree. */
export async function* readPayload(source: AsyncIterable<Buffer>): AsyncGenerator<PayloadItem> {
  let pending: Buffer = Buffer.alloc(0);
  let seenManifest = false, ended = false;
  let series = 0, samples = 0;
  let lastKey = '';
  const bad = (why: string) => new BackupError('damaged', `the backup's contents are malformed: ${why}`);
  for await (const chunk of source) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let off = 0;
    while (pending.length - off >= 5) {
      const type = pending[off]!;
      const len = pending.readUInt32LE(off + 1);
      if (len > MAX_RECORD) throw bad(`record of ${len} bytes`);
      if (pending.length - off - 5 < len) break;
      const body = pending.subarray(off + 5, off + 5 + len);
      off += 5 + len;
      if (ended) throw bad('data after the end record');
      if (type === MANIFEST) {
        if (seenManifest) throw bad('two manifests');
        seenManifest = true;
        const manifest = JSON.parse(body.toString('utf8')) as BackupManifest;
        if (manifest.format !== 'ampule-workspace' || manifest.version !== 1) throw bad(`unknown payload format ${String(manifest.format)}`);
        yield { type: 'manifest', manifest };
      } else if (type === SERIES) {
        if (!seenManifest) throw bad('series before the manifest');
        const llen = body.readUInt32LE(0);
        const labelsJson = body.subarray(4, 4 + llen).toString('utf8');
        const labels: Labels = (JSON.parse(labelsJson) as [string, string][]).map(([name, value]) => ({ name, value }));
        const n = body.readUInt32LE(4 + llen);
        const start = 8 + llen;
        if (body.length !== start + 16 * n) throw bad('series record of the wrong size');
        // Copy into aligned arrays (the record may sit at any byte offset).
        const timestamps = new Float64Array(n), values = new Float64Array(n);
        Buffer.from(timestamps.buffer).set(body.subarray(start, start + 8 * n));
        Buffer.from(values.buffer).set(body.subarray(start + 8 * n, start + 16 * n));
        if (labelsJson !== lastKey) series++;
        lastKey = labelsJson;
        samples += n;
        yield { type: 'series', series: { labels, timestamps, values } };
      } else if (type === HISTOGRAMS) {
        if (!seenManifest) throw bad('histograms before the manifest');
        const llen = body.readUInt32LE(0);
        const labelsJson = body.subarray(4, 4 + llen).toString('utf8');
        if (labelsJson !== lastKey) throw bad('histograms without their series record');
        const labels: Labels = (JSON.parse(labelsJson) as [string, string][]).map(([name, value]) => ({ name, value }));
        let histograms: HistogramSamples;
        try {
          const r = new ByteReader(Buffer.from(body.subarray(4 + llen)));
          const n = r.varint();
          const timestamps = new Float64Array(n);
          const values: FloatHistogram[] = [];
          for (let i = 0; i < n; i++) {
            timestamps[i] = r.float64();
            values.push(readHistogram(r));
          }
          if (!r.done) throw new RangeError('trailing bytes');
          histograms = { timestamps, values };
        } catch (e) {
          throw bad(`histogram record: ${(e as Error).message}`);
        }
        samples += histograms.timestamps.length;
        yield { type: 'series', series: { labels, timestamps: new Float64Array(0), values: new Float64Array(0), histograms } };
      } else if (type === END) {
        const counts = JSON.parse(body.toString('utf8')) as { series: number; samples: number };
        if (counts.series !== series || counts.samples !== samples) throw bad(`it announces ${counts.series} series / ${counts.samples} samples but holds ${series} / ${samples}`);
        ended = true;
        yield { type: 'end', ...counts };
      } else throw bad(`unknown record type ${type}`);
    }
    pending = pending.subarray(off);
  }
  if (pending.length || !ended) throw bad('it ends before its end record');
}
