// Explore's pure parts, apart from the DOM so they are unit-tested in Node: the view in the URL,
// the query step, the unit a query's values are in, and the selectors completion asks with.
import { unitOfName } from './format';

export const MAX_QUERIES = 8;

/** About 250 points across the chart, never finer than 1 s. */
export function stepFor(rangeSeconds: number): number {
  return Math.max(1, Math.round(rangeSeconds / 250));
}

/** What the URL holds: the queries and the range (a preset length ending now, or a fixed from/to). */
export interface ExploreView {
  readonly queries: readonly string[];
  readonly range: number;
  readonly from?: number;
  readonly to?: number;
}

export function parseView(params: URLSearchParams): ExploreView {
  const num = (k: string) => {
    const v = Number(params.get(k));
    return params.has(k) && Number.isFinite(v) && v > 0 ? v : undefined;
  };
  const from = num('from'), to = num('to');
  const queries = params.getAll('q').slice(0, MAX_QUERIES);
  const fixed = from !== undefined && to !== undefined && from < to;
  return { queries, range: fixed ? to - from : num('range') ?? 3600, ...(fixed ? { from, to } : {}) };
}

export function viewHash(workspaceId: string, view: ExploreView): string {
  const p = new URLSearchParams();
  if (view.from !== undefined && view.to !== undefined) {
    p.set('from', String(view.from));
    p.set('to', String(view.to));
  } else p.set('range', String(view.range));
  for (const q of view.queries) p.append('q', q);
  return `#/explore${workspaceId ? '/' + encodeURIComponent(workspaceId) : ''}?${p.toString()}`;
}

/**
 * The unit to show for a query's values: from the name of the metric it reads (`_bytes`,
 * `_seconds`), per second when a rate of bytes. '' when nothing says.
 */
export function unitOfQuery(query: string, firstSeriesName?: string): string {
  const names = [firstSeriesName ?? '', ...(query.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [])];
  const unit = names.map(unitOfName).find((u) => u !== '') ?? '';
  return unit === 'B' && /\b(i?rate|deriv)\s*\(/.test(query) ? 'B/s' : unit;
}

/** Matcher types as codemirror-promql passes them (the lezer-promql token ids). */
const MATCH_OPS: Readonly<Record<number, string>> = { 176: '=', 67: '!=', 177: '=~', 178: '!~' };
export interface EditorMatcher {
  readonly type: number;
  readonly name: string;
  readonly value: string;
  matchesEmpty(): boolean;
}

/** A series selector for the contract's metadata calls, or undefined for "every series". */
export function selectorOf(metricName: string | undefined, matchers: readonly EditorMatcher[] = [], completing?: string): string | undefined {
  const parts = matchers
    // The matcher being typed (label="…) must not narrow the values offered for it.
    .filter((m) => m.name !== completing)
    .filter((m) => m.name !== '__name__' || !metricName)
    .filter((m) => MATCH_OPS[m.type] && !(m.matchesEmpty() && !metricName))
    .map((m) => `${/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(m.name) ? m.name : JSON.stringify(m.name)}${MATCH_OPS[m.type]}${JSON.stringify(m.value)}`);
  if (metricName) parts.unshift(`__name__=${JSON.stringify(metricName)}`);
  return parts.length ? `{${parts.join(',')}}` : undefined;
}

/**
 * The metric names a query reads that `known` describes, in order of appearance, at most `max`:
 * identifiers outside strings, label matchers ({…}), ranges and grouping clauses (by (…), on (…)), so
 * label names do not count.
 */
export function metricsInQuery(query: string, known: (name: string) => boolean, max = 3): string[] {
  const code = query
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const out: string[] = [];
  for (const m of code.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = m[0];
    if (!out.includes(name) && known(name)) out.push(name);
    if (out.length >= max) break;
  }
  return out;
}
