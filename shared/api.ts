// The one contract between the window and the appliance. The same interface is served over
// Electron IPC (desktop) and over the HTTPS web console (headless), so the very same renderer
// runs in both. API_SPEC describes every method at runtime (its argument validators), so each
// transport validates every argument at its edge with one generic adapter (main/service/dispatch).
import type { ChecklistItem } from './checklist';
import type { Finding } from './sensitive-data';
import {
  arrayOf,
  num,
  object,
  oneOf,
  optional,
  record,
  str,
  type ArgsValidator,
} from './validate';

// ---------- Data types ----------

export type WorkspaceStatus = 'CREATING' | 'ACTIVE' | 'DELETING';
export type Scope = 'remote_write' | 'query' | 'admin';
export const SCOPES: readonly Scope[] = ['remote_write', 'query', 'admin'];

export interface WorkspaceSummary {
  readonly workspaceId: string;
  readonly alias: string;
  readonly status: WorkspaceStatus;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly activeSeries: number;
  /** Accepted samples per second over the last minute. */
  readonly samplesPerSecond: number;
  readonly bytesOnDisk: number;
}

export interface NewWorkspace {
  readonly alias: string;
  readonly tags?: Readonly<Record<string, string>>;
}

/** Where to send and read a workspace's data from; everything a remote_write block needs. */
export interface WorkspaceEndpoints {
  /** null when no HTTPS listener is running (desktop with the server off). */
  readonly remoteWriteUrl: string | null;
  /** Prometheus-compatible base URL for Grafana (…/workspaces/<id>), or null. */
  readonly prometheusUrl: string | null;
  /** PEM of the local CA the listener's certificate chains to (give it to Prometheus/Grafana). */
  readonly caPem: string | null;
  readonly caFingerprint: string | null;
}

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

export interface NewToken {
  readonly name: string;
  readonly scopes: readonly Scope[];
  /** Days until it expires; omitted = never. */
  readonly expiresInDays?: number;
}

/** The secret appears only here, once; the appliance keeps only its hash. */
export interface CreatedToken {
  readonly token: TokenInfo;
  readonly secret: string;
}

/** Prometheus HTTP API result shapes (what /api/v1/query and query_range return in `data`). */
export type PromSample = readonly [number, string];
/** A native histogram: count, sum and each populated bucket as [boundaryRule, lower, upper, count]. */
export interface PromHistogram {
  readonly count: string;
  readonly sum: string;
  readonly buckets?: readonly (readonly [number, string, string, string])[];
}
export type PromHistogramSample = readonly [number, PromHistogram];
/** A float sample has `value`, a native-histogram sample `histogram`. */
export interface PromVectorItem {
  readonly metric: Record<string, string>;
  readonly value?: PromSample;
  readonly histogram?: PromHistogramSample;
}
/** Float points in `values`, native-histogram points in `histograms`, each present only when there are some. */
export interface PromMatrixItem {
  readonly metric: Record<string, string>;
  readonly values?: readonly PromSample[];
  readonly histograms?: readonly PromHistogramSample[];
}
export type PromData =
  | { readonly resultType: 'vector'; readonly result: readonly PromVectorItem[] }
  | { readonly resultType: 'matrix'; readonly result: readonly PromMatrixItem[] }
  | { readonly resultType: 'scalar'; readonly result: PromSample }
  | { readonly resultType: 'string'; readonly result: PromSample };

export type PromResponse =
  | { readonly status: 'success'; readonly data: PromData; readonly warnings?: readonly string[] }
  | { readonly status: 'error'; readonly errorType: string; readonly error: string };

export interface InstantQuery {
  readonly query: string;
  /** Unix seconds; omitted = now. */
  readonly time?: number;
}

export interface RangeQuery {
  readonly query: string;
  /** Unix seconds. */
  readonly start: number;
  readonly end: number;
  /** Seconds between points. */
  readonly step: number;
}

/** One TYPE/HELP/UNIT description of a metric, as remote write sent it (Prometheus's /api/v1/metadata entries). */
export interface MetricMetadataEntry {
  readonly type: 'unknown' | 'counter' | 'gauge' | 'histogram' | 'gaugehistogram' | 'summary' | 'info' | 'stateset';
  readonly help: string;
  readonly unit: string;
}

/** A syntax error in a PromQL expression, as character offsets into it. */
export interface QueryIssue {
  readonly from: number;
  readonly to: number;
  readonly message: string;
}

export interface StatsRange {
  /** Unix seconds. */
  readonly start: number;
  readonly end: number;
  readonly step: number;
}

/** Per-workspace limits (AMP's service quotas, Mimir's names), settable per workspace. */
export const LIMIT_NAMES = [
  'ingestionRate',
  'ingestionBurst',
  'activeSeries',
  'labelsPerSeries',
  'labelNameLength',
  'labelValueLength',
  'maxBodyBytes',
  'maxDecompressedBytes',
  'outOfOrderWindowMs',
  'maxExemplars',
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

export interface WorkspaceLimitsInfo {
  /** The values in force: the defaults with this workspace's overrides. */
  readonly limits: Readonly<Record<LimitName, number>>;
  readonly defaults: Readonly<Record<LimitName, number>>;
  /** The limits set for this workspace (the others are at their defaults). */
  readonly overridden: readonly LimitName[];
}

/** A workspace's own ingestion figures over time (one value per timestamp; null = no data). */
export interface IngestStats {
  /** Unix seconds. */
  readonly timestamps: readonly number[];
  readonly samplesPerSecond: readonly (number | null)[];
  readonly activeSeries: readonly (number | null)[];
  /** Rejected samples per second, one series per reason (out_of_order, too_old, rate_limit…). */
  readonly rejected: readonly { readonly reason: string; readonly values: readonly (number | null)[] }[];
}

export type ActivityOutcome = 'ok' | 'denied' | 'error';

export interface ActivityEntry {
  readonly seq: number;
  /** ISO 8601. */
  readonly time: string;
  /** Who: 'console:admin', 'desktop', 'cli', 'token:<id>', or a remote address for failures. */
  readonly actor: string;
  /** What: 'workspace.create', 'token.revoke', 'console.login'… */
  readonly action: string;
  readonly outcome: ActivityOutcome;
  readonly workspaceId: string | null;
  /** Short, secret-free detail. */
  readonly detail: string;
}

export interface ActivityFilter {
  readonly workspaceId?: string;
  /** Prefix match on the action, e.g. 'token.' */
  readonly action?: string;
  readonly outcome?: ActivityOutcome;
  /** Entries with seq < before (paging backwards); omitted = newest. */
  readonly before?: number;
  readonly limit?: number;
}

export interface ActivityPage {
  /** Newest first. */
  readonly entries: readonly ActivityEntry[];
  /** Pass as `before` for the next (older) page; null at the start of the log. */
  readonly nextBefore: number | null;
}

export interface ChainVerification {
  readonly ok: boolean;
  readonly checked: number;
  /** First entry whose hash does not chain, when not ok. */
  readonly brokenAtSeq: number | null;
  readonly message: string;
}

export type SelfTestState = 'idle' | 'running' | 'passed' | 'failed';

/** The on-demand "no plaintext on disk" self-test: scans every file in the data directory for known customer strings. */
export interface SelfTestProgress {
  readonly state: SelfTestState;
  readonly filesScanned: number;
  readonly filesTotal: number;
  readonly bytesScanned: number;
  /** Files where plaintext was found (paths relative to the data directory), when failed. */
  readonly findings: readonly string[];
  /** Workspace stores found damaged (each names workspace, file and item); absent from older servers. */
  readonly damage?: readonly string[];
  readonly message: string;
  readonly finishedAt: string | null;
}

/** A sensitive-data finding (shared/sensitive-data.ts) in one workspace's alias, tags or series. */
export interface PiiFinding extends Finding {
  readonly workspaceId: string;
}

export interface Settings {
  readonly version: string;
  readonly dataDir: string;
  readonly masterKey: { readonly kind: 'keychain' | 'passphrase' | 'file'; readonly location: string };
  /** The local CA (PEM, to hand to clients), its fingerprint, and when the server certificate expires. */
  readonly tls: { readonly caPem: string | null; readonly caFingerprint: string | null; readonly certificateExpiresAt: string | null };
  readonly console: { readonly passwordSet: boolean; readonly mfaEnabled: boolean };
  /** The HTTPS listener's base URL, or null when it is off. */
  readonly listenUrl: string | null;
}

/** One rule of a running group, as the Rules page shows it (Prometheus's /api/v1/rules fields). */
export interface RuleInfo {
  readonly name: string;
  readonly kind: 'recording' | 'alerting';
  readonly query: string;
  readonly health: 'unknown' | 'ok' | 'err';
  readonly lastError: string | null;
  /** ISO 8601 evaluation time of the last run, or null before the first. */
  readonly lastEvaluation: string | null;
  readonly evaluationTimeMs: number;
  /** Alerting rules: the state of its most advanced alert. */
  readonly state: 'inactive' | 'pending' | 'firing' | null;
  /** Alerting rules: its pending and firing alerts. */
  readonly activeAlerts: number;
}

export interface RuleGroupInfo {
  /** The rule-groups namespace (Prometheus's `file`). */
  readonly namespace: string;
  readonly name: string;
  readonly intervalSeconds: number;
  /** ISO 8601 wall-clock start of the last evaluation, or null. */
  readonly lastEvaluation: string | null;
  readonly evaluationTimeMs: number;
  /** Evaluations started, those with at least one failed rule, and intervals skipped (the previous one still ran). */
  readonly evaluations: number;
  readonly failed: number;
  readonly missed: number;
  readonly rules: readonly RuleInfo[];
}

export interface AlertInfo {
  readonly namespace: string;
  readonly group: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly state: 'pending' | 'firing';
  /** ISO 8601. */
  readonly activeAt: string;
  readonly value: number | string;
}

/** One notification target of the workspace's alert manager definition. */
export interface NotifierTargetInfo {
  readonly kind: 'alertmanager' | 'webhook';
  readonly url: string;
  readonly sent: number;
  readonly failed: number;
  readonly dropped: number;
  readonly queued: number;
  readonly lastError: string | null;
  /** ISO 8601, or null. */
  readonly lastErrorAt: string | null;
  readonly lastSuccessAt: string | null;
  readonly retryAt: string | null;
}

/** A rule-groups namespace (AMP's noun): one Prometheus rule file stored in a workspace. */
export interface RuleNamespaceInfo {
  readonly name: string;
  readonly groups: number;
  readonly rules: number;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly modifiedAt: string;
}

export interface RuleNamespaceData extends RuleNamespaceInfo {
  /** The rule file as it was put. */
  readonly data: string;
}

/** A workspace's rule evaluation and notifications right now. */
export interface WorkspaceRules {
  readonly namespaces: readonly RuleNamespaceInfo[];
  /** False when the workspace has no rule-groups namespaces (nothing is evaluated). */
  readonly evaluating: boolean;
  readonly groups: readonly RuleGroupInfo[];
  /** Stored namespaces this version refuses to load, with why. */
  readonly loadErrors: readonly { readonly namespace: string; readonly message: string }[];
  /** Pending and firing alerts, firing first. */
  readonly alerts: readonly AlertInfo[];
  /** Null when the workspace has no alert manager definition (alerts go nowhere). */
  readonly notifications: { readonly targets: readonly NotifierTargetInfo[] } | null;
}

/** One forwarding destination of a workspace as it runs now (main/forward); never a credential. */
export interface ForwardDestinationStatus {
  readonly id: string;
  readonly name: string;
  /** https URL of the receiver (the definition refuses credentials in URLs). */
  readonly url: string;
  /** Remote write protocol version sent. */
  readonly protocol: '1.0' | '2.0' | 'unknown';
  readonly state: 'running' | 'backfilling' | 'stopped' | 'failed';
  /** Seconds the newest acknowledged sample is behind what is committed (0 when caught up). */
  readonly lagSeconds: number;
  readonly backlogRecords: number;
  readonly shards: number;
  readonly samples: {
    readonly sent: number;
    readonly failed: number;
    readonly retried: number;
    readonly dropped: number;
    readonly droppedByReason: Readonly<Record<string, number>>;
    readonly relabelledAway: number;
  };
  readonly lastError: { readonly at: string; readonly message: string } | null;
  readonly tls: { readonly customCa: boolean };
}

// ---------- The contract ----------

export interface AmpuleApi {
  listWorkspaces(): Promise<WorkspaceSummary[]>;
  createWorkspace(input: NewWorkspace): Promise<WorkspaceSummary>;
  describeWorkspace(workspaceId: string): Promise<WorkspaceSummary>;
  renameWorkspace(workspaceId: string, alias: string): Promise<WorkspaceSummary>;
  setWorkspaceTags(workspaceId: string, tags: Readonly<Record<string, string>>): Promise<WorkspaceSummary>;
  /** `confirmation` must be the workspace's alias or id, typed by the user. */
  deleteWorkspace(workspaceId: string, confirmation: string): Promise<void>;
  workspaceEndpoints(workspaceId: string): Promise<WorkspaceEndpoints>;
  workspaceStats(workspaceId: string, range: StatsRange): Promise<IngestStats>;
  getLimits(workspaceId: string): Promise<WorkspaceLimitsInfo>;
  /** Sets the given limits (others unchanged); recorded in the activity log. */
  setLimits(workspaceId: string, limits: Partial<Record<LimitName, number>>): Promise<WorkspaceLimitsInfo>;

  listTokens(workspaceId: string): Promise<TokenInfo[]>;
  createToken(workspaceId: string, input: NewToken): Promise<CreatedToken>;
  revokeToken(workspaceId: string, tokenId: string): Promise<void>;
  /** Each forwarding destination's lag, counts and last error (empty when the workspace forwards nowhere). */
  forwardingStatus(workspaceId: string): Promise<ForwardDestinationStatus[]>;

  query(workspaceId: string, q: InstantQuery): Promise<PromResponse>;
  queryRange(workspaceId: string, q: RangeQuery): Promise<PromResponse>;
  /** Syntax errors of a PromQL expression (empty when it parses). */
  checkQuery(query: string): Promise<QueryIssue[]>;
  /** Metric names in a workspace, for autocompletion. */
  metricNames(workspaceId: string): Promise<string[]>;
  /** Label names of the series a selector matches (all series when omitted), for autocompletion. */
  labelNames(workspaceId: string, match?: string): Promise<string[]>;
  /** Values of one label over the series a selector matches (all series when omitted). */
  labelValues(workspaceId: string, name: string, match?: string): Promise<string[]>;
  /** Label sets of the series a selector matches, at most `limit` of them. */
  series(workspaceId: string, match: string, limit: number): Promise<Record<string, string>[]>;
  /** TYPE, HELP and UNIT per metric name (all metrics, or the one named), as /api/v1/metadata answers. */
  metricMetadata(workspaceId: string, metric?: string): Promise<Record<string, MetricMetadataEntry[]>>;

  /** Rule groups with their health and evaluation counts, alerts, and where notifications go (their status). */
  workspaceRules(workspaceId: string): Promise<WorkspaceRules>;
  ruleNamespace(workspaceId: string, name: string): Promise<RuleNamespaceData>;
  /**
   * Creates or replaces a namespace from a Prometheus rule file, validated as strictly as
   * `promtool check rules`; an invalid file is refused ('invalid', every problem named by line,
   * group, rule and field) and nothing is stored. Recorded in the activity log.
   */
  putRuleNamespace(workspaceId: string, name: string, data: string): Promise<RuleNamespaceInfo>;
  deleteRuleNamespace(workspaceId: string, name: string): Promise<void>;

  checklist(): Promise<ChecklistItem[]>;
  startSelfTest(): Promise<SelfTestProgress>;
  selfTestProgress(): Promise<SelfTestProgress>;
  piiFindings(): Promise<PiiFinding[]>;
  listActivity(filter: ActivityFilter): Promise<ActivityPage>;
  verifyActivity(): Promise<ChainVerification>;

  getSettings(): Promise<Settings>;
  rotateMasterKey(): Promise<void>;
}

export type ApiMethod = keyof AmpuleApi;
export type ApiArgs<M extends ApiMethod> = Parameters<AmpuleApi[M]>;
export type ApiReturn<M extends ApiMethod> = Awaited<ReturnType<AmpuleApi[M]>>;

// ---------- Errors and the wire envelope ----------

/** What the UI can do about a failure: fix the input, refresh, sign in, wait, or report. */
export type ApiErrorKind =
  | 'invalid'
  | 'not_found'
  | 'conflict'
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

export interface ApiErrorData {
  readonly kind: ApiErrorKind;
  readonly message: string;
  /** The input field at fault, for 'invalid'. */
  readonly field?: string;
  /** How to fix it, when known (e.g. unlock the keychain). */
  readonly advice?: string;
}

export class ApiError extends Error implements ApiErrorData {
  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    readonly field?: string,
    readonly advice?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toData(): ApiErrorData {
    return {
      kind: this.kind,
      message: this.message,
      ...(this.field !== undefined ? { field: this.field } : {}),
      ...(this.advice !== undefined ? { advice: this.advice } : {}),
    };
  }
}

/**
 * What crosses a process hop: errors as data, because Electron's IPC and JSON both drop an
 * Error's own properties.
 */
export type ApiResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ApiErrorData };

/** What the Electron preload exposes as `window.ampule`: one function per method, answering envelopes. */
export type AmpuleBridge = { readonly [M in ApiMethod]: (...args: ApiArgs<M>) => Promise<ApiResult<ApiReturn<M>>> };

// ---------- Runtime description ----------

export interface MethodSpec<A extends readonly unknown[]> {
  readonly args: ArgsValidator<A>;
}

export const ALIAS_MAX = 100;
export const TAGS_MAX = 50;

const workspaceId = str({ min: 4, max: 64, pattern: /^ws-[A-Za-z0-9_-]+$/, patternHint: "a workspace id ('ws-' followed by letters and digits)" });
const tokenId = str({ min: 1, max: 64, pattern: /^[A-Za-z0-9_-]+$/, patternHint: 'a token id (letters, digits, - and _)' });
const alias = str({ min: 1, max: ALIAS_MAX, pattern: /^[^\p{Cc}]+$/u, patternHint: 'free of control characters' });
const tags = record(
  str({ min: 1, max: 128, pattern: /^[\p{L}\p{N}\s_.:/=+\-@]+$/u, patternHint: 'letters, digits, spaces and _ . : / = + - @ (AWS tag rules)' }),
  str({ max: 256, pattern: /^[\p{L}\p{N}\s_.:/=+\-@]*$/u, patternHint: 'letters, digits, spaces and _ . : / = + - @ (AWS tag rules)' }),
  { max: TAGS_MAX },
);
const promql = str({ min: 1, max: 16_384 });
const namespaceName = str({ min: 1, max: 64, pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*$/, patternHint: "a namespace name (a letter or digit, then letters, digits, '-', '.' or '_')" });
/** A PromQL series selector such as `up{job="api"}` (parsed, and refused when invalid, by the appliance). */
const seriesSelector = str({ min: 1, max: 16_384 });
/** Unix seconds between 1970 and 2200. */
const unixSeconds = num({ min: 0, max: 7_258_118_400 });
const range = { start: unixSeconds, end: unixSeconds, step: num({ min: 0.001, max: 86_400 * 365 }) };
/** Whole numbers; each limit's own minimum is the control plane's to check. */
const limitValue = optional(num({ min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }));
const limitChanges = object(Object.fromEntries(LIMIT_NAMES.map((n) => [n, limitValue])) as Record<LimitName, typeof limitValue>);

export const API_SPEC: { readonly [M in ApiMethod]: MethodSpec<ApiArgs<M>> } = {
  listWorkspaces: { args: [] },
  createWorkspace: { args: [object({ alias, tags: optional(tags) })] },
  describeWorkspace: { args: [workspaceId] },
  renameWorkspace: { args: [workspaceId, alias] },
  setWorkspaceTags: { args: [workspaceId, tags] },
  deleteWorkspace: { args: [workspaceId, str({ min: 1, max: 200 })] },
  workspaceEndpoints: { args: [workspaceId] },
  workspaceStats: { args: [workspaceId, object(range)] },
  getLimits: { args: [workspaceId] },
  setLimits: { args: [workspaceId, limitChanges] },

  listTokens: { args: [workspaceId] },
  createToken: {
    args: [
      workspaceId,
      object({
        name: str({ min: 1, max: 64, pattern: /^[^\p{Cc}]+$/u, patternHint: 'free of control characters' }),
        scopes: arrayOf(oneOf(['remote_write', 'query', 'admin'] as const), { min: 1, max: 3, unique: true }),
        expiresInDays: optional(num({ min: 1, max: 3650, integer: true })),
      }),
    ],
  },
  revokeToken: { args: [workspaceId, tokenId] },
  forwardingStatus: { args: [workspaceId] },

  query: { args: [workspaceId, object({ query: promql, time: optional(unixSeconds) })] },
  queryRange: { args: [workspaceId, object({ query: promql, ...range })] },
  checkQuery: { args: [str({ max: 16_384 })] },
  metricNames: { args: [workspaceId] },
  labelNames: { args: [workspaceId, optional(seriesSelector)] },
  labelValues: { args: [workspaceId, str({ min: 1, max: 1024 }), optional(seriesSelector)] },
  series: { args: [workspaceId, seriesSelector, num({ min: 1, max: 10_000, integer: true })] },
  metricMetadata: { args: [workspaceId, optional(str({ min: 1, max: 1024 }))] },
  workspaceRules: { args: [workspaceId] },
  ruleNamespace: { args: [workspaceId, namespaceName] },
  // The rule file's own size limit (1 MiB) is checked by its parser, with a message saying so.
  putRuleNamespace: { args: [workspaceId, namespaceName, str({ max: 2 << 20 })] },
  deleteRuleNamespace: { args: [workspaceId, namespaceName] },

  checklist: { args: [] },
  startSelfTest: { args: [] },
  selfTestProgress: { args: [] },
  piiFindings: { args: [] },
  listActivity: {
    args: [
      object({
        workspaceId: optional(workspaceId),
        action: optional(str({ max: 64, pattern: /^[a-z_.]*$/, patternHint: 'an action name like workspace.create' })),
        outcome: optional(oneOf(['ok', 'denied', 'error'] as const)),
        before: optional(num({ min: 0, integer: true })),
        limit: optional(num({ min: 1, max: 500, integer: true })),
      }),
    ],
  },
  verifyActivity: { args: [] },

  getSettings: { args: [] },
  rotateMasterKey: { args: [] },
};

export const API_METHODS = Object.keys(API_SPEC) as ApiMethod[];

export function isApiMethod(name: string): name is ApiMethod {
  return Object.prototype.hasOwnProperty.call(API_SPEC, name);
}

export type { ChecklistItem };
