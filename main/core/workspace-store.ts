// One workspace's open time-series store as the rest of the core sees it (the tenant owns one).
import type { Appender, Matcher, Querier } from '../tsdb/types';
import type { BlobName } from '../tsdb/manifest';
import type { CommittedLog } from '../tsdb/committed-reader';

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
  /** What is committed, in commit order (the forwarder follows it). */
  committed(): CommittedLog;
  stats(): WorkspaceStoreStats;
  /** Deletes the matching series' samples in [mint, maxt] for good (rows rewritten, old ciphertext overwritten); returns the samples deleted. */
  deleteSeries(matchers: readonly Matcher[], mint: number, maxt: number): Promise<number>;
  /** A sealed blob row (null: none yet): metric metadata (main/ingest/metadata), exemplars (main/ingest/exemplars). */
  readBlob(name: BlobName): Buffer | null;
  writeBlob(name: BlobName, plain: Buffer): void;
  /** Replaces (null: deletes) several blob rows in one transaction (the exemplar store's parts). */
  writeBlobs(changes: readonly (readonly [BlobName, Buffer | null])[]): void;
  /** Re-seals every row not sealed with the current data key, a few a turn of the event loop; resumable. */
  reencrypt(onProgress?: (done: number, total: number) => void): Promise<void>;
}
