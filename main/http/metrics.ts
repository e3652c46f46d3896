// Ampule's own /metrics in Prometheus's text format (0.0.4), per workspace (admin scope), so the user
// can monitor Ampule with Prometheus: the store, ingestion refusals, the queries served and every
// forwarding destination.
// Destination names and URLs are the user's labels, escaped; no credential is part of a status.
import type { ForwardDestinationStatus } from '../../shared/api';
import type { Tenant } from '../core/tenant';
import { QUERY_DURATION_BUCKETS, type QueryCounts, type QueryType } from './query-metrics';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labels(l: Record<string, string>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

class Text {
  private lines: string[] = [];
  family(name: string, type: 'counter' | 'gauge', help: string, samples: [Record<string, string>, number][]): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of samples) this.lines.push(`${name}${labels(l)} ${Number.isFinite(v) ? v : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN'}`);
  }
  /** A histogram family: per label set, per-bucket counts (the last above every bound), their sum of values. */
  histogram(name: string, help: string, bounds: readonly number[], samples: [Record<string, string>, readonly number[], number][]): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    for (const [l, buckets, sum] of samples) {
      let cumulative = 0;
      bounds.forEach((b, i) => {
        cumulative += buckets[i]!;
        this.lines.push(`${name}_bucket${labels({ ...l, le: String(b) })} ${cumulative}`);
      });
      cumulative += buckets[bounds.length]!;
      this.lines.push(`${name}_bucket${labels({ ...l, le: '+Inf' })} ${cumulative}`, `${name}_sum${labels(l)} ${sum}`, `${name}_count${labels(l)} ${cumulative}`);
    }
  }
  toString(): string {
    return this.lines.join('\n') + '\n';
  }
}

/**
 * The server process's own figures, under the names Prometheus's client libraries use, so
 * dashboards made for them work: resident memory and CPU time, and where the memory goes
 * (V8's heap of this thread, and memory outside it: array buffers hold the head's chunks).
 */
function processFamilies(t: Text): void {
  const m = process.memoryUsage();
  const cpu = process.cpuUsage();
  t.family('process_cpu_seconds_total', 'counter', 'User and system CPU time the server process spent, in seconds.', [[{}, (cpu.user + cpu.system) / 1e6]]);
  t.family('process_resident_memory_bytes', 'gauge', 'Resident memory of the server process, all threads.', [[{}, m.rss]]);
  t.family('process_start_time_seconds', 'gauge', 'When the server process started, in seconds since the Unix epoch.', [[{}, Math.round(Date.now() / 1000 - process.uptime())]]);
  t.family('nodejs_heap_size_total_bytes', 'gauge', "The ingest thread's V8 heap, reserved.", [[{}, m.heapTotal]]);
  t.family('nodejs_heap_size_used_bytes', 'gauge', "The ingest thread's V8 heap, in use.", [[{}, m.heapUsed]]);
  t.family('nodejs_external_memory_bytes', 'gauge', 'Memory outside the V8 heap that its objects hold (array buffers included).', [[{}, m.external]]);
  t.family('nodejs_array_buffers_bytes', 'gauge', 'Memory of array buffers (the head keeps its samples in them).', [[{}, m.arrayBuffers]]);
}

export function workspaceMetrics(tenant: Tenant, forward: readonly ForwardDestinationStatus[], queries?: ReadonlyMap<QueryType, Readonly<QueryCounts>>): string {
  const t = new Text();
  const ws = { workspace: tenant.workspaceId };
  const st = tenant.store.stats();
  t.family('ampule_store_series', 'gauge', 'Series in the workspace store.', [[ws, st.series]]);
  t.family('ampule_store_samples', 'gauge', 'Samples in the workspace store.', [[ws, st.samples]]);
  t.family('ampule_store_bytes', 'gauge', 'Bytes the workspace store takes on disk.', [[ws, st.bytesOnDisk]]);
  t.family('ampule_ingest_active_series', 'gauge', 'Series received in the last one to two hours.', [[ws, tenant.activeSeries()]]);
  t.family('ampule_ingest_rejected_samples_total', 'counter', 'Samples refused by ingestion since the store was opened, by reason.', [...tenant.rejected()].map(([reason, n]) => [{ ...ws, reason }, n]));
  if (queries) {
    const q = [...queries].map(([type, c]) => [{ ...ws, type }, c] as const);
    t.family('ampule_queries_total', 'counter', 'PromQL queries the HTTP API answered since the server started, by type (instant, range).', q.map(([l, c]) => [l, c.served]));
    t.family('ampule_query_failures_total', 'counter', 'PromQL queries answered with an error (bad input, timeout, too many samples) or abandoned by the client.', q.map(([l, c]) => [l, c.failed]));
    t.histogram('ampule_query_duration_seconds', 'Time to answer a PromQL query, from request to response.', QUERY_DURATION_BUCKETS, q.map(([l, c]) => [l, c.buckets, c.sumSeconds]));
  }
  processFamilies(t);
  const d = (s: ForwardDestinationStatus) => ({ ...ws, destination: s.name, url: s.url });
  const fam = (name: string, type: 'counter' | 'gauge', help: string, pick: (s: ForwardDestinationStatus) => number) => t.family(name, type, help, forward.map((s) => [d(s), pick(s)]));
  fam('ampule_forward_samples_sent_total', 'counter', 'Samples the destination acknowledged.', (s) => s.samples.sent);
  fam('ampule_forward_samples_failed_total', 'counter', 'Samples in send attempts that failed.', (s) => s.samples.failed);
  fam('ampule_forward_samples_retried_total', 'counter', 'Samples sent again after a retryable failure.', (s) => s.samples.retried);
  t.family('ampule_forward_samples_dropped_total', 'counter', 'Samples the destination refused (HTTP 4xx other than 429), by reason.', forward.flatMap((s) => Object.entries(s.samples.droppedByReason).map(([reason, n]): [Record<string, string>, number] => [{ ...d(s), reason }, n])));
  fam('ampule_forward_samples_relabelled_away_total', 'counter', 'Samples write_relabel_configs kept from the destination.', (s) => s.samples.relabelledAway);
  fam('ampule_forward_lag_seconds', 'gauge', 'How far the newest acknowledged sample is behind what is committed (0 when caught up).', (s) => s.lagSeconds);
  fam('ampule_forward_backlog_records', 'gauge', 'Committed log records not yet read for the destination.', (s) => s.backlogRecords);
  fam('ampule_forward_shards', 'gauge', 'Concurrent sends the destination runs.', (s) => s.shards);
  fam('ampule_forward_up', 'gauge', '1 while the destination queue runs, 0 when it failed to start or stopped.', (s) => (s.state === 'running' || s.state === 'backfilling' ? 1 : 0));
  return t.toString();
}
