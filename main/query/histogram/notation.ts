// The promqltest notation of a native histogram, after Prometheus's series-description grammar:
// `{{schema:0 sum:5 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2 1] offset:-1 n_buckets:[1]
// n_offset:2 custom_values:[1 5] counter_reset_hint:gauge}}`, and the sequences
// `{{…}}xN` (N+1 copies) and `{{a}}+{{b}}xN` / `{{a}}-{{b}}xN` (a, a±b, a±2b, …).
import type { CounterResetHint, FloatHistogram, Span } from '../../tsdb/histogram';
import { parseNumber } from '../durations';
import { add, sub } from './ops';

/** A histogram of a series line, and whether its counter reset hint was written (then it must match). */
export interface NotatedHistogram {
  h: FloatHistogram;
  hintSet: boolean;
}

const HINTS: Record<string, CounterResetHint> = { unknown: 'unknown', reset: 'reset', not_reset: 'not_reset', gauge: 'gauge' };

function num(s: string, what: string): number {
  const v = /^[+-]?(inf|nan)$/i.test(s) ? parseNumber(s) : /^[+-]?(0x[0-9a-f]+|[0-9.]+(e[+-]?\d+)?)$/i.test(s) ? parseNumber(s) : null;
  if (v === null || v === undefined) throw new Error(`error parsing ${what} number: ${s}`);
  return v;
}

function int(s: string, what: string): number {
  if (!/^[+-]?\d+$/.test(s)) throw new Error(`error parsing ${what} number: ${s}`);
  return Number(s);
}

/** One `{{…}}` description. */
export function parseHistogramDesc(text: string): NotatedHistogram {
  const m = /^\{\{(.*)\}\}$/s.exec(text.trim());
  if (!m) throw new Error(`invalid histogram description ${JSON.stringify(text)}`);
  const body = m[1]!.trim();
  const fields = new Map<string, string>();
  const re = /([a-z_]+):\s*(\[[^\]]*\]|\S+)/gy;
  let at = 0;
  while (at < body.length) {
    while (/\s/.test(body[at] ?? '')) at++;
    if (at >= body.length) break;
    re.lastIndex = at;
    const f = re.exec(body);
    if (!f) throw new Error(`unexpected histogram description ${JSON.stringify(body.slice(at))}, expected key:value`);
    if (fields.has(f[1]!)) throw new Error(`duplicate key "${f[1]}" in histogram`);
    fields.set(f[1]!, f[2]!);
    at = re.lastIndex;
  }
  const list = (key: string): number[] | undefined => {
    const v = fields.get(key);
    if (v === undefined) return undefined;
    const lm = /^\[(.*)\]$/s.exec(v);
    if (!lm) throw new Error(`error parsing ${key} float array: ${v}`);
    return lm[1]!.trim().split(/\s+/).filter((x) => x !== '').map((x) => num(x, key));
  };
  let hint: CounterResetHint = 'unknown';
  const hv = fields.get('counter_reset_hint');
  if (hv !== undefined) {
    const x = HINTS[hv];
    if (!x) throw new Error(`error parsing counter_reset_hint: ${hv}`);
    hint = x;
  }
  for (const k of fields.keys()) {
    if (!['schema', 'sum', 'count', 'z_bucket', 'z_bucket_w', 'buckets', 'offset', 'n_buckets', 'n_offset', 'custom_values', 'counter_reset_hint'].includes(k)) {
      throw new Error(`unknown histogram description key ${JSON.stringify(k)}`);
    }
  }
  const spans = (buckets: number[] | undefined, offsetKey: string): Span[] => {
    const o = fields.get(offsetKey);
    const offset = o === undefined ? 0 : int(o, offsetKey);
    return buckets && buckets.length > 0 ? [{ offset, length: buckets.length }] : [];
  };
  const pos = list('buckets'), neg = list('n_buckets'), cv = list('custom_values');
  const get = (k: string, parse: (s: string, w: string) => number): number => (fields.has(k) ? parse(fields.get(k)!, k) : 0);
  const h: FloatHistogram = {
    counterResetHint: hint,
    schema: get('schema', int),
    zeroThreshold: get('z_bucket_w', num),
    zeroCount: get('z_bucket', num),
    count: get('count', num),
    sum: get('sum', num),
    positiveSpans: spans(pos, 'offset'),
    positiveBuckets: pos ?? [],
    negativeSpans: spans(neg, 'n_offset'),
    negativeBuckets: neg ?? [],
    ...(cv ? { customValues: cv } : {}),
  };
  return { h, hintSet: hv !== undefined };
}

/** A histogram item of a series line: one description, `xN` repetitions or a `+`/`-` sequence. */
export function parseHistogramItem(text: string): NotatedHistogram[] {
  const m = /^(\{\{.*?\}\})(?:([+-])(\{\{.*?\}\}))?(?:x(\d+))?$/s.exec(text);
  if (!m) throw new Error(`invalid histogram series item ${JSON.stringify(text)}`);
  const base = parseHistogramDesc(m[1]!);
  if (!m[2]) {
    const n = m[4] === undefined ? 0 : Number(m[4]);
    return Array.from({ length: n + 1 }, () => base);
  }
  if (m[4] === undefined) throw new Error(`histogram sequence ${JSON.stringify(text)} needs xN`);
  const inc = parseHistogramDesc(m[3]!);
  const times = Number(m[4]);
  // As Prometheus: the hint flag of a sequence is the increment's.
  const out: NotatedHistogram[] = [{ h: base.h, hintSet: inc.hintSet }];
  let cur = base.h;
  for (let i = 1; i <= times; i++) {
    if (cur.schema > inc.h.schema) throw new Error(`error combining histograms: cannot merge from schema ${inc.h.schema} to ${cur.schema}`);
    cur = (m[2] === '+' ? add(cur, inc.h, false) : sub(cur, inc.h, false)).h;
    out.push({ h: cur, hintSet: inc.hintSet });
  }
  return out;
}
