// One workspace as the appliance serves it: its open store, its limits (read from control.db once
// and refreshed when they change, never per request), one ingester (decode state, appender, group
// commit, rejection counters) and its querier. The HTTP layer only reads the body and calls ingest().
import type { WorkspaceLimits } from '../control/types';
import { DEFAULT_LIMITS } from '../ingest/limits';
import { Ingester, type IngesterHooks, type IngestLimits } from '../ingest/remote-write';
import type { IngestRequest, IngestResult } from '../ingest/types';
import type { Querier } from '../tsdb/types';
import { QueryLimiter } from '../query/limits';
import type { WorkspaceStore } from './workspace-store';
import type { BlobName } from '../tsdb/manifest';
import { MetadataTable } from '../ingest/metadata';
import { ExemplarStore } from '../ingest/exemplars';

export class Tenant {
  private readonly ingester: Ingester;
  private effective: IngestLimits;
  /** At most 20 queries of this workspace at once, the rest queued (Prometheus's --query.max-concurrency). */
  readonly queries = new QueryLimiter();
  /** Refused samples by reason since the store was opened. */
  private readonly rejectedTotals = new Map<string, number>();
  /** TYPE, HELP and UNIT per metric, as remote write sent them (/api/v1/metadata). */
  readonly metadata: MetadataTable;
  /** The newest exemplars, bounded by the limit maxExemplars (/api/v1/query_exemplars). */
  readonly exemplars: ExemplarStore;

  constructor(
    readonly store: WorkspaceStore,
    overrides: Partial<WorkspaceLimits>,
    private readonly retentionMs: number,
    hooks: IngesterHooks = {},
  ) {
    this.effective = this.merge(overrides);
    this.metadata = new MetadataTable({ read: () => store.readBlob('metadata'), write: (plain) => store.writeBlob('metadata', plain) });
    const part = (p: number | null): BlobName => (p === null ? 'exemplars' : `exemplars.${p}`);
    this.exemplars = new ExemplarStore(
      { read: (p) => store.readBlob(part(p)), write: (changes) => store.writeBlobs(changes.map(([p, plain]) => [part(p), plain] as const)) },
      this.effective.maxExemplars,
    );
    this.ingester = new Ingester(store.appender(), {
      ...hooks,
      metadata: this.metadata,
      exemplars: this.exemplars,
      onRejected: (reason, count) => {
        this.rejectedTotals.set(reason, (this.rejectedTotals.get(reason) ?? 0) + count);
        hooks.onRejected?.(reason, count);
      },
    });
  }

  get workspaceId(): string {
    return this.store.workspaceId;
  }

  /** The limits in force: defaults with the workspace's overrides. */
  get limits(): WorkspaceLimits {
    return this.effective;
  }

  /** Called by the appliance when the control plane changed this workspace's overrides. */
  refreshLimits(overrides: Partial<WorkspaceLimits>): void {
    this.effective = this.merge(overrides);
    this.exemplars.resize(this.effective.maxExemplars);
  }

  /** Stores one remote-write request (see Ingester.ingest); `now` is for tests. */
  ingest(req: IngestRequest, now: number = Date.now()): Promise<IngestResult> {
    return this.ingester.ingest(req, this.effective, now);
  }

  querier(): Querier {
    return this.store.querier();
  }

  /** Refused samples by reason since the store was opened. */
  rejected(): ReadonlyMap<string, number> {
    return this.rejectedTotals;
  }

  /** How long no remote-write request has been in progress, in ms (0 while one is). */
  ingestIdleMs(): number {
    return this.ingester.idleMs();
  }

  /** Series received in the last one to two hours (the active-series limit counts these). */
  activeSeries(): number {
    return this.ingester.activeSeries();
  }

  private merge(overrides: Partial<WorkspaceLimits>): IngestLimits {
    return Object.freeze({ ...DEFAULT_LIMITS, ...overrides, retentionMs: this.retentionMs });
  }
}
