// The query API's answers as UTF-8 JSON: the bytes of JSON.stringify(response.body), written for
// query and query_range straight from the engine's arrays. Building an array and two strings a
// point, then JSON.stringify, then UTF-8 took ~350 ms of a 721,000-point range answer (18 MB),
// and the collections behind them two thirds of the worker's (885 → 296 ms over nine such answers
// in a profile); written directly, each point costs its two numbers' text.
import { labelsToRecord } from '../../shared/labels';
import { answerOf, type PromApiResponse } from './api';
import { formatFloatF } from './numeric';
import type { QueryValue } from './engine';
import { histogramJSON } from './histogram/json';

const utf8 = new TextEncoder();

/** The response's JSON; its bytes own their buffer (a query worker moves them to the ingest thread). */
export function promApiJson(r: PromApiResponse): Uint8Array<ArrayBuffer> {
  const answer = answerOf(r);
  if (!answer || (answer.value.type !== 'matrix' && answer.value.type !== 'vector')) return utf8.encode(JSON.stringify(r.body));
  // Sized for ~32 bytes a point (`[1700000000,"123.45"],` is 22), so the buffer is not copied as it grows.
  const points = answer.value.type === 'matrix' ? answer.value.series.reduce((n, s) => n + s.ts.length, 0) : answer.value.samples.length;
  const w = new JsonWriter(64 * 1024 + 32 * points);
  w.ascii(`{"status":"success","data":{"resultType":"${answer.value.type}","result":`);
  if (answer.value.type === 'matrix') writeMatrix(w, answer.value.series);
  else writeVector(w, answer.value.samples);
  w.ascii('}');
  // As the body's spread of them: warnings, then infos, each only when there are some.
  for (const [key, value] of Object.entries(answer.extra)) if (value !== undefined) w.text(`,${JSON.stringify(key)}:${JSON.stringify(value)}`);
  w.ascii('}');
  return w.bytes();
}

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

  /** Any text (JSON.stringify's output is well-formed, so UTF-8 holds it exactly). */
  text(s: string): void {
    if (this.n + 3 * s.length > this.buf.length) this.grow(3 * s.length);
    this.n += utf8.encodeInto(s, this.buf.subarray(this.n)).written;
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
