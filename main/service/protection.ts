// The data-protection page's server side: the checklist and the plaintext self-test.
// The checklist here is computed from the appliance's real state; it gives way to H7's
// main/checklist computation once that lands.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { ChecklistItem } from '../../shared/checklist';
import type { SelfTestProgress } from '../../shared/api';
import { detectInWorkspaceFields } from '../../shared/sensitive-data';
import type { Appliance } from '../core/appliance';
import { consoleStatus } from '../console/credentials';
import { tlsDir } from '../tls/local-ca';
import { PlaintextSelfTest } from './self-test';

const DAY = 86_400_000;

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
    const items: ChecklistItem[] = [];
    const mk = a.masterKey;
    items.push(
      mk.kind === 'keychain'
        ? { id: 'master-key', title: 'Master key in the OS keychain', status: 'pass', evidence: `256-bit master key held by the OS keychain (${mk.location}); never written to disk` }
        : { id: 'master-key', title: 'Master key in the OS keychain', status: 'warn', evidence: `master key read from a key file (${mk.location}); protect it like a password`, fix: { label: 'Use the keychain', action: 'ampule serve (without --master-key-file) on a machine with a keychain' } },
    );

    let tls: ChecklistItem;
    try {
      const cert = new X509Certificate(readFileSync(join(tlsDir(a.dataDir), 'server.crt')));
      const days = Math.floor((Date.parse(cert.validTo) - now) / DAY);
      tls = { id: 'tls', title: 'Data in transit: TLS only', status: days > 14 ? 'pass' : days > 0 ? 'warn' : 'fail', evidence: `TLS 1.2+ listener; server certificate expires ${new Date(cert.validTo).toISOString().slice(0, 10)} (${days} days), renewed automatically` };
    } catch {
      tls = { id: 'tls', title: 'Data in transit: TLS only', status: 'warn', evidence: 'no server certificate yet: the HTTPS listener has not been started', fix: { label: 'Start the listener', action: 'ampule serve' } };
    }
    items.push(tls);

    const workspaces = a.control.listWorkspaces();
    items.push({ id: 'data-keys', title: 'One data key per workspace', status: 'pass', evidence: `${workspaces.length} workspace(s), each with its own AES-256-GCM data key wrapped by the master key` });

    const tokens = workspaces.flatMap((w) => a.control.listTokens(w.workspaceId)).filter((t) => !t.revokedAt && (!t.expiresAt || Date.parse(t.expiresAt) > now));
    const lasting = tokens.filter((t) => !t.expiresAt || t.scopes.includes('admin'));
    items.push({
      id: 'tokens',
      title: 'Least-privilege tokens',
      status: lasting.length ? 'warn' : 'pass',
      evidence: lasting.length ? `${tokens.length} active token(s); ${lasting.length} never expire or carry the admin scope` : `${tokens.length} active token(s), all scoped and expiring; stored as hashes only`,
      ...(lasting.length ? { fix: { label: 'Review tokens', action: 'Open each workspace and revoke tokens that are not needed' } } : {}),
    });

    const con = consoleStatus(a.dataDir);
    items.push({
      id: 'console-mfa',
      title: 'Web console second factor',
      status: !con.passwordSet ? 'pass' : con.mfaEnabled ? 'pass' : 'warn',
      evidence: !con.passwordSet ? 'web console disabled (no password set)' : con.mfaEnabled ? 'password + TOTP required to sign in' : 'password only: TOTP second factor is off',
      ...(con.passwordSet && !con.mfaEnabled ? { fix: { label: 'Enable TOTP', action: 'ampule console mfa enable' } } : {}),
    });

    const chain = a.activity.verify();
    items.push({ id: 'activity-log', title: 'Activity log intact', status: chain.ok ? 'pass' : 'fail', evidence: chain.message, ...(chain.ok ? {} : { fix: { label: 'Export and inspect', action: 'ampule audit export' } }) });

    const st = this.selfTest.current();
    items.push({
      id: 'plaintext-scan',
      title: 'No customer data in clear on disk',
      status: st.state === 'passed' ? 'pass' : st.state === 'failed' ? 'fail' : 'warn',
      evidence: st.state === 'idle' ? 'self-test not run since the appliance started' : st.message,
      ...(st.state === 'passed' || st.state === 'running' ? {} : { fix: { label: 'Run self-test', action: 'startSelfTest' } }),
    });

    const pii = workspaces.filter((w) => detectInWorkspaceFields(w.alias, w.tags).length > 0);
    items.push({
      id: 'pii',
      title: 'No personal data in aliases and tags',
      status: pii.length ? 'warn' : 'pass',
      evidence: pii.length ? `${pii.length} workspace(s) have an alias or tag that looks like personal data or a secret: ${pii.map((w) => w.workspaceId).join(', ')}` : `${workspaces.length} workspace(s) checked`,
      ...(pii.length ? { fix: { label: 'Rename', action: 'Open the workspace and rename it or edit its tags' } } : {}),
    });
    return items;
  }
}
