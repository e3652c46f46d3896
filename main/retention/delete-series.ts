// Deleting series data, as Prometheus's and AMP's admin API does it:
//   POST|PUT /workspaces/{id}/api/v1/admin/tsdb/delete_series  match[]=…  [start]  [end]   (admin scope)
// 204 on success (main/http wires deleteSeriesRequest behind the admin scope). The store rewrites the affected rows and overwrites the old ciphertext, so the
// deleted samples cannot be read back from the current file even with the data key.
import type { WorkspaceStore } from '../core/workspace-store';
import type { ActivityLog } from '../audit/activity-log';
import { storeMatcher } from '../query/regex';
import { compileMatcher } from '../tsdb/matchers';
import { ParseError, parseExpr } from '../query/parser';
import type { Matcher } from '../tsdb/types';

/** JavaScript Date's range: Prometheus's "minus/plus infinity" for start/end. */
export const MIN_TIME = -8.64e15;
export const MAX_TIME = 8.64e15;

export class DeleteRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeleteRequestError';
  }
}

/** A series selector (`up{job="x"}`, `{__name__=~"a.*"}`) to store matchers. */
export function parseSeriesSelector(text: string): Matcher[] {
  let e;
  try {
    e = parseExpr(text);
  } catch (err) {
    throw new DeleteRequestError(`invalid series selector ${JSON.stringify(text.slice(0, 200))}: ${err instanceof ParseError ? err.describe() : (err as Error).message}`);
  }
  if (e.kind !== 'vector') throw new DeleteRequestError(`${JSON.stringify(text.slice(0, 200))} is not a series selector (give e.g. up{job="node"})`);
  const matchers = e.matchers.map(storeMatcher);
  // Prometheus refuses selectors that match the empty label set, e.g. {job=~".*"}: they would delete everything by accident.
  if (matchers.every((m) => compileMatcher(m).matches('')))
    throw new DeleteRequestError(`selector ${JSON.stringify(text.slice(0, 200))} matches every series; add a matcher that needs a non-empty value`);
  return matchers;
}

/** Unix seconds (decimals allowed) or RFC 3339, as Prometheus; ms. */
export function parseTimeParam(v: string | null | undefined, name: string, dflt: number): number {
  if (v === null || v === undefined || v === '') return dflt;
  const t = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) ? Math.round(Number(v) * 1000) : /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isFinite(t) || t < MIN_TIME || t > MAX_TIME) throw new DeleteRequestError(`invalid parameter "${name}": cannot parse ${JSON.stringify(v.slice(0, 64))} to a valid timestamp`);
  return t;
}

export interface DeleteOutcome {
  readonly samplesDeleted: number;
  readonly selectors: number;
}

/** Validates every selector first, then deletes; records the action (selector count only: selectors hold customer data). */
export async function deleteSeriesRequest(params: URLSearchParams, store: WorkspaceStore, activity: ActivityLog, actor: string): Promise<DeleteOutcome> {
  const raw = params.getAll('match[]');
  if (raw.length === 0) throw new DeleteRequestError('no match[] parameter provided');
  const sets = raw.map(parseSeriesSelector);
  const start = parseTimeParam(params.get('start'), 'start', MIN_TIME);
  const end = parseTimeParam(params.get('end'), 'end', MAX_TIME);
  if (end < start) throw new DeleteRequestError('invalid parameter "end": end timestamp must not be before start time');
  let samplesDeleted = 0;
  for (const matchers of sets) samplesDeleted += await store.deleteSeries(matchers, start, end);
  activity.append({
    action: 'series.delete',
    outcome: 'ok',
    actor,
    workspaceId: store.workspaceId,
    detail: `${sets.length} selector(s), ${start === MIN_TIME ? 'from the beginning' : new Date(start).toISOString()} to ${end === MAX_TIME ? 'now' : new Date(end).toISOString()}: ${samplesDeleted} samples deleted`,
  });
  return { samplesDeleted, selectors: sets.length };
}
