// Counts the PromQL queries the HTTP API serves, per workspace and type (instant, range): how many,
// how many failed (any answer other than 200: bad input, a timeout, too many samples, a client gone),
// and how long they took as a histogram with fixed buckets, so Prometheus can aggregate the
// quantiles over workspaces and instances. Counted in memory since the server started (counters
// restart from 0, as every Prometheus counter may).
export type QueryType = 'instant' | 'range';

/** Upper bounds in seconds: from a cached selector to the 2 min default timeout. */
export const QUERY_DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export interface QueryCounts {
  served: number;
  failed: number;
  /** Queries per bucket (not cumulative; the last one is above every bound), made cumulative when written out. */
  buckets: number[];
  sumSeconds: number;
}

function noCounts(): QueryCounts {
  return { served: 0, failed: 0, buckets: new Array<number>(QUERY_DURATION_BUCKETS.length + 1).fill(0), sumSeconds: 0 };
}

/** The endpoint's query type, or null for the other endpoints (labels, series, metadata…). */
export function queryTypeOf(apiPath: string): QueryType | null {
  const endpoint = apiPath.replace(/^\/+|\/+$/g, '');
  return endpoint === 'query' ? 'instant' : endpoint === 'query_range' ? 'range' : null;
}

export class QueryMetrics {
  private readonly byWorkspace = new Map<string, Map<QueryType, QueryCounts>>();

  observe(workspaceId: string, type: QueryType, seconds: number, ok: boolean): void {
    let ws = this.byWorkspace.get(workspaceId);
    if (!ws) this.byWorkspace.set(workspaceId, (ws = new Map()));
    let c = ws.get(type);
    if (!c) ws.set(type, (c = noCounts()));
    c.served++;
    if (!ok) c.failed++;
    let i = 0;
    while (i < QUERY_DURATION_BUCKETS.length && seconds > QUERY_DURATION_BUCKETS[i]!) i++;
    c.buckets[i]!++;
    c.sumSeconds += seconds;
  }

  /** A workspace's counts by type (both types always present, zero when none were served). */
  of(workspaceId: string): ReadonlyMap<QueryType, Readonly<QueryCounts>> {
    const ws = this.byWorkspace.get(workspaceId);
    const out = new Map<QueryType, QueryCounts>();
    for (const type of ['instant', 'range'] as const) {
      out.set(type, ws?.get(type) ?? noCounts());
    }
    return out;
  }
}
