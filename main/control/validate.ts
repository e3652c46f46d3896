// Input rules for the control plane (AMP's and AWS's where they have one). Each failure is a
// ControlError('invalid') naming the field and the rule.
import { ControlError, SCOPES, type Scope, type WorkspaceLimits } from './types';

const invalid = (field: string, message: string) => new ControlError('invalid', `${field}: ${message}`, field);
const length = (s: string) => [...s].length; // Unicode code points, as AWS counts
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

export const ALIAS_MAX = 100;
export const TAGS_MAX = 50;
export const TAG_KEY_MAX = 128;
export const TAG_VALUE_MAX = 256;
export const TOKEN_NAME_MAX = 128;
// AWS tag rules: letters, numbers, spaces, and _ . : / = + - @ (any script).
const TAG_CHARS = /^[\p{L}\p{N}\p{Zs}_.:/=+\-@]*$/u;

export function checkAlias(alias: unknown): string {
  if (typeof alias !== 'string') throw invalid('alias', 'must be a string');
  const n = length(alias);
  if (n < 1 || n > ALIAS_MAX) throw invalid('alias', `must be 1 to ${ALIAS_MAX} characters long (got ${n})`);
  if (CONTROL_CHARS.test(alias)) throw invalid('alias', 'must not contain control characters (newlines, tabs…)');
  return alias;
}

export function checkTagKey(key: unknown): string {
  if (typeof key !== 'string') throw invalid('tags', 'a tag key must be a string');
  const n = length(key);
  if (n < 1 || n > TAG_KEY_MAX) throw invalid('tags', `tag key must be 1 to ${TAG_KEY_MAX} characters long (got ${n})`);
  if (!TAG_CHARS.test(key)) throw invalid('tags', `tag key "${key}" may contain only letters, numbers, spaces and _ . : / = + - @`);
  if (key.toLowerCase().startsWith('aws:')) throw invalid('tags', `tag key "${key}" must not start with "aws:" (reserved)`);
  return key;
}

export function checkTags(tags: unknown): Record<string, string> {
  if (tags === null || typeof tags !== 'object' || Array.isArray(tags)) throw invalid('tags', 'must be an object of key/value strings');
  const entries = Object.entries(tags as Record<string, unknown>);
  if (entries.length > TAGS_MAX) throw invalid('tags', `at most ${TAGS_MAX} tags per workspace (got ${entries.length})`);
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    checkTagKey(k);
    if (typeof v !== 'string') throw invalid('tags', `value of tag "${k}" must be a string`);
    const n = length(v);
    if (n > TAG_VALUE_MAX) throw invalid('tags', `value of tag "${k}" must be 0 to ${TAG_VALUE_MAX} characters long (got ${n})`);
    if (!TAG_CHARS.test(v)) throw invalid('tags', `value of tag "${k}" may contain only letters, numbers, spaces and _ . : / = + - @`);
    out[k] = v;
  }
  return out;
}

export function checkScopes(scopes: unknown): Scope[] {
  if (!Array.isArray(scopes) || scopes.length === 0) throw invalid('scopes', `at least one of ${SCOPES.join(', ')} is required`);
  const out = new Set<Scope>();
  for (const s of scopes) {
    if (!SCOPES.includes(s as Scope)) throw invalid('scopes', `"${String(s)}" is not a scope; use ${SCOPES.join(', ')}`);
    out.add(s as Scope);
  }
  return SCOPES.filter((s) => out.has(s));
}

export function checkTokenName(name: unknown): string {
  if (name === undefined) return '';
  if (typeof name !== 'string') throw invalid('name', 'must be a string');
  const n = length(name);
  if (n > TOKEN_NAME_MAX) throw invalid('name', `must be at most ${TOKEN_NAME_MAX} characters long (got ${n})`);
  if (CONTROL_CHARS.test(name)) throw invalid('name', 'must not contain control characters');
  return name;
}

/** An expiry in the future as ISO 8601, or null for none. */
export function checkExpiry(expiresAt: unknown, now: number): string | null {
  if (expiresAt === undefined || expiresAt === null) return null;
  const t = expiresAt instanceof Date ? expiresAt.getTime() : typeof expiresAt === 'string' ? Date.parse(expiresAt) : NaN;
  if (!Number.isFinite(t)) throw invalid('expiresAt', 'must be an ISO 8601 date and time');
  if (t <= now) throw invalid('expiresAt', 'must be in the future');
  return new Date(t).toISOString();
}

/** Lowest value of each limit; every limit is a whole number. */
export const LIMIT_MINIMUMS: Readonly<Record<keyof WorkspaceLimits, number>> = {
  activeSeries: 1,
  ingestionRate: 1,
  ingestionBurst: 1,
  labelsPerSeries: 1,
  labelNameLength: 1,
  labelValueLength: 1,
  maxBodyBytes: 1024,
  maxDecompressedBytes: 1024,
  outOfOrderWindowMs: 0,
  maxExemplars: 0,
};

export function checkLimits(limits: unknown): Partial<WorkspaceLimits> {
  if (limits === null || typeof limits !== 'object' || Array.isArray(limits)) throw invalid('limits', 'must be an object');
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(limits as Record<string, unknown>)) {
    if (v === undefined) continue;
    const min = LIMIT_MINIMUMS[k as keyof WorkspaceLimits];
    if (min === undefined) throw invalid(k, `is not a limit; known limits: ${Object.keys(LIMIT_MINIMUMS).join(', ')}`);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw invalid(k, `must be a whole number of at least ${min}`);
    out[k] = v;
  }
  return out as Partial<WorkspaceLimits>;
}
