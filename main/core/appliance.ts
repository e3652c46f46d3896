// The appliance: one open data directory (control database, master key, per-workspace stores).
// Interface here; the implementation is in ./open-appliance.ts.
import type { Appender, Querier } from '../tsdb/types';
import type { MasterKeyProvider } from '../crypto/types';

export interface ApplianceOptions {
  readonly dataDir: string;
  /** Explicit headless alternative to the OS keychain: a 0600 file holding the master key. */
  readonly masterKeyFile?: string;
}

export interface WorkspaceStoreStats {
  readonly series: number;
  readonly samples: number;
  readonly bytesOnDisk: number;
}

/** One workspace's open time-series store. */
export interface WorkspaceStore {
  readonly workspaceId: string;
  appender(): Appender;
  querier(): Querier;
  stats(): WorkspaceStoreStats;
}

export interface Appliance {
  readonly dataDir: string;
  readonly masterKey: MasterKeyProvider;
  /** Opens (and caches) the store of an existing workspace; throws ControlError not_found. */
  store(workspaceId: string): WorkspaceStore;
  /** Flushes heads and closes every store and the control database. */
  close(): void;
}
