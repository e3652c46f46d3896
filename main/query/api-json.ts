// The query API's answers as UTF-8 JSON: the bytes of JSON.stringify(response.body), written for
// query and query_range straight from the engine's arrays. Building an array and two strings a
// point, then JSON.stringify, then UTF-8 took ~350 ms of a 721,000-point range answer (18 MB),
// and the collections behind them two thirds of the worker's (885 → 296 ms over nine such answers
// in a profile); written directly, each point costs its two numbers' text.
import { labelsToRecord, type Labels } from '../../shared/labels';
import { answerOf, seriesListingOf, type PromApiResponse } from './api';
import { formatFloatF } from './numeric';
import type { QueryValue } from './engine';
import { histogramJSON } from './histogram/json';

const utf8 = new TextEncoder();

/** The response's JSON; its bytes own their buffer (a query worker moves them to the ingest thread). */
export function promApiJson(r: PromApiResponse): Uint8Array<ArrayBuffer> {
  const listing = seriesListingOf(r);
  if (listing) return seriesJson(listing.sets, listing.extra);
  const answer = answerOf(r);
  if (!answer || (answer.value.type !== 'matrix' && answer.value.type !== 'vector')) return utf8.encode(JSON.stringify(r.body));
  // Sized for ~32 bytes a point (`[1700000000,"123.45"],` is 22), so the buffer is not copied as it grows.
  const points = answer.value.type === 'matrix' ? answer.value.series.reduce((n, s) => n + s.ts.length, 0) : answer.value.samples.length;
  const w = new JsonWriter(64 * 1024 + 32 * points);
  w.ascii(`{"status":"success","data":{"resultType":"${answer.value.type}","result":`);
  if (answer.value.type === 'matrix') writeMatrix(w, answer.value.series);
  else writeVector(w, answer.value.samples);
  w.ascii('}');
  return finish(w, answer.extra);
}

/** The body's extra fields as its spread of them (warnings, then infos, each only when there are some), and the closing brace. */
function finish(w: JsonWriter, extra: Record<string, unknown>): Uint8Array<ArrayBuffer> {
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) w.text(`,${JSON.stringify(key)}:${JSON.stringify(value)}`);
  w.ascii('}');
  return w.bytes();
}

/**
 * A series listing, each set written from its labels: a record a set for JSON.stringify, and the
 * string to encode, took a third of the worker's time on 100,000 series (11.5 MB), most of it
 * collecting them.
 */
function seriesJson(sets: readonly Labels[], extra: Record<string, unknown>): Uint8Array<ArrayBuffer> {
  const w = new JsonWriter(64 * 1024 + 128 * sets.length);
  w.ascii('{"status":"success","data":[');
  for (let i = 0; i < sets.length; i++) {
    if (i > 0) w.ascii(',');
    const start = w.length;
    if (writeLabels(w, sets[i]!)) continue;
    // A record puts integer-like keys first: such a set goes the record's way.
    w.length = start;
    w.text(JSON.stringify(labelsToRecord(sets[i]!)));
  }
  w.ascii(']');
  return finish(w, extra);
}

/** Writes `set` as an object in label order; false (part written) at a name a record would order first. */
function writeLabels(w: JsonWriter, set: Labels): boolean {
  w.ascii('{');
  for (let k = 0; k < set.length; k++) {
    const name = set[k]!.name;
    const c = name.charCodeAt(0);
    if (c >= 0x30 && c <= 0x39 && INTEGER_LIKE.test(name)) return false;
    if (k > 0) w.ascii(',');
    w.quoted(name);
    w.ascii(':');
    w.quoted(set[k]!.value);
  }
  w.ascii('}');
  return true;
}

/** Keys a record orders first (array indexes, below 2^32 - 1; a ten-digit name above that goes the record's way too, which is right for any set). */
const INTEGER_LIKE = /^(?:0|[1-9]\d{0,9})$/;

type Matrix = Extract<QueryValue, { type: 'matrix' }>['series'];
type Vector = Extract<QueryValue, { type: 'vector' }>['samples'];

function writeMatrix(w: JsonWriter, series: Matrix): void {
  const seconds = new SecondsText();
  w.ascii('[');
  for (let i = 0; i < series.length; i++) {
    const s = series[i]!;
    // The metric through JSON.stringify of the same record, so its key order (integer-like names first) is the object's.
    w.text(`${i > 0 ? ',' : ''}{"metric":${JSON.stringify(labelsToRecord(s.metric))}`);
    const hts = s.hts;
    if (s.ts.length > 0 || !hts?.length) {
      w.ascii(',"values":[');
      const { ts, fs } = s;
      for (let k = 0; k < ts.length; k++) {
        w.ascii(k > 0 ? ',[' : '[');
        w.ascii(seconds.of(ts[k]!));
        w.ascii(',"');
        w.ascii(formatFloatF(fs[k]!));
        w.ascii('"]');
      }
      w.ascii(']');
    }
    if (hts?.length) w.text(`,"histograms":${JSON.stringify(hts.map((t, k) => [t / 1000, histogramJSON(s.hs![k]!, formatFloatF)]))}`);
    w.ascii('}');
  }
  w.ascii(']');
}

function writeVector(w: JsonWriter, samples: Vector): void {
  w.ascii('[');
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    w.text(`${i > 0 ? ',' : ''}{"metric":${JSON.stringify(labelsToRecord(s.metric))}`);
    if (s.h) w.text(`,"histogram":${JSON.stringify([s.t / 1000, histogramJSON(s.h, formatFloatF)])}}`);
    else w.ascii(`,"value":[${JSON.stringify(s.t / 1000)},"${formatFloatF(s.f)}"]}`);
  }
  w.ascii(']');
}

/** A timestamp's JSON (seconds): a range answer's series share their steps, so each is formatted once. */
class SecondsText {
  private readonly known = new Map<number, string>();

  of(ms: number): string {
    let s = this.known.get(ms);
    if (s === undefined) {
      if (this.known.size >= 1 << 16) this.known.clear();
      this.known.set(ms, (s = JSON.stringify(ms / 1000)));
    }
    return s;
  }
}

/** UTF-8 JSON into one growing buffer. */
class JsonWriter {
  private buf: Uint8Array<ArrayBuffer>;
  private n = 0;

  constructor(bytes: number) {
    this.buf = new Uint8Array(bytes);
  }

  /** Text known to be ASCII (numbers, punctuation, the keys above). */
  ascii(s: string): void {
    const len = s.length;
    if (this.n + len > this.buf.length) this.grow(len);
    const buf = this.buf;
    let n = this.n;
    for (let i = 0; i < len; i++) buf[n++] = s.charCodeAt(i);
    this.n = n;
  }

  /** `s` as a JSON string: printable ASCII with nothing to escape byte for byte, anything else through JSON.stringify. */
  quoted(s: string): void {
    const len = s.length;
    if (this.n + len + 2 > this.buf.length) this.grow(len + 2);
    const buf = this.buf;
    let n = this.n;
    buf[n++] = 0x22;
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return this.text(JSON.stringify(s));
      buf[n++] = c;
    }
    buf[n++] = 0x22;
    this.n = n;
  }

  /** Any text (JSON.stringify's output is well-formed, so UTF-8 holds it exactly). */
  text(s: string): void {
    if (this.n + 3 * s.length > this.buf.length) this.grow(3 * s.length);
    this.n += utf8.encodeInto(s, this.buf.subarray(this.n)).written;
  }

  /** Bytes written; set lower to take back what was written after. */
  get length(): number {
    return this.n;
  }

  set length(n: number) {
    this.n = n;
  }

  bytes(): Uint8Array<ArrayBuffer> {
    return this.buf.subarray(0, this.n);
  }

  private grow(more: number): void {
    const next = new Uint8Array(Math.max(2 * this.buf.length, this.n + more));
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
  }
}
