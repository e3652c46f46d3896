import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAwsIni, resolveAws } from '../../../main/forward/aws-credentials';

const home = mkdtempSync(join(tmpdir(), 'ampule-aws-'));
mkdirSync(join(home, '.aws'));
writeFileSync(
  join(home, '.aws', 'credentials'),
  `# shared credentials
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = secretdefault

[metrics]
aws_access_key_id=AKIDMETRICS
aws_secret_access_key=secret/metrics+1 ; comment
aws_session_token = tok
`,
);
writeFileSync(
  join(home, '.aws', 'config'),
  `[default]
region = us-west-2

[profile metrics]
region = eu-central-1
aws_access_key_id = IGNORED_CREDENTIALS_FILE_WINS

[profile assumed]
role_arn = arn:aws:iam::123:role/x
source_profile = default
`,
);
afterAll(() => rmSync(home, { recursive: true, force: true }));
const env = { HOME: home };

describe('AWS credential sources', () => {
  it('parses the shared-file INI dialect', () => {
    const s = parseAwsIni('[profile a]\nx = 1 # c\n;comment\n[b]\ny=2');
    expect(s.get('a')!.get('x')).toBe('1');
    expect(s.get('b')!.get('y')).toBe('2');
  });

  it('explicit keys win, with the given region', () => {
    const r = resolveAws({ accessKey: 'AKIDX', secretKey: 'sx', region: 'ap-south-1' }, { ...env, AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'senv' });
    expect(r).toEqual({ credentials: { accessKeyId: 'AKIDX', secretAccessKey: 'sx' }, region: 'ap-south-1', source: 'entered' });
  });

  it('a named profile: credentials file over config file, region from the profile', () => {
    const r = resolveAws({ profile: 'metrics' }, env);
    expect(r.credentials).toEqual({ accessKeyId: 'AKIDMETRICS', secretAccessKey: 'secret/metrics+1', sessionToken: 'tok' });
    expect(r.region).toBe('eu-central-1');
    expect(r.source).toBe('profile metrics');
  });

  it('the environment before the default profile, session token included; AWS_REGION wins', () => {
    const r = resolveAws({}, { ...env, AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'senv', AWS_SESSION_TOKEN: 'stok', AWS_REGION: 'sa-east-1' });
    expect(r).toEqual({ credentials: { accessKeyId: 'AKIDENV', secretAccessKey: 'senv', sessionToken: 'stok' }, region: 'sa-east-1', source: 'environment' });
  });

  it('AWS_PROFILE, then the default profile', () => {
    expect(resolveAws({}, { ...env, AWS_PROFILE: 'metrics' }).credentials.accessKeyId).toBe('AKIDMETRICS');
    const d = resolveAws({}, env);
    expect(d.credentials.accessKeyId).toBe('AKIDDEFAULT');
    expect(d.region).toBe('us-west-2');
  });

  it('AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE move the files', () => {
    const f = join(home, 'other-creds');
    writeFileSync(f, '[default]\naws_access_key_id=AKIDOTHER\naws_secret_access_key=o\n');
    expect(resolveAws({ region: 'us-east-1' }, { HOME: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: f }).credentials.accessKeyId).toBe('AKIDOTHER');
  });

  it('clear errors without secrets', () => {
    expect(() => resolveAws({ profile: 'nope' }, env)).toThrow('AWS profile "nope" is not in the shared config or credentials file');
    expect(() => resolveAws({ profile: 'assumed' }, env)).toThrow(/uses role_arn, which Ampule does not support/);
    expect(() => resolveAws({}, { HOME: '/nonexistent' })).toThrow(/^no AWS credentials/);
    expect(() => resolveAws({ accessKey: 'AKIDX', secretKey: 'sx' }, { HOME: '/nonexistent' })).toThrow(/no region/);
    expect(() => resolveAws({ accessKey: 'AKIDX' }, env)).toThrow(/together/);
  });
});
