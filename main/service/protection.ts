// The data-protection page's server side: the checklist and the plaintext self-test.
// The checklist is main/checklist's, fed with what only this layer knows (certificate, console, self-test).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { ChecklistItem } from '../../shared/checklist';
import type { SelfTestProgress } from '../../shared/api';
import type { Appliance } from '../core/appliance';
import { consoleStatus } from '../console/credentials';
import { tlsDir } from '../tls/local-ca';
import { PlaintextSelfTest } from './self-test';
import { computeChecklist, type ChecklistExtra } from '../checklist/compute';

export class ProtectionChecks {
  private readonly selfTest: PlaintextSelfTest;

  constructor(private readonly appliance: Appliance) {
    this.selfTest = new PlaintextSelfTest(appliance, (outcome, detail) =>
      appliance.activity.append({ action: 'selftest.plaintext', outcome: outcome === 'passed' ? 'ok' : 'error', actor: 'appliance', detail }),
    );
  }

  startSelfTest(_actor: string): SelfTestProgress {
    return this.selfTest.start();
  }

  stop(): void {
    this.selfTest.stop();
  }

  selfTestProgress(): SelfTestProgress {
    return this.selfTest.current();
  }

  checklist(now = Date.now()): ChecklistItem[] {
    const a = this.appliance;
    let tls: ChecklistExtra['tls'] = null;
    try {
      const cert = new X509Certificate(readFileSync(join(tlsDir(a.dataDir), 'server.crt')));
      tls = { enabled: true, protocol: 'TLS 1.2+', certificateExpiresAt: new Date(cert.validTo).toISOString() };
    } catch {
      /* no certificate yet: the listener has never run */
    }
    for (const w of a.control.listWorkspaces()) a.discovery.observeWorkspace(w);
    return computeChecklist(a, { now, tls, console: consoleStatus(a.dataDir), selfTest: this.selfTest.current(), findings: a.discovery.all() });
  }
}
