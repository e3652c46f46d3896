// Stand-in for main/query/api.ts until it lands: the metadata endpoints (series, labels, label
// values) over the Querier, enough to see stored data. Matchers: `name` or `{a="b", …}` with =, !=.
import type { Matcher, Querier } from '../tsdb/types';
import { labelsToRecord } from '../../shared/labels';

export interface PromApiResult {
  readonly status: number;
  readonly body: unknown;
}

const err = (status: number, errorType: string, error: string): PromApiResult => ({ status, body: { status: 'error', errorType, error } });

function parseSelector(text: string): Matcher[] | null {
  const m = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?:\{(.*)\})?\s*$/s.exec(text);
  if (!m || (!m[1] && m[2] === undefined)) return null;
  const out: Matcher[] = m[1] ? [{ type: '=', name: '__name__', value: m[1] }] : [];
  const body = m[2]?.trim() ?? '';
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/gy;
  let pos = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const x = re.exec(body);
    if (!x) return null;
    out.push({ type: x[2] as '=' | '!=', name: x[1]!, value: JSON.parse(`"${x[3]}"`) as string });
    pos = re.lastIndex;
  }
  return out;
}

function timeParam(v: string | null, dflt: number): number {
  if (v === null || v === '') return dflt;
  const n = Number(v);
  return Number.isFinite(n) ? Math.round(n * 1000) : Date.parse(v);
}

export async function handlePromApi(path: string, params: URLSearchParams, querier: Querier): Promise<PromApiResult> {
  const selectors = params.getAll('match[]').map(parseSelector);
  if (selectors.some((s) => s === null)) return err(400, 'bad_data', 'unsupported series selector in match[]');
  const matcherSets = selectors as Matcher[][];
  const start = timeParam(params.get('start'), -8.64e15);
  const end = timeParam(params.get('end'), 8.64e15);
  if (Number.isNaN(start) || Number.isNaN(end)) return err(400, 'bad_data', 'invalid start or end time');
  const union = <T>(f: (m: Matcher[] | undefined) => T[]): T[] => (matcherSets.length ? matcherSets.flatMap((m) => f(m)) : f(undefined));
  if (path === 'series') {
    if (!matcherSets.length) return err(400, 'bad_data', 'no match[] parameter provided');
    return { status: 200, body: { status: 'success', data: union((m) => querier.series(m ?? [], start, end).map(labelsToRecord)) } };
  }
  if (path === 'labels') return { status: 200, body: { status: 'success', data: [...new Set(union((m) => querier.labelNames(m)))].sort() } };
  const lv = /^label\/([^/]+)\/values$/.exec(path);
  if (lv) return { status: 200, body: { status: 'success', data: [...new Set(union((m) => querier.labelValues(decodeURIComponent(lv[1]!), m)))].sort() } };
  return err(404, 'not_found', `endpoint /api/v1/${path} is not available yet`);
}
