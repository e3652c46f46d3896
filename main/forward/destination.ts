// A forwarding destination as the user writes it (YAML or JSON), with Prometheus's remote_write
// field names where they exist, validated into a plain definition. Every error names its field.
// Credentials are part of the definition (the caller seals it before it is stored); nothing here
// logs, and `describeDestination` shows a definition without them.
import { X509Certificate } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../query/durations';
import { PROTOBUF_MESSAGES, type ProtobufMessage } from './encode';
import { compileRelabelConfigs, RelabelConfigError, type RelabelRule } from './relabel';

export interface QueueConfig {
  /** Samples buffered per shard (Prometheus's capacity); the batch reader's read-ahead. */
  readonly capacity: number;
  readonly maxShards: number;
  readonly minShards: number;
  readonly maxSamplesPerSend: number;
  readonly batchSendDeadlineMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly retryOnHttp429: boolean;
}

export type DestinationAuth =
  | { readonly kind: 'none' }
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'bearer'; readonly token: string }
  | {
      readonly kind: 'sigv4';
      readonly region?: string;
      readonly accessKey?: string;
      readonly secretKey?: string;
      readonly profile?: string;
    };

export interface Destination {
  readonly name?: string;
  readonly url: URL;
  readonly remoteTimeoutMs: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly auth: DestinationAuth;
  /** PEM of the CA to trust instead of the system's. */
  readonly ca?: string;
  readonly writeRelabelConfigs: readonly unknown[];
  readonly relabel: readonly RelabelRule[];
  readonly queue: QueueConfig;
  readonly protobufMessage: ProtobufMessage;
}

export class DestinationError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'DestinationError';
  }
}

/** Prometheus 2.42's queue_config defaults, except retry_on_http_429 (on: the queue is durable). */
export const DEFAULT_QUEUE: QueueConfig = Object.freeze({
  capacity: 2500,
  maxShards: 200,
  minShards: 1,
  maxSamplesPerSend: 500,
  batchSendDeadlineMs: 5000,
  minBackoffMs: 30,
  maxBackoffMs: 5000,
  retryOnHttp429: true,
});
export const DEFAULT_REMOTE_TIMEOUT_MS = 30_000;

/** Headers the sender sets itself or that carry credentials (Prometheus refuses most of these too). */
const RESERVED_HEADERS = [
  'authorization',
  'proxy-authorization',
  'host',
  'content-encoding',
  'content-type',
  'content-length',
  'user-agent',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'x-prometheus-remote-write-version',
  'x-amz-date',
  'x-amz-security-token',
  'x-amz-content-sha256',
];
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Query parameters that look like credentials: secrets never travel in URLs. */
const SECRET_PARAM = /token|secret|passw|pwd|auth|key|sig|cred|session/i;

const TOP_FIELDS = ['name', 'url', 'remote_timeout', 'headers', 'basic_auth', 'authorization', 'sigv4', 'tls_config', 'write_relabel_configs', 'queue_config', 'protobuf_message'];
const NOT_SUPPORTED: Record<string, string> = {
  oauth2: 'OAuth 2 is not supported; use authorization (a bearer token), basic_auth or sigv4',
  azuread: 'Azure AD is not supported',
  proxy_url: 'proxies are not supported',
  bearer_token: 'use authorization: { credentials: … } instead',
  bearer_token_file: 'files of secrets are not read; use authorization: { credentials: … }',
  metadata_config: 'metadata is not forwarded',
  send_exemplars: 'exemplars are not stored, so not forwarded',
  send_native_histograms: 'native histograms are not forwarded yet',
  follow_redirects: 'redirects are never followed',
  enable_http2: 'HTTP/1.1 with keep-alive is used',
};

/** Parses YAML or JSON text (JSON is YAML) or an already-parsed object. */
export function parseDestination(input: unknown): Destination {
  let raw = input;
  if (typeof input === 'string') {
    try {
      raw = parseYaml(input);
    } catch (e) {
      throw new DestinationError('(document)', `not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const o = mapping(raw, '(document)');
  for (const k of Object.keys(o)) {
    if (NOT_SUPPORTED[k]) throw new DestinationError(k, NOT_SUPPORTED[k]!);
    if (!TOP_FIELDS.includes(k)) throw new DestinationError(k, `unknown field (known: ${TOP_FIELDS.join(', ')})`);
  }
  const name = o.name === undefined ? undefined : text(o.name, 'name', 100);
  const url = parseUrl(o.url);
  const remoteTimeoutMs = o.remote_timeout === undefined ? DEFAULT_REMOTE_TIMEOUT_MS : duration(o.remote_timeout, 'remote_timeout', 1);
  const headers = parseHeaders(o.headers);
  const auth = parseAuth(o);
  const ca = parseTls(o.tls_config);
  let relabel: RelabelRule[];
  try {
    relabel = compileRelabelConfigs(o.write_relabel_configs);
  } catch (e) {
    if (e instanceof RelabelConfigError) throw new DestinationError(e.field, e.message.slice(e.field.length + 2));
    throw e;
  }
  const queue = parseQueue(o.queue_config);
  let protobufMessage: ProtobufMessage = 'prometheus.WriteRequest';
  if (o.protobuf_message !== undefined) {
    const m = text(o.protobuf_message, 'protobuf_message', 100);
    if (!(PROTOBUF_MESSAGES as readonly string[]).includes(m)) {
      throw new DestinationError('protobuf_message', `must be ${PROTOBUF_MESSAGES.map((x) => `"${x}"`).join(' (remote write 1.0) or ')} (2.0)`);
    }
    protobufMessage = m as ProtobufMessage;
  }
  return {
    ...(name === undefined ? {} : { name }),
    url,
    remoteTimeoutMs,
    headers,
    auth,
    ...(ca === undefined ? {} : { ca }),
    writeRelabelConfigs: (o.write_relabel_configs as unknown[] | undefined) ?? [],
    relabel,
    queue,
    protobufMessage,
  };
}

/** The definition without credentials, for status pages and the activity log. */
export function describeDestination(d: Destination): Record<string, unknown> {
  const auth =
    d.auth.kind === 'basic'
      ? { kind: 'basic', username: d.auth.username }
      : d.auth.kind === 'sigv4'
        ? { kind: 'sigv4', region: d.auth.region, profile: d.auth.profile, credentials: d.auth.accessKey ? 'entered' : d.auth.profile ? 'profile' : 'environment or default profile' }
        : { kind: d.auth.kind };
  return {
    name: d.name,
    url: d.url.href,
    protobufMessage: d.protobufMessage,
    auth,
    tenant: Object.entries(d.headers).find(([k]) => k.toLowerCase() === 'x-scope-orgid')?.[1],
    customCa: d.ca !== undefined,
    relabelRules: d.relabel.length,
  };
}

function mapping(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DestinationError(field, 'must be a mapping of fields');
  return v as Record<string, unknown>;
}

function text(v: unknown, field: string, max: number): string {
  if (typeof v !== 'string') throw new DestinationError(field, 'must be a string');
  if (v.length > max) throw new DestinationError(field, `longer than ${max} characters`);
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new DestinationError(field, 'must not contain control characters');
  return v;
}

function duration(v: unknown, field: string, minMs: number): number {
  const ms = typeof v === 'string' ? parseDuration(v) : null;
  if (ms === null) throw new DestinationError(field, 'must be a duration such as 30s, 1m or 500ms');
  if (ms < minMs) throw new DestinationError(field, `must be at least ${minMs} ms`);
  return ms;
}

function integer(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new DestinationError(field, `must be a whole number from ${min} to ${max}`);
  return v;
}

function parseUrl(v: unknown): URL {
  if (v === undefined) throw new DestinationError('url', 'is required');
  const s = text(v, 'url', 2048);
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new DestinationError('url', 'is not a valid URL');
  }
  if (url.protocol !== 'https:') throw new DestinationError('url', `must use https (TLS), not ${url.protocol.replace(':', '')}`);
  if (url.username || url.password) throw new DestinationError('url', 'must not contain a user name or password; use basic_auth');
  if (url.hash) throw new DestinationError('url', 'must not have a #fragment');
  for (const k of url.searchParams.keys()) {
    if (SECRET_PARAM.test(k)) throw new DestinationError('url', `query parameter "${k}" looks like a credential; secrets never go in URLs: use authorization, basic_auth or headers`);
  }
  return url;
}

function parseHeaders(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  const o = mapping(v, 'headers');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) {
    const field = `headers.${k}`;
    if (!HEADER_NAME.test(k)) throw new DestinationError(field, 'is not a valid header name');
    if (RESERVED_HEADERS.includes(k.toLowerCase())) {
      throw new DestinationError(
        field,
        k.toLowerCase() === 'authorization' ? 'credentials go in authorization, basic_auth or sigv4, where they are sealed, not in headers' : 'is set by Ampule itself',
      );
    }
    out[k] = text(val, field, 4096);
  }
  return out;
}

function parseAuth(o: Record<string, unknown>): DestinationAuth {
  const given = ['basic_auth', 'authorization', 'sigv4'].filter((k) => o[k] !== undefined && o[k] !== null);
  if (given.length > 1) throw new DestinationError(given[1]!, `only one of basic_auth, authorization and sigv4 may be set (${given.join(' and ')} are)`);
  if (o.basic_auth !== undefined && o.basic_auth !== null) {
    const b = mapping(o.basic_auth, 'basic_auth');
    for (const k of Object.keys(b)) {
      if (k === 'password_file' || k === 'username_file') throw new DestinationError(`basic_auth.${k}`, 'files of secrets are not read; enter the password (it is sealed)');
      if (k !== 'username' && k !== 'password') throw new DestinationError(`basic_auth.${k}`, 'unknown field (known: username, password)');
    }
    const username = text(b.username, 'basic_auth.username', 256);
    if (username.includes(':')) throw new DestinationError('basic_auth.username', 'must not contain ":"');
    const password = text(b.password ?? '', 'basic_auth.password', 4096);
    return { kind: 'basic', username, password };
  }
  if (o.authorization !== undefined && o.authorization !== null) {
    const a = mapping(o.authorization, 'authorization');
    for (const k of Object.keys(a)) {
      if (k === 'credentials_file') throw new DestinationError('authorization.credentials_file', 'files of secrets are not read; enter the credentials (they are sealed)');
      if (k !== 'type' && k !== 'credentials') throw new DestinationError(`authorization.${k}`, 'unknown field (known: type, credentials)');
    }
    if (a.type !== undefined && text(a.type, 'authorization.type', 32).toLowerCase() !== 'bearer') {
      throw new DestinationError('authorization.type', 'only Bearer is supported (use basic_auth for Basic)');
    }
    const token = text(a.credentials, 'authorization.credentials', 8192);
    if (token === '') throw new DestinationError('authorization.credentials', 'must not be empty');
    return { kind: 'bearer', token };
  }
  if (o.sigv4 !== undefined && o.sigv4 !== null) {
    const s = mapping(o.sigv4, 'sigv4');
    for (const k of Object.keys(s)) {
      if (k === 'role_arn') throw new DestinationError('sigv4.role_arn', 'assuming a role is not supported; use a profile or keys of the role\'s user');
      if (!['region', 'access_key', 'secret_key', 'profile'].includes(k)) throw new DestinationError(`sigv4.${k}`, 'unknown field (known: region, access_key, secret_key, profile)');
    }
    const opt = (k: string, max: number): string | undefined => (s[k] === undefined || s[k] === null ? undefined : text(s[k], `sigv4.${k}`, max));
    const region = opt('region', 64);
    if (region !== undefined && !/^[a-z]{2}(-[a-z0-9]+)+-\d+$/.test(region)) throw new DestinationError('sigv4.region', `"${region}" is not an AWS region name`);
    const accessKey = opt('access_key', 128);
    const secretKey = opt('secret_key', 256);
    const profile = opt('profile', 128);
    if ((accessKey === undefined) !== (secretKey === undefined)) throw new DestinationError(accessKey === undefined ? 'sigv4.access_key' : 'sigv4.secret_key', 'access_key and secret_key go together');
    if (accessKey !== undefined && profile !== undefined) throw new DestinationError('sigv4.profile', 'give either a profile or access_key and secret_key');
    return { kind: 'sigv4', region, accessKey, secretKey, profile };
  }
  return { kind: 'none' };
}

function parseTls(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const t = mapping(v, 'tls_config');
  for (const k of Object.keys(t)) {
    if (k === 'insecure_skip_verify') {
      if (t[k] === true) throw new DestinationError('tls_config.insecure_skip_verify', 'certificates are always verified; give the receiver\'s CA as tls_config.ca');
      continue;
    }
    if (k === 'ca_file' || k === 'cert_file' || k === 'key_file' || k === 'cert' || k === 'key') {
      throw new DestinationError(`tls_config.${k}`, k === 'ca_file' ? 'give the CA certificate itself as tls_config.ca (PEM text)' : 'client certificates are not supported yet');
    }
    if (k !== 'ca') throw new DestinationError(`tls_config.${k}`, 'unknown field (known: ca)');
  }
  if (t.ca === undefined) return undefined;
  if (typeof t.ca !== 'string') throw new DestinationError('tls_config.ca', 'must be PEM text');
  const ca = t.ca;
  const blocks = ca.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) throw new DestinationError('tls_config.ca', 'holds no PEM certificate');
  for (const b of blocks) {
    try {
      const cert = new X509Certificate(b);
      if (!cert.ca) throw new DestinationError('tls_config.ca', `"${cert.subject.replace(/\n/g, ', ')}" is not a CA certificate`);
    } catch (e) {
      if (e instanceof DestinationError) throw e;
      throw new DestinationError('tls_config.ca', 'holds a certificate that cannot be read');
    }
  }
  return ca;
}

function parseQueue(v: unknown): QueueConfig {
  if (v === undefined || v === null) return DEFAULT_QUEUE;
  const q = mapping(v, 'queue_config');
  const known = ['capacity', 'max_shards', 'min_shards', 'max_samples_per_send', 'batch_send_deadline', 'min_backoff', 'max_backoff', 'retry_on_http_429'];
  for (const k of Object.keys(q)) if (!known.includes(k)) throw new DestinationError(`queue_config.${k}`, `unknown field (known: ${known.join(', ')})`);
  const d = DEFAULT_QUEUE;
  const int = (k: string, dflt: number, min: number, max: number): number => (q[k] === undefined ? dflt : integer(q[k], `queue_config.${k}`, min, max));
  const dur = (k: string, dflt: number): number => (q[k] === undefined ? dflt : duration(q[k], `queue_config.${k}`, 1));
  const out: QueueConfig = {
    capacity: int('capacity', d.capacity, 1, 10_000_000),
    maxShards: int('max_shards', d.maxShards, 1, 1000),
    minShards: int('min_shards', d.minShards, 1, 1000),
    maxSamplesPerSend: int('max_samples_per_send', d.maxSamplesPerSend, 1, 1_000_000),
    batchSendDeadlineMs: dur('batch_send_deadline', d.batchSendDeadlineMs),
    minBackoffMs: dur('min_backoff', d.minBackoffMs),
    maxBackoffMs: dur('max_backoff', d.maxBackoffMs),
    retryOnHttp429: q.retry_on_http_429 === undefined ? d.retryOnHttp429 : bool(q.retry_on_http_429, 'queue_config.retry_on_http_429'),
  };
  if (out.minShards > out.maxShards) throw new DestinationError('queue_config.min_shards', `${out.minShards} is more than max_shards (${out.maxShards})`);
  if (out.minBackoffMs > out.maxBackoffMs) throw new DestinationError('queue_config.min_backoff', 'is longer than max_backoff');
  return out;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new DestinationError(field, 'must be true or false');
  return v;
}
