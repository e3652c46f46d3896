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
import { tlsDir } from '../tls/local-ca';
import { PlaintextSelfTest } from './self-test';
import { StoreError } from '../tsdb';

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

  /** The activity log's chain, verified a page a turn (a long log took seconds of the ingest thread each time); one run serves every caller meanwhile. */
  verifyActivity(): Promise<ChainVerification> {
    if (!this.verifying) {
      this.appliance.activity.flush();
      this.verifying = this.appliance.activity.verifyInTurns().finally(() => {
        this.verifying = null;
      });
    }
    return this.verifying;
  }

  private verifying: Promise<ChainVerification> | null = null;

  async checklist(listenUrl: string | null): Promise<ChecklistItem[]> {
    const activity = await this.verifyActivity();
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
