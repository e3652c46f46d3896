// A workspace's alert manager definition (AMP's noun): where its firing alerts go. External
// Alertmanagers are reached over their API v2 (`POST <url>/api/v2/alerts`); webhook receivers get
// the Alertmanager webhook message. Everything leaves over HTTPS only; credentials travel in an
// Authorization header, never in a URL, and are never shown back (`redact`). The file is YAML or
// JSON with Prometheus's HTTP-client field names (basic_auth, authorization, tls_config.ca).
import { X509Certificate } from 'node:crypto';
import { parseDocument } from 'yaml';
import { parseDuration } from '../query/durations';
import { ControlError } from '../control/types';

export const MAX_DEFINITION_BYTES = 1 << 20;
export const MAX_TARGETS = 10;
export const DEFAULT_RESEND_DELAY_MS = 60_000;
export const DEFAULT_QUEUE_CAPACITY = 10_000;
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Shown instead of a credential, as Prometheus shows `<secret>`. */
export const SECRET_PLACEHOLDER = '<secret>';

export type Credentials = { readonly kind: 'basic'; readonly username: string; readonly password: string } | { readonly kind: 'bearer'; readonly token: string };

export interface Target {
  /** Alertmanager: its base URL (with any path prefix). Webhook: the URL posted to. */
  readonly url: string;
  /** PEM certificates trusted for this target in addition to the system roots. */
  readonly ca: string | null;
  readonly credentials: Credentials | null;
  readonly timeoutMs: number;
}

export interface WebhookTarget extends Target {
  /** The `receiver` field of the webhook message. */
  readonly name: string;
}

export interface AlertManagerDefinition {
  readonly alertmanagers: readonly Target[];
  readonly webhooks: readonly WebhookTarget[];
  readonly resendDelayMs: number;
  readonly queueCapacity: number;
}

export class DefinitionError extends ControlError {
  constructor(path: string, message: string) {
    super('invalid', `alert manager definition: ${path ? `${path}: ` : ''}${message}`, path || 'data');
  }
}

type Obj = Record<string, unknown>;

function obj(v: unknown, path: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new DefinitionError(path, 'must be a mapping');
  return v as Obj;
}

function only(o: Obj, path: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new DefinitionError(path, `unknown field ${JSON.stringify(k)} (allowed: ${allowed.join(', ')})`);
}

function str(v: unknown, path: string, max = 4096): string {
  if (typeof v !== 'string' || v === '') throw new DefinitionError(path, 'must be a non-empty string');
  if (v.length > max) throw new DefinitionError(path, `must be at most ${max} characters`);
  return v;
}

/** Header values: no control characters (a CR/LF would inject a header). */
function headerSafe(v: unknown, path: string): string {
  const s = str(v, path);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new DefinitionError(path, 'must not contain control characters');
  return s;
}

function duration(v: unknown, path: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const ms = parseDuration(str(v, path, 32));
  if (ms === null) throw new DefinitionError(path, `not a Prometheus duration: ${JSON.stringify(v)}`);
  if (ms < min || ms > max) throw new DefinitionError(path, `must be between ${min / 1000}s and ${max / 1000}s`);
  return ms;
}

/** https only, no userinfo, no query or fragment (either could carry a secret into logs). */
export function checkTargetUrl(v: unknown, path: string): string {
  const text = str(v, path, 2048);
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new DefinitionError(path, 'is not a URL');
  }
  if (u.protocol !== 'https:') throw new DefinitionError(path, `must use https (got ${u.protocol.replace(/:$/, '')}): alerts leave the machine over TLS only`);
  if (u.username || u.password) throw new DefinitionError(path, 'must not contain credentials (user:password@); use basic_auth or authorization');
  if (u.search || text.includes('?')) throw new DefinitionError(path, 'must not have a query string (it could carry a secret into logs); use basic_auth or authorization');
  if (u.hash || text.includes('#')) throw new DefinitionError(path, 'must not have a fragment');
  return u.toString();
}

function ca(v: unknown, path: string): string | null {
  if (v === undefined) return null;
  const o = obj(v, path);
  only(o, path, ['ca']);
  if (o.ca === undefined) return null;
  const pem = str(o.ca, `${path}.ca`, 256 * 1024);
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) throw new DefinitionError(`${path}.ca`, 'must hold one or more PEM certificates (-----BEGIN CERTIFICATE-----)');
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (e) {
      throw new DefinitionError(`${path}.ca`, `is not a valid certificate (${(e as Error).message})`);
    }
  }
  return blocks.join('\n') + '\n';
}

function credentials(o: Obj, path: string): Credentials | null {
  if (o.basic_auth !== undefined && o.authorization !== undefined) throw new DefinitionError(path, 'set basic_auth or authorization, not both');
  if (o.basic_auth !== undefined) {
    const b = obj(o.basic_auth, `${path}.basic_auth`);
    only(b, `${path}.basic_auth`, ['username', 'password']);
    const username = headerSafe(b.username, `${path}.basic_auth.username`);
    if (username.includes(':')) throw new DefinitionError(`${path}.basic_auth.username`, 'must not contain ":"');
    return { kind: 'basic', username, password: headerSafe(b.password, `${path}.basic_auth.password`) };
  }
  if (o.authorization !== undefined) {
    const a = obj(o.authorization, `${path}.authorization`);
    only(a, `${path}.authorization`, ['type', 'credentials']);
    if (a.type !== undefined && a.type !== 'Bearer') throw new DefinitionError(`${path}.authorization.type`, 'only Bearer is supported');
    return { kind: 'bearer', token: headerSafe(a.credentials, `${path}.authorization.credentials`) };
  }
  return null;
}

function target(v: unknown, path: string): Target {
  const o = obj(v, path);
  return {
    url: checkTargetUrl(o.url, `${path}.url`),
    ca: ca(o.tls_config, `${path}.tls_config`),
    credentials: credentials(o, path),
    timeoutMs: duration(o.timeout, `${path}.timeout`, DEFAULT_TIMEOUT_MS, 100, 120_000),
  };
}

function list(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new DefinitionError(path, 'must be a list');
  if (v.length > MAX_TARGETS) throw new DefinitionError(path, `at most ${MAX_TARGETS} entries`);
  return v;
}

const TARGET_FIELDS = ['url', 'tls_config', 'basic_auth', 'authorization', 'timeout'];

/** Parses and validates a definition (YAML or JSON); throws DefinitionError naming the field. */
export function parseDefinition(text: string): AlertManagerDefinition {
  if (typeof text !== 'string') throw new DefinitionError('', 'must be text');
  if (Buffer.byteLength(text) > MAX_DEFINITION_BYTES) throw new DefinitionError('', `larger than ${MAX_DEFINITION_BYTES} bytes`);
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new DefinitionError('', `invalid YAML/JSON: ${doc.errors[0]!.message.split('\n')[0]}`);
  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: 0 });
  } catch (e) {
    throw new DefinitionError('', `invalid YAML/JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  const o = obj(root ?? {}, '');
  only(o, '', ['alertmanagers', 'webhooks', 'resend_delay', 'queue_capacity']);
  const alertmanagers = list(o.alertmanagers, 'alertmanagers').map((v, i) => {
    only(obj(v, `alertmanagers[${i}]`), `alertmanagers[${i}]`, TARGET_FIELDS);
    return target(v, `alertmanagers[${i}]`);
  });
  const names = new Set<string>();
  const webhooks = list(o.webhooks, 'webhooks').map((v, i) => {
    const p = `webhooks[${i}]`;
    const w = obj(v, p);
    only(w, p, ['name', ...TARGET_FIELDS]);
    const name = str(w.name, `${p}.name`, 128);
    if (names.has(name)) throw new DefinitionError(`${p}.name`, `duplicate webhook name ${JSON.stringify(name)}`);
    names.add(name);
    return { name, ...target(w, p) };
  });
  if (alertmanagers.length + webhooks.length === 0) throw new DefinitionError('', 'name at least one of alertmanagers or webhooks');
  const urls = new Set<string>();
  for (const [i, t] of alertmanagers.entries()) {
    if (urls.has(t.url)) throw new DefinitionError(`alertmanagers[${i}].url`, `duplicate URL ${t.url}`);
    urls.add(t.url);
  }
  let queueCapacity = DEFAULT_QUEUE_CAPACITY;
  if (o.queue_capacity !== undefined) {
    if (!Number.isInteger(o.queue_capacity) || (o.queue_capacity as number) < 1 || (o.queue_capacity as number) > 1_000_000) throw new DefinitionError('queue_capacity', 'must be an integer from 1 to 1000000');
    queueCapacity = o.queue_capacity as number;
  }
  return { alertmanagers, webhooks, resendDelayMs: duration(o.resend_delay, 'resend_delay', DEFAULT_RESEND_DELAY_MS, 1000, 3_600_000), queueCapacity };
}

function redactTarget(t: Target): Record<string, unknown> {
  const out: Record<string, unknown> = { url: t.url };
  if (t.ca) out.tls_config = { ca: t.ca };
  if (t.credentials?.kind === 'basic') out.basic_auth = { username: t.credentials.username, password: SECRET_PLACEHOLDER };
  if (t.credentials?.kind === 'bearer') out.authorization = { type: 'Bearer', credentials: SECRET_PLACEHOLDER };
  if (t.timeoutMs !== DEFAULT_TIMEOUT_MS) out.timeout = `${t.timeoutMs}ms`;
  return out;
}

/** The definition as it may be shown: credentials replaced by `<secret>` (usernames stay). */
export function redact(d: AlertManagerDefinition): Record<string, unknown> {
  return {
    alertmanagers: d.alertmanagers.map(redactTarget),
    webhooks: d.webhooks.map((w) => ({ name: w.name, ...redactTarget(w) })),
    resend_delay: `${d.resendDelayMs / 1000}s`,
    queue_capacity: d.queueCapacity,
  };
}

/** Every credential in a definition (for tests and log scrubbing). */
export function secretsOf(d: AlertManagerDefinition): string[] {
  return [...d.alertmanagers, ...d.webhooks].flatMap((t) => (t.credentials?.kind === 'basic' ? [t.credentials.password] : t.credentials?.kind === 'bearer' ? [t.credentials.token] : []));
}
