// Sensitive-data discovery over a workspace: an on-demand full scan (with progress) and an
// incremental mode fed with the label sets of new series by the ingest path. Findings live in
// memory only (they describe customer data); a scan rebuilds them.
import type { PiiFinding } from '../../shared/api';
import type { Labels } from '../../shared/labels';
import { detectInWorkspaceFields, FindingCollector, type Finding } from '../../shared/sensitive-data';
import type { Workspace } from '../control/types';
import type { Querier } from '../tsdb/types';

export interface ScanProgress {
  readonly workspaceId: string;
  readonly seriesScanned: number;
  readonly seriesTotal: number;
}

export interface ScanReport {
  readonly workspaceId: string;
  readonly seriesScanned: number;
  /** Label findings (series counts) plus alias/tag findings. */
  readonly findings: readonly Finding[];
  readonly scannedAt: string;
}

const ALL_SERIES = [{ type: '=~' as const, name: '__name__', value: '^(?:.+)$' }];

/** Series checked a turn of the event loop (~4 ms: 100,000 took 355 ms): a scan shares the ingest thread. */
const SERIES_PER_TURN = 1000;

/** A store's series a part at a time, unsorted (tsdb's HeadQuerier): no one listing of them all. */
interface LabelSets {
  labelSets(per: number): { readonly total: number; readonly parts: Iterable<Labels[]> };
}

/**
 * Scans every series' labels (those there when it started) and the workspace's alias and tags, a
 * slice of series a turn of the event loop: 100,000 series took half a second of the ingest thread at once.
 */
export async function scanWorkspace(workspace: Workspace, querier: Querier, onProgress?: (p: ScanProgress) => void, seriesPerTurn = SERIES_PER_TURN): Promise<ScanReport> {
  const collector = new FindingCollector();
  const { total, parts } = (querier as Partial<LabelSets>).labelSets?.(seriesPerTurn) ?? listedAtOnce(querier, seriesPerTurn);
  let scanned = 0;
  const report = () => onProgress?.({ workspaceId: workspace.workspaceId, seriesScanned: scanned, seriesTotal: Math.max(total, scanned) });
  for (const part of parts) {
    for (const labels of part) {
      collector.addSeries(labels);
      if (++scanned % 1000 === 0) report();
    }
    await new Promise((r) => setImmediate(r));
  }
  if (scanned % 1000 !== 0) report();
  collector.merge(detectInWorkspaceFields(workspace.alias, workspace.tags));
  return { workspaceId: workspace.workspaceId, seriesScanned: scanned, findings: collector.findings(), scannedAt: new Date().toISOString() };
}

/** A querier without parts (tests' in-memory stores): every series listed at once, then cut in parts. */
function listedAtOnce(querier: Querier, per: number): { total: number; parts: Labels[][] } {
  const all = querier.series(ALL_SERIES, -Number.MAX_VALUE, Number.MAX_VALUE);
  const parts: Labels[][] = [];
  for (let i = 0; i < all.length; i += per) parts.push(all.slice(i, i + per));
  return { total: all.length, parts };
}

/** The appliance's current findings: full scans plus what new series added since. */
export class DiscoveryIndex {
  private readonly byWorkspace = new Map<string, { collector: FindingCollector; fields: Finding[]; scannedAt: string | null; during?: FindingCollector }>();

  private entry(workspaceId: string) {
    let e = this.byWorkspace.get(workspaceId);
    if (!e) this.byWorkspace.set(workspaceId, (e = { collector: new FindingCollector(), fields: [], scannedAt: null }));
    return e;
  }

  /**
   * A full scan whose findings then replace the workspace's; the series made while it ran (which
   * it did not list) are kept from what ingest observed meanwhile. Null when the workspace was
   * forgotten (deleted) or scanned anew before it finished.
   */
  async rescan(workspace: Workspace, querier: Querier, onProgress?: (p: ScanProgress) => void): Promise<ScanReport | null> {
    const id = workspace.workspaceId;
    const e = this.entry(id);
    const during = (e.during = new FindingCollector());
    const report = await scanWorkspace(workspace, querier, onProgress);
    if (this.byWorkspace.get(id) !== e || e.during !== during) return null;
    this.setScan(report);
    this.byWorkspace.get(id)!.collector.merge(during.findings());
    return report;
  }

  /** Replaces a workspace's findings with a full scan's. */
  setScan(report: ScanReport): void {
    const collector = new FindingCollector();
    const labelFindings = report.findings.filter((f) => f.labelName !== 'alias' && !f.labelName.startsWith('tag:'));
    collector.merge(labelFindings);
    this.byWorkspace.set(report.workspaceId, { collector, fields: report.findings.filter((f) => !labelFindings.includes(f)), scannedAt: report.scannedAt });
  }

  /** Incremental mode: the ingest path passes the label sets of series it just created. */
  observeNewSeries(workspaceId: string, labelSets: readonly Labels[]): void {
    if (labelSets.length === 0) return;
    const e = this.entry(workspaceId);
    for (const l of labelSets) {
      e.collector.addSeries(l);
      e.during?.addSeries(l);
    }
  }

  /** Alias and tags, checked whenever they are set. */
  observeWorkspace(workspace: Workspace): void {
    this.entry(workspace.workspaceId).fields = detectInWorkspaceFields(workspace.alias, workspace.tags);
  }

  forget(workspaceId: string): void {
    this.byWorkspace.delete(workspaceId);
  }

  findings(workspaceId: string): Finding[] {
    const e = this.byWorkspace.get(workspaceId);
    return e ? [...e.fields, ...e.collector.findings()] : [];
  }

  lastScan(workspaceId: string): string | null {
    return this.byWorkspace.get(workspaceId)?.scannedAt ?? null;
  }

  /** In the window's shape (shared/api.ts PiiFinding). */
  all(): PiiFinding[] {
    const out: PiiFinding[] = [];
    for (const id of this.byWorkspace.keys()) for (const f of this.findings(id)) out.push(toPiiFinding(id, f));
    return out;
  }
}

export function toPiiFinding(workspaceId: string, f: Finding): PiiFinding {
  return { ...f, workspaceId };
}
