// The appliance: one open data directory (control database, master key, per-workspace stores).
// Interface here; the implementation is in ./open-appliance.ts.
import type { Cipher, MasterKeyProvider } from '../crypto/types';
import type { ActivitySink, ControlPlane } from '../control/types';
import type { ActivityLog } from '../audit/activity-log';
import type { WorkspaceSettings } from '../control/workspace-settings';
import type { IngestRuleStore } from '../discovery/rules-store';
import type { DiscoveryIndex } from '../discovery/scan';
import type { RuleNamespaceStore } from '../rules/namespace-store';
import type { Tenant } from './tenant';
import type { WorkspaceStore } from './workspace-store';

export interface ApplianceOptions {
  readonly dataDir: string;
  /** Explicit headless alternative to the OS keychain: a 0600 file holding the master key. */
  readonly masterKeyFile?: string;
  /** Headless and persistent: the passphrase that seals the master key in <dataDir>/master-key.sealed (see main/crypto/master-key-choice). */
  readonly masterKeyPassphrase?: string;
  /** Keychain service name; default 'Ampule' (or AMPULE_KEYCHAIN_SERVICE). Tests use their own. */
  readonly keychainService?: string;
  /** Where control-plane actions are recorded (the activity log); none by default. */
  readonly activity?: ActivitySink;
  /** Samples older than this are deleted (default 150 days, AMP's default retention). */
  readonly retentionMs?: number;
  /** How often open stores cut complete chunks and apply retention (default 5 minutes). */
  readonly maintenanceIntervalMs?: number;
}

export type IngestRejectedListener = (workspaceId: string, reason: string, count: number) => void;

export interface Appliance {
  readonly dataDir: string;
  readonly masterKey: MasterKeyProvider;
  /** Workspaces, tokens, limit overrides. */
  readonly control: ControlPlane;
  /** The encrypted, hash-chained activity log (also the control plane's ActivitySink). */
  readonly activity: ActivityLog;
  /** Seals the TLS private keys on disk (main/tls); its key is wrapped by the master key and re-wrapped on rotation. */
  readonly tlsKeys: Cipher;
  /** Per-workspace retention and data-key rotation state. */
  readonly settings: WorkspaceSettings;
  /** Per-workspace ingest rules (drop / hash labels), applied before anything is stored. */
  readonly ingestRules: IngestRuleStore;
  /** Sensitive-data findings: full scans plus the series ingestion creates. */
  readonly discovery: DiscoveryIndex;
  /** Per-workspace rule-groups namespaces (Prometheus rule files), sealed. */
  readonly ruleNamespaces: RuleNamespaceStore;
  /** Closes a workspace's open tenant and store (if open); the next tenant() reopens it with current settings and keys. */
  closeStore(workspaceId: string): void;
  /**
   * Re-wraps every data key under a new master key (crash-safe). With the keychain a new random
   * key is made; with a key file, `newKeyFile` (0600) must hold the next key and is used from then on.
   */
  rotateMasterKey(opts?: {
    newKeyFile?: string;
    actor?: string;
    /** Observes progress: 'pending-stored', 'rewrap:<n>', 'rewrapped', 'promoted', 'done' (crash tests stop the process here). */
    onProgress?: (step: string) => void;
  }): void;
  /** Opens (and caches) an existing workspace's tenant: store, limits, ingester; throws ControlError not_found. */
  tenant(workspaceId: string): Tenant;
  /** The store of tenant(workspaceId). */
  store(workspaceId: string): WorkspaceStore;
  /** Hears every refused sample count, by workspace and reason (the ingestion chart); returns a remover. */
  onIngestRejected(listener: IngestRejectedListener): () => void;
  /** Flushes heads and closes every store and the control database. */
  close(): void;
}
