// The data-protection page's server side: the checklist (main/checklist computes it from real
// state; this adds what only the serving process knows: the listener, the console's credentials,
// the self-test, the sensitive-data findings) and the plaintext self-test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { ChecklistItem } from '../../shared/checklist';
import type { ChainVerification, PiiFinding, SelfTestProgress, Settings } from '../../shared/api';
import { computeChecklist } from '../checklist/compute';
import type { Workspace } from '../control/types';
import type { Appliance } from '../core/appliance';
import type { ChainPoint } from '../audit/activity-log';
import { tlsDir } from '../tls/local-ca';
import { PlaintextSelfTest } from './self-test';
import { StoreError } from '../tsdb';

/**
 * How often the checklist verifies the whole activity chain; between, the records since the last
 * intact run (at 100,000 records a full run costs 1.6–2 s of the ingest thread's CPU, in turns).
 */
const FULL_CHAIN_CHECK_MS = 10 * 60_000;

export class ProtectionChecks {
  private readonly selfTest: PlaintextSelfTest;

  constructor(
    private readonly appliance: Appliance,
    private readonly consoleStatus: () => Settings['console'],
  ) {
    this.selfTest = new PlaintextSelfTest(appliance, (outcome, detail) =>
      appliance.activity.append({ action: 'selftest.plaintext', outcome: outcome === 'passed' ? 'ok' : 'error', actor: 'appliance', detail }),
    );
  }

  startSelfTest(): SelfTestProgress {
    return this.selfTest.start();
  }

  selfTestProgress(): SelfTestProgress {
    return this.selfTest.current();
  }

  stop(): void {
    this.selfTest.stop();
  }

  /** Current findings: a full scan of each workspace the first time (in turns; callers meanwhile wait for the same one), then what ingestion adds. */
  async findings(): Promise<PiiFinding[]> {
    const { control, discovery } = this.appliance;
    const scans: Promise<void>[] = [];
    for (const w of control.listWorkspaces()) {
      if (discovery.lastScan(w.workspaceId) !== null) {
        discovery.observeWorkspace(w);
        continue;
      }
      let scan = this.scans.get(w.workspaceId);
      if (!scan) {
        scan = this.firstScan(w).finally(() => this.scans.delete(w.workspaceId));
        this.scans.set(w.workspaceId, scan);
      }
      scans.push(scan);
    }
    await Promise.all(scans);
    return discovery.all();
  }

  private readonly scans = new Map<string, Promise<void>>();

  private async firstScan(w: Workspace): Promise<void> {
    try {
      await this.appliance.discovery.rescan(w, this.appliance.store(w.workspaceId).querier());
    } catch (e) {
      // A damaged store is the self-test's finding (checklist item store-integrity), not this one's.
      if (!(e instanceof StoreError)) throw e;
    }
  }

  /** The server certificate's expiry, when the listener has issued one. */
  private certificateExpiresAt(): string | null {
    try {
      return new Date(new X509Certificate(readFileSync(join(tlsDir(this.appliance.dataDir), 'server.crt'))).validTo).toISOString();
    } catch {
      return null;
    }
  }

  /**
   * The activity log's chain, verified a page a turn (a long log took seconds of the ingest thread
   * each time); one run serves every caller meanwhile. `full`: every record (the window's "Verify
   * chain"); else (the checklist, every 30 s while it is shown) only the records since the last
   * intact run, unless the last full run is FULL_CHAIN_CHECK_MS old.
   */
  verifyActivity(full = true): Promise<ChainVerification> {
    const under = this.verifying;
    if (under && (under.full || !full)) return under.run;
    // A full run asked for while a partial one runs: after it.
    const run = (async () => {
      await under?.run.catch(() => undefined);
      return this.verifyChain(full);
    })();
    const entry = { run, full };
    this.verifying = entry;
    const done = () => {
      if (this.verifying === entry) this.verifying = null;
    };
    run.then(done, done);
    return run;
  }

  private verifying: { readonly run: Promise<ChainVerification>; readonly full: boolean } | null = null;
  /** The chain as the last run found it intact, and when the last full run began. */
  private intact: { readonly point: ChainPoint; readonly fullAt: number } | null = null;

  private async verifyChain(full: boolean): Promise<ChainVerification> {
    const log = this.appliance.activity;
    log.flush();
    const since = !full && this.intact && Date.now() - this.intact.fullAt < FULL_CHAIN_CHECK_MS ? this.intact : null;
    // The head verifyInTurns judges against: read in the same turn as it starts.
    const point = log.chainPoint();
    const v = await log.verifyInTurns(undefined, since?.point);
    this.intact = v.ok ? { point, fullAt: since?.fullAt ?? Date.now() } : null;
    return v;
  }

  async checklist(listenUrl: string | null): Promise<ChecklistItem[]> {
    const activity = await this.verifyActivity(false);
    return computeChecklist(this.appliance, {
      activity,
      tls: listenUrl ? { enabled: true, protocol: 'TLS 1.2+ (1.3 preferred)', certificateExpiresAt: this.certificateExpiresAt() } : null,
      console: this.consoleStatus(),
      selfTest: this.selfTest.current(),
      findings: await this.findings(),
    });
  }

  tlsSummary(): { certificateExpiresAt: string | null } {
    return { certificateExpiresAt: this.certificateExpiresAt() };
  }
}
