// OpenMetrics 1.0 text exposition of stored series: families from the stored metadata (TYPE, UNIT,
// HELP where known), each series' samples contiguous and in time order, timestamps in seconds, and
// `# EOF` at the end. What the format cannot carry is left out and counted: stale markers (an
// exposition has no way to say "gone"), native histograms, and names outside 1.0's character set.
import { METRIC_NAME, type Labels } from '../../shared/labels';
import type { MetricMetadata, MetricType } from '../ingest/metadata';

const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** True when OpenMetrics 1.0 text can name this series (2.0 remote write allows UTF-8 names). */
export function expressible(labels: Labels): boolean {
  for (const l of labels) {
    if (l.name === METRIC_NAME ? !METRIC_NAME_RE.test(l.value) : !LABEL_NAME_RE.test(l.name)) return false;
  }
  return true;
}

/** Label values and HELP text: backslash, double quote and line feed escaped, as the ABNF says. */
export function escapeText(s: string): string {
  return /[\\"\n]/.test(s) ? s.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`)) : s;
}

/** `name{a="x",b="y"}`: the metric name, then the other labels in their stored (sorted) order. */
export function seriesText(labels: Labels): string {
  let name = '';
  let rest = '';
  for (const l of labels) {
    if (l.name === METRIC_NAME) name = l.value;
    else rest += `${rest === '' ? '' : ','}${l.name}="${escapeText(l.value)}"`;
  }
  return rest === '' ? name : `${name}{${rest}}`;
}

/** A sample value: shortest round-trip decimal, with OpenMetrics's spellings of the specials. */
export function valueText(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return String(v);
}

/**
 * A millisecond timestamp as seconds. Prometheus's parser reads it back as int64(float64(s) * 1000),
 * which truncates: "1.001" comes back as 1000 ms. When the plain decimal does not survive that, a
 * few more digits just past the millisecond (still well under it) make it do so.
 */
export function timestampText(ms: number): string {
  const plain = secondsText(ms);
  if (Math.trunc(Number(plain) * 1000) === ms || !plain.includes('.')) return plain;
  const padded = plain.padEnd(plain.indexOf('.') + 4, '0');
  for (const extra of ['0001', '00001', '000001', '001']) {
    const s = padded + extra;
    if (Math.trunc(Number(s) * 1000) === ms) return s;
  }
  return plain;
}

function secondsText(ms: number): string {
  const neg = ms < 0;
  const a = Math.abs(ms);
  const whole = Math.floor(a / 1000);
  const frac = a - whole * 1000;
  const s = frac === 0 ? String(whole) : `${whole}.${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
  return neg ? `-${s}` : s;
}

/** How a stored series name is exposed: in which family, and whether the family's TYPE may be said. */
export interface Family {
  /** The MetricFamily name (TYPE/UNIT/HELP lines name it). */
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly unit: string;
}

/** The sample-name suffix OpenMetrics requires for a family of each type (empty: the family's own name). */
const SUFFIX: Partial<Record<MetricType, string>> = { counter: '_total', info: '_info' };

/**
 * The family a stored series name belongs to, from the metadata the senders sent (Prometheus sends
 * a counter as family `x` or, scraped from the classic text format, `x_total`). Types whose
 * MetricPoints span several series (histogram, gaugehistogram, summary) would need their series
 * interleaved per timestamp, so their series go out as separate untyped families (values intact).
 */
export function familyOf(seriesName: string, lookup: (metric: string) => MetricMetadata | undefined): Family {
  for (const type of ['counter', 'info'] as const) {
    const suffix = SUFFIX[type]!;
    if (!seriesName.endsWith(suffix)) continue;
    const stem = seriesName.slice(0, -suffix.length);
    const m = lookup(stem) ?? lookup(seriesName);
    if (m?.type === type && stem !== '') return withUnit(stem, m);
  }
  const m = lookup(seriesName);
  if (m && (m.type === 'gauge' || m.type === 'stateset' || m.type === 'unknown')) return withUnit(seriesName, m);
  return { name: seriesName, type: 'unknown', help: m?.help ?? '', unit: '' };
}

/** A UNIT line is only valid when the family name ends in `_<unit>` (Prometheus's parser checks it). */
function withUnit(name: string, m: MetricMetadata): Family {
  const unitOk = m.unit !== '' && name.endsWith(`_${m.unit}`) && /^[a-zA-Z0-9_:]+$/.test(m.unit);
  return { name, type: m.type, help: m.help, unit: unitOk ? m.unit : '' };
}

/** The metadata lines that open a family, in the order the spec recommends (TYPE, UNIT, HELP). */
export function familyHeader(f: Family): string {
  let s = f.type === 'unknown' ? '' : `# TYPE ${f.name} ${f.type}\n`;
  if (f.unit !== '') s += `# UNIT ${f.name} ${f.unit}\n`;
  if (f.help !== '') s += `# HELP ${f.name} ${escapeText(f.help)}\n`;
  return s;
}

export const EOF_LINE = '# EOF\n';
