// The control plane's data types and service interface (workspaces, tokens). AMP's field names
// where AMP has one.

export type WorkspaceStatus = 'CREATING' | 'ACTIVE' | 'DELETING';

export interface Workspace {
  /** `ws-` + random, immutable. */
  readonly workspaceId: string;
  readonly alias: string;
  readonly status: WorkspaceStatus;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly tags: Readonly<Record<string, string>>;
}

export type Scope = 'remote_write' | 'query' | 'admin';
export const SCOPES: readonly Scope[] = ['remote_write', 'query', 'admin'];

export interface TokenInfo {
  readonly tokenId: string;
  readonly workspaceId: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

/** Per-workspace ingestion limits (AMP/Mimir-like defaults live in main/ingest/limits.ts). */
export interface WorkspaceLimits {
  readonly activeSeries: number;
  readonly ingestionRate: number;
  readonly ingestionBurst: number;
  readonly labelsPerSeries: number;
  readonly labelNameLength: number;
  readonly labelValueLength: number;
  readonly maxBodyBytes: number;
  readonly maxDecompressedBytes: number;
  /** Out-of-order window in ms; 0 = samples must be in order per series. */
  readonly outOfOrderWindowMs: number;
}

/** A failure the caller can act on; `field` names the bad input for validation errors. */
export class ControlError extends Error {
  constructor(
    readonly kind: 'invalid' | 'not_found' | 'conflict',
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}
