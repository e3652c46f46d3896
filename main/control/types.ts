// The control plane's data types and service interface (workspaces, tokens). AMP's field names
// where AMP has one.

import { SCOPES, type Scope, type TokenInfo, type WorkspaceStatus } from '../../shared/api';

// Pure data types the window sees too are defined once, in shared/api.
export { SCOPES, type Scope, type TokenInfo, type WorkspaceStatus };

export interface Workspace {
  /** `ws-` + random, immutable. */
  readonly workspaceId: string;
  readonly alias: string;
  readonly status: WorkspaceStatus;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly tags: Readonly<Record<string, string>>;
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
  /** Exemplars kept (a circular store, as Prometheus's storage.exemplars.max-exemplars); 0 = none. */
  readonly maxExemplars: number;
}

/**
 * invalid/not_found/conflict: the request; corrupt/read_only/unavailable/too_new: the control
 * database itself (a damaged file, no write permission, a file held by another process, a newer
 * Ampule's schema).
 */
export type ControlErrorKind = 'invalid' | 'not_found' | 'conflict' | 'corrupt' | 'read_only' | 'unavailable' | 'too_new';

/** A failure the caller can act on; `field` names the bad input for validation errors. */
export class ControlError extends Error {
  constructor(
    readonly kind: ControlErrorKind,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

/** One control-plane action or authentication failure, for the activity log. Never holds a secret or customer data (alias, tags, token names). */
export interface ActivityEvent {
  readonly action: string;
  readonly workspaceId?: string;
  /** Who did it: 'cli', 'console:<user>', 'token:<tokenId>'… */
  readonly actor: string;
  readonly outcome: 'success' | 'failure';
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

export interface ActivitySink {
  record(e: ActivityEvent): void;
}

export interface CreateWorkspaceInput {
  readonly alias: string;
  readonly tags?: Readonly<Record<string, string>>;
}

export interface UpdateWorkspaceInput {
  readonly alias?: string;
  /** Added or replaced. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Tag keys removed (after `tags` is applied). */
  readonly removeTags?: readonly string[];
}

export interface CreateTokenInput {
  readonly scopes: readonly Scope[];
  readonly name?: string;
  /** ISO 8601 or Date; null/absent = never expires. */
  readonly expiresAt?: string | Date | null;
}

/** What createToken returns: the only time the secret `token` exists outside the caller. */
export interface CreatedToken extends TokenInfo {
  readonly token: string;
}

export interface VerifiedToken {
  readonly workspaceId: string;
  readonly tokenId: string;
  readonly scopes: readonly Scope[];
}

/** Workspaces, tokens and limit overrides. Every state change is recorded through the ActivitySink. */
export interface ControlPlane {
  createWorkspace(input: CreateWorkspaceInput, actor?: string): Workspace;
  listWorkspaces(): Workspace[];
  /** Throws ControlError not_found. */
  describeWorkspace(workspaceId: string): Workspace;
  updateWorkspace(workspaceId: string, input: UpdateWorkspaceInput, actor?: string): Workspace;
  /** Destroys the workspace's data key first (crypto-shredding), then its files. */
  deleteWorkspace(workspaceId: string, actor?: string): void;
  /** Returns the token secret, `amp_<tokenId>_<secret>`, once; only its SHA-256 is stored. */
  createToken(workspaceId: string, input: CreateTokenInput, actor?: string): CreatedToken;
  listTokens(workspaceId: string): TokenInfo[];
  revokeToken(tokenId: string, actor?: string): TokenInfo;
  /** The token's workspace and scopes, or null when unknown, revoked, expired or malformed. */
  verifyToken(token: string): VerifiedToken | null;
  getLimits(workspaceId: string): Partial<WorkspaceLimits>;
  /** Merges `limits` into the overrides (validated); returns the overrides now in force. */
  setLimits(workspaceId: string, limits: Partial<WorkspaceLimits>, actor?: string): Partial<WorkspaceLimits>;
}
