// The data-protection checklist, computed from the appliance's real state. Inputs the core does
// not own (the TLS listener, the console's credentials, the plaintext self-test, PII findings)
// come in `extra`; each item says what was measured and how to fix what is not right.
import type { ChecklistItem } from '../../shared/checklist';
import type { ChainVerification, PiiFinding, SelfTestProgress } from '../../shared/api';
import { SENSITIVE_KIND_TITLES, type SensitiveKind } from '../../shared/sensitive-data';
import type { Appliance } from '../core/appliance';
import type { TokenInfo } from '../control/types';
import { controlDatabase, dataKeyAges } from '../retention/key-lifecycle';
import { AlertManagerStore } from '../alerting/definition-store';
import { DestinationStore } from '../forward/destination-store';
import { DEFAULT_RETENTION_DAYS } from '../control/workspace-settings';

const DAY = 86_400_000;
export const KEY_MAX_AGE_DAYS = 365;
export const TOKEN_UNUSED_DAYS = 30;
export const CERT_WARN_DAYS = 14;

export interface ChecklistExtra {
  /** The HTTPS listener: null when it is not running (desktop without a listener). */
  readonly tls?: { readonly enabled: boolean; readonly protocol?: string; readonly certificateExpiresAt: string | null; readonly mutualTls?: boolean } | null;
  readonly console?: { readonly passwordSet: boolean; readonly mfaEnabled: boolean };
  readonly selfTest?: SelfTestProgress;
  /** Sensitive-data findings (alias, tags, series) from the last scans. */
  readonly findings?: readonly PiiFinding[];
  /** The activity log's hash chain as verified (in turns) by the caller; verified here when absent. */
  readonly activity?: ChainVerification;
  readonly now?: number;
}

type Appl = Pick<Appliance, 'masterKey' | 'control' | 'activity' | 'settings'>;

const days = (ms: number) => Math.floor(ms / DAY);
const date = (iso: string) => iso.slice(0, 10);

export function computeChecklist(appliance: Appl, extra: ChecklistExtra = {}): ChecklistItem[] {
  const now = extra.now ?? Date.now();
  return [
    tlsItem(extra, now),
    masterKeyItem(appliance, now),
    dataKeysItem(appliance, now),
    plaintextItem(extra),
    storeIntegrityItem(extra),
    tokensItem(appliance, now),
    consoleItem(extra),
    piiItem(extra),
    activityItem(appliance, extra.activity),
    retentionItem(appliance),
    notificationsItem(appliance),
    forwardingItem(appliance),
  ];
}

/** Data leaving this machine by forwarding: where, over TLS (destinations accept https URLs only), with a custom CA or the system's. */
function forwardingItem(appliance: Appl): ChecklistItem {
  const base = { id: 'forwarding', title: 'Data leaving this machine: forwarding over TLS only' } as const;
  const control = controlDatabase(appliance);
  const store = new DestinationStore(control.db, (id) => control.dataKeys(id));
  const where: string[] = [];
  for (const ws of store.workspaces()) {
    let list;
    try {
      list = store.list(ws);
    } catch {
      continue; // a destination this version refuses sends nothing
    }
    for (const d of list) where.push(`${ws} → ${new URL(String(d.definition.url)).host} (${d.definition.customCa ? 'custom CA' : 'system CAs'})`);
  }
  if (where.length === 0) return { ...base, status: 'pass', evidence: 'no forwarding destination: samples stay on this machine' };
  return { ...base, status: 'pass', evidence: `${where.length} destination(s) receive samples over HTTPS (TLS 1.2+, certificates verified): ${where.sort().join('; ')}` };
}

/** Where alert notifications go. Definitions accept https URLs only, so every target is TLS; the item names the hosts. */
function notificationsItem(appliance: Appl): ChecklistItem {
  const base = { id: 'notifications', title: 'Alert notifications leave over TLS only' } as const;
  const control = controlDatabase(appliance);
  const store = new AlertManagerStore(control.db, (id) => control.dataKeys(id));
  const hosts = { alertmanager: new Set<string>(), webhook: new Set<string>() };
  let workspaces = 0;
  for (const w of appliance.control.listWorkspaces()) {
    let d;
    try {
      d = store.definition(w.workspaceId);
    } catch {
      continue; // a definition this version refuses sends nothing
    }
    if (!d) continue;
    workspaces++;
    for (const t of d.alertmanagers) hosts.alertmanager.add(new URL(t.url).host);
    for (const t of d.webhooks) hosts.webhook.add(new URL(t.url).host);
  }
  if (workspaces === 0) return { ...base, status: 'pass', evidence: 'no alert manager defined: alerts stay on this machine' };
  const list = (s: Set<string>) => (s.size ? [...s].sort().join(', ') : 'none');
  return { ...base, status: 'pass', evidence: `${workspaces} workspace(s) send alerts over HTTPS (TLS 1.2+, certificates verified) to Alertmanagers: ${list(hosts.alertmanager)}; webhooks: ${list(hosts.webhook)}` };
}

function tlsItem(extra: ChecklistExtra, now: number): ChecklistItem {
  const base = { id: 'tls', title: 'Data in transit: TLS only' } as const;
  const t = extra.tls;
  if (!t || !t.enabled) return { ...base, status: 'warn', evidence: 'the HTTPS listener is not running, so nothing can be sent to Ampule (and nothing is sent in clear)', fix: { label: 'Start the listener', action: 'ampule serve' } };
  const proto = `${t.protocol ?? 'TLS 1.2+'}${t.mutualTls ? ' with client certificates' : ''}`;
  if (!t.certificateExpiresAt) return { ...base, status: 'pass', evidence: `${proto}; user-supplied certificate` };
  const left = days(Date.parse(t.certificateExpiresAt) - now);
  if (left < 0) return { ...base, status: 'fail', evidence: `${proto}; the server certificate EXPIRED on ${date(t.certificateExpiresAt)}: clients refuse to connect`, fix: { label: 'Renew certificate', action: 'ampule cert issue' } };
  return {
    ...base,
    status: left < CERT_WARN_DAYS ? 'warn' : 'pass',
    evidence: `${proto}; server certificate expires ${date(t.certificateExpiresAt)} (${left} days)`,
    ...(left < CERT_WARN_DAYS ? { fix: { label: 'Renew certificate', action: 'ampule cert issue' } } : {}),
  };
}

/** When the master key was last rotated (activity log), else when this data directory got its first key. */
function masterKeySince(appliance: Appl): string | null {
  const rotated = appliance.activity.list({ action: 'key.rotate', outcome: 'ok', limit: 500 }).entries.find((e) => e.action === 'key.rotate');
  if (rotated) return rotated.time;
  for (const first of appliance.activity.exportRecords()) return first.time;
  return null;
}

function masterKeyItem(appliance: Appl, now: number): ChecklistItem {
  const mk = appliance.masterKey;
  const since = masterKeySince(appliance);
  const age = since ? days(now - Date.parse(since)) : null;
  const ageText = age === null ? '' : `; in use since ${date(since!)} (${age} days)`;
  // The title names the protection in force.
  if (mk.kind === 'file') {
    return { id: 'master-key', title: 'Master key: key file', status: 'warn', evidence: `master key read from a key file (${mk.location})${ageText}: anyone who can read that file can unwrap every data key`, fix: { label: 'Use the keychain', action: 'Start Ampule without --master-key-file on a machine with an OS keychain, or seal the key with a passphrase' } };
  }
  const title = mk.kind === 'passphrase' ? 'Master key: passphrase-sealed' : 'Master key: OS keychain';
  const where = mk.kind === 'passphrase' ? `sealed by a passphrase (scrypt N=2^17, AES-256-GCM) in a ${mk.location.replace(/^passphrase-sealed /, '')}; the passphrase is never stored` : `in the OS keychain (${mk.location}), never written to disk`;
  if (age !== null && age > KEY_MAX_AGE_DAYS) {
    return { id: 'master-key', title, status: 'warn', evidence: `master key ${where}${ageText}: older than a year`, fix: { label: 'Rotate master key', action: 'rotateMasterKey' } };
  }
  return { id: 'master-key', title, status: 'pass', evidence: `256-bit master key ${where}${ageText}` };
}

function dataKeysItem(appliance: Appl, now: number): ChecklistItem {
  const base = { id: 'data-keys', title: 'One data key per workspace' } as const;
  const workspaces = appliance.control.listWorkspaces().filter((w) => w.status === 'ACTIVE');
  const ages = new Map(dataKeyAges(appliance, now).map((k) => [k.workspaceId, k]));
  const missing = workspaces.filter((w) => !ages.has(w.workspaceId));
  if (missing.length) return { ...base, status: 'fail', evidence: `${missing.length} workspace(s) have no data key: ${missing.map((w) => w.workspaceId).join(', ')}`, fix: { label: 'Restore from backup', action: 'ampule restore FILE --as-new' } };
  const unfinished = workspaces.filter((w) => appliance.settings.unfinishedRotation(w.workspaceId));
  if (unfinished.length) {
    return { ...base, status: 'warn', evidence: `re-encryption after a data-key rotation did not finish for ${unfinished.map((w) => w.workspaceId).join(', ')}: some rows are still sealed with the old key`, fix: { label: 'Resume rotation', action: `ampule key rotate-data --workspace ${unfinished[0]!.workspaceId}` } };
  }
  const old = workspaces.filter((w) => ages.get(w.workspaceId)!.ageDays > KEY_MAX_AGE_DAYS);
  const oldest = Math.max(0, ...workspaces.map((w) => ages.get(w.workspaceId)!.ageDays));
  if (old.length) {
    return { ...base, status: 'warn', evidence: `${old.length} of ${workspaces.length} data key(s) are older than a year (oldest ${oldest} days): ${old.map((w) => w.workspaceId).join(', ')}`, fix: { label: 'Rotate data key', action: `ampule key rotate-data --workspace ${old[0]!.workspaceId}` } };
  }
  return { ...base, status: 'pass', evidence: `${workspaces.length} workspace(s), each with its own AES-256-GCM data key wrapped by the master key; oldest key ${oldest} days` };
}

function plaintextItem(extra: ChecklistExtra): ChecklistItem {
  const base = { id: 'plaintext-scan', title: 'No customer data in clear on disk' } as const;
  const st = extra.selfTest;
  if (!st || st.state === 'idle') return { ...base, status: 'warn', evidence: 'the self-test has not run since the appliance started', fix: { label: 'Run self-test', action: 'startSelfTest' } };
  if (st.state === 'running') return { ...base, status: 'warn', evidence: `self-test running: ${st.filesScanned} of ${st.filesTotal} files checked` };
  if (st.state === 'failed') return { ...base, status: 'fail', evidence: `${st.message}: ${st.findings.slice(0, 5).join(', ')}`, fix: { label: 'Run self-test again', action: 'startSelfTest' } };
  return { ...base, status: 'pass', evidence: `${st.message} (${st.finishedAt ? date(st.finishedAt) : 'just now'})` };
}

/** The self-test also verifies every workspace store (quick_check, manifest, every row authenticated). */
function storeIntegrityItem(extra: ChecklistExtra): ChecklistItem {
  const base = { id: 'store-integrity', title: 'Stored data intact' } as const;
  const st = extra.selfTest;
  const damage = st?.damage ?? [];
  if (damage.length) {
    return { ...base, status: 'fail', evidence: `${damage.length} workspace store(s) damaged: ${damage.slice(0, 3).join(' | ')}`, fix: { label: 'Restore from backup', action: 'ampule restore FILE' } };
  }
  if (!st || st.state === 'idle' || !st.damage) return { ...base, status: 'warn', evidence: 'the workspace stores have not been verified since the appliance started', fix: { label: 'Run self-test', action: 'startSelfTest' } };
  if (st.state === 'running') return { ...base, status: 'warn', evidence: 'self-test running: verifying the workspace stores' };
  return { ...base, status: 'pass', evidence: `every workspace store verified: SQLite quick_check, the sealed manifest (no row missing or swapped), every row decrypted and authenticated (${st.finishedAt ? date(st.finishedAt) : 'just now'})` };
}

export interface TokenHygiene {
  readonly active: number;
  readonly expiredNotRevoked: TokenInfo[];
  readonly unused: TokenInfo[];
  readonly overScoped: TokenInfo[];
  readonly neverExpire: TokenInfo[];
}

export function tokenHygiene(appliance: Pick<Appliance, 'control'>, now = Date.now()): TokenHygiene {
  const tokens = appliance.control.listWorkspaces().flatMap((w) => appliance.control.listTokens(w.workspaceId)).filter((t) => !t.revokedAt);
  const expired = (t: TokenInfo) => !!t.expiresAt && Date.parse(t.expiresAt) <= now;
  const live = tokens.filter((t) => !expired(t));
  return {
    active: live.length,
    expiredNotRevoked: tokens.filter(expired),
    unused: live.filter((t) => now - Date.parse(t.lastUsedAt ?? t.createdAt) > TOKEN_UNUSED_DAYS * DAY),
    // admin is for people managing data; a writer or reader that also holds it has more than it needs.
    overScoped: live.filter((t) => t.scopes.includes('admin') && t.scopes.length > 1),
    neverExpire: live.filter((t) => t.scopes.includes('admin') && !t.expiresAt),
  };
}

function tokensItem(appliance: Appl, now: number): ChecklistItem {
  const h = tokenHygiene(appliance, now);
  const problems: string[] = [];
  if (h.unused.length) problems.push(`${h.unused.length} unused for ${TOKEN_UNUSED_DAYS}+ days (${h.unused.slice(0, 3).map((t) => t.tokenId).join(', ')})`);
  if (h.overScoped.length) problems.push(`${h.overScoped.length} combine admin with other scopes (${h.overScoped.slice(0, 3).map((t) => t.tokenId).join(', ')})`);
  if (h.neverExpire.length) problems.push(`${h.neverExpire.length} admin token(s) never expire`);
  if (h.expiredNotRevoked.length) problems.push(`${h.expiredNotRevoked.length} expired but not revoked`);
  const base = { id: 'tokens', title: 'Least-privilege tokens' } as const;
  if (!problems.length) return { ...base, status: 'pass', evidence: `${h.active} active token(s), each scoped to one workspace, used recently, stored as SHA-256 hashes only` };
  const first = [...h.overScoped, ...h.unused, ...h.neverExpire, ...h.expiredNotRevoked][0]!;
  return { ...base, status: 'warn', evidence: `${h.active} active token(s): ${problems.join('; ')}`, fix: { label: 'Revoke token', action: `ampule token revoke ${first.tokenId}` } };
}

function consoleItem(extra: ChecklistExtra): ChecklistItem {
  const c = extra.console;
  const base = { id: 'console-mfa', title: 'Web console second factor' } as const;
  if (!c || !c.passwordSet) return { ...base, status: 'pass', evidence: 'the web console is off (no password set)' };
  if (c.mfaEnabled) return { ...base, status: 'pass', evidence: 'password + TOTP code required to sign in' };
  return { ...base, status: 'warn', evidence: 'password only: the TOTP second factor is off', fix: { label: 'Enable TOTP', action: 'ampule console mfa enable' } };
}

function piiItem(extra: ChecklistExtra): ChecklistItem {
  const base = { id: 'pii', title: 'No personal data or secrets in labels, aliases and tags' } as const;
  const f = extra.findings;
  if (!f) return { ...base, status: 'warn', evidence: 'no sensitive-data scan has run yet', fix: { label: 'Scan', action: 'ampule scan' } };
  if (f.length === 0) return { ...base, status: 'pass', evidence: 'the last scan found nothing that looks like personal data or a secret' };
  const kinds = [...new Set(f.map((x) => x.kind))].map((k) => SENSITIVE_KIND_TITLES[k as SensitiveKind] ?? k);
  const workspaces = new Set(f.map((x) => x.workspaceId));
  const where = f.slice(0, 3).map((x) => `${x.labelName} in ${x.workspaceId} (${x.example})`).join('; ');
  const fields = f.filter((x) => x.labelName === 'alias' || x.labelName.startsWith('tag:'));
  return {
    ...base,
    status: 'warn',
    evidence: `${f.length} finding(s) in ${workspaces.size} workspace(s): ${kinds.join(', ')}. ${where}`,
    fix: fields.length
      ? { label: 'Rename workspace', action: `ampule workspace update ${fields[0]!.workspaceId} --alias NEW` }
      : { label: 'Drop or hash the label', action: `ampule rules set --workspace ${f[0]!.workspaceId} --hash ${f[0]!.labelName}` },
  };
}

function activityItem(appliance: Appl, verified: ChainVerification | undefined): ChecklistItem {
  const v = verified ?? (appliance.activity.flush(), appliance.activity.verify());
  return v.ok
    ? { id: 'activity-log', title: 'Activity log intact', status: 'pass', evidence: `hash chain verified: ${v.message}` }
    : { id: 'activity-log', title: 'Activity log intact', status: 'fail', evidence: `the hash chain is broken at record ${v.brokenAtSeq}: ${v.message}`, fix: { label: 'Export the log', action: 'ampule audit export --json' } };
}

function retentionItem(appliance: Appl): ChecklistItem {
  const ws = appliance.control.listWorkspaces().filter((w) => w.status === 'ACTIVE');
  const custom = ws.map((w) => [w.workspaceId, appliance.settings.retentionDays(w.workspaceId)] as const).filter(([, d]) => d !== null);
  const parts = custom.slice(0, 5).map(([id, d]) => `${id}: ${d} days`);
  return {
    id: 'retention',
    title: 'Data kept only as long as needed',
    status: 'pass',
    evidence: `${ws.length - custom.length} workspace(s) keep samples ${DEFAULT_RETENTION_DAYS} days (default)${parts.length ? `; ${parts.join(', ')}` : ''}; older data is deleted automatically`,
  };
}
