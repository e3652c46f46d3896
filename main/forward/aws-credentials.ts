// AWS credentials and region from the standard sources, in the AWS SDK's order: given
// explicitly; else a named profile of the shared files; else the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); else the profile named by
// AWS_PROFILE or "default". The shared files are ~/.aws/credentials and ~/.aws/config (or
// AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE); the credentials file wins for a key in both.
// Their INI dialect is small enough to read here. Nothing read is ever logged.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface AwsCredentialSource {
  accessKey?: string;
  secretKey?: string;
  profile?: string;
  region?: string;
}

export interface ResolvedAws {
  readonly credentials: AwsCredentials;
  readonly region: string;
  /** Where the credentials came from, for the status page (never the values). */
  readonly source: string;
}

export class AwsCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AwsCredentialsError';
  }
}

/** Sections of an AWS shared file: `[name]` or `[profile name]` → key → value. */
export function parseAwsIni(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | null = null;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line);
    if (header) {
      const name = header[1]!;
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || current === null) continue; // continuation lines (nested settings) are not used here
    const key = line.slice(0, eq).trim().toLowerCase();
    let value = line.slice(eq + 1).trim();
    const comment = value.search(/\s[#;]/);
    if (comment >= 0) value = value.slice(0, comment).trim();
    current.set(key, value);
  }
  return sections;
}

function readIni(path: string): Map<string, Map<string, string>> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return new Map();
  }
  return parseAwsIni(text);
}

type Env = Record<string, string | undefined>;

function profileOf(name: string, env: Env): Map<string, string> | null {
  const home = env.HOME ?? homedir();
  const credentialsFile = env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials');
  const configFile = env.AWS_CONFIG_FILE || join(home, '.aws', 'config');
  const fromConfig = readIni(configFile).get(name);
  const fromCredentials = readIni(credentialsFile).get(name);
  if (!fromConfig && !fromCredentials) return null;
  return new Map([...(fromConfig ?? []), ...(fromCredentials ?? [])]);
}

function fromProfile(p: Map<string, string>, name: string): AwsCredentials {
  const id = p.get('aws_access_key_id');
  const secret = p.get('aws_secret_access_key');
  if (!id || !secret) {
    const other = ['role_arn', 'sso_session', 'sso_start_url', 'credential_process', 'web_identity_token_file'].find((k) => p.has(k));
    throw new AwsCredentialsError(
      other
        ? `AWS profile "${name}" uses ${other}, which Ampule does not support; give the profile aws_access_key_id and aws_secret_access_key`
        : `AWS profile "${name}" has no aws_access_key_id and aws_secret_access_key`,
    );
  }
  const token = p.get('aws_session_token');
  return token ? { accessKeyId: id, secretAccessKey: secret, sessionToken: token } : { accessKeyId: id, secretAccessKey: secret };
}

export function resolveAws(src: AwsCredentialSource, env: Env = process.env): ResolvedAws {
  let credentials: AwsCredentials;
  let source: string;
  let profileRegion: string | undefined;
  if (src.accessKey !== undefined || src.secretKey !== undefined) {
    if (!src.accessKey || !src.secretKey) throw new AwsCredentialsError('sigv4: access_key and secret_key must be given together');
    credentials = { accessKeyId: src.accessKey, secretAccessKey: src.secretKey };
    source = 'entered';
  } else if (src.profile) {
    const p = profileOf(src.profile, env);
    if (!p) throw new AwsCredentialsError(`AWS profile "${src.profile}" is not in the shared config or credentials file`);
    credentials = fromProfile(p, src.profile);
    profileRegion = p.get('region');
    source = `profile ${src.profile}`;
  } else if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    credentials = env.AWS_SESSION_TOKEN
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }
      : { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY };
    source = 'environment';
  } else {
    const name = env.AWS_PROFILE || 'default';
    const p = profileOf(name, env);
    if (!p) {
      throw new AwsCredentialsError(
        'no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, name a profile of ~/.aws/credentials, or enter an access key',
      );
    }
    credentials = fromProfile(p, name);
    profileRegion = p.get('region');
    source = `profile ${name}`;
  }
  if (!src.profile && profileRegion === undefined) profileRegion = profileOf(env.AWS_PROFILE || 'default', env)?.get('region');
  const region = src.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || profileRegion;
  if (!region) throw new AwsCredentialsError('sigv4: no region: set sigv4.region, AWS_REGION or the profile\'s region');
  return { credentials, region, source };
}
