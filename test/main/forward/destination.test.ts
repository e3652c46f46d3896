import { describe, expect, it } from 'vitest';
import { DEFAULT_QUEUE, describeDestination, parseDestination } from '../../../main/forward/destination';
import { makeTls } from './tls-fixture';

const URL_OK = 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write';

function err(input: unknown): string {
  try {
    parseDestination(input);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

describe('destination definition', () => {
  it('reads a full YAML definition with Prometheus field names', async () => {
    const tls = await makeTls();
    try {
      const yaml = `
name: amp
url: ${URL_OK}
remote_timeout: 10s
headers:
  X-Scope-OrgID: team-a
sigv4:
  region: eu-west-1
  profile: metrics
tls_config:
  ca: |
${tls.caPem.trim().split('\n').map((l) => `    ${l}`).join('\n')}
write_relabel_configs:
  - source_labels: [__name__]
    regex: go_.*
    action: drop
queue_config:
  max_shards: 10
  max_samples_per_send: 2000
  batch_send_deadline: 1s
  min_backoff: 100ms
  max_backoff: 10s
  retry_on_http_429: false
protobuf_message: io.prometheus.write.v2.Request
`;
      const d = parseDestination(yaml);
      expect(d.url.href).toBe(URL_OK);
      expect(d.remoteTimeoutMs).toBe(10_000);
      expect(d.headers).toEqual({ 'X-Scope-OrgID': 'team-a' });
      expect(d.auth).toEqual({ kind: 'sigv4', region: 'eu-west-1', profile: 'metrics', accessKey: undefined, secretKey: undefined });
      expect(d.ca).toContain('BEGIN CERTIFICATE');
      expect(d.relabel).toHaveLength(1);
      expect(d.queue).toEqual({ ...DEFAULT_QUEUE, maxShards: 10, maxSamplesPerSend: 2000, batchSendDeadlineMs: 1000, minBackoffMs: 100, maxBackoffMs: 10_000, retryOnHttp429: false });
      expect(d.protobufMessage).toBe('io.prometheus.write.v2.Request');
      expect(describeDestination(d)).toMatchObject({ tenant: 'team-a', customCa: true, auth: { kind: 'sigv4', credentials: 'profile' } });
    } finally {
      tls.cleanup();
    }
  });

  it('reads JSON with defaults', () => {
    const d = parseDestination(JSON.stringify({ url: URL_OK, basic_auth: { username: 'u', password: 'p4ssw0rd' } }));
    expect(d.queue).toEqual(DEFAULT_QUEUE);
    expect(d.remoteTimeoutMs).toBe(30_000);
    expect(d.protobufMessage).toBe('prometheus.WriteRequest');
    expect(JSON.stringify(describeDestination(d))).not.toContain('p4ssw0rd');
  });

  it('refuses URLs that are not https, carry userinfo or secrets in the query', () => {
    expect(err({ url: 'http://x/api/v1/write' })).toBe('url: must use https (TLS), not http');
    expect(err({ url: 'https://user:pw@x/api/v1/write' })).toMatch(/^url: must not contain a user name or password/);
    expect(err({ url: 'https://x/api/v1/write?access_token=abc' })).toMatch(/^url: query parameter "access_token" looks like a credential/);
    expect(err({ url: 'https://x/api/v1/write?X-Amz-Signature=abc' })).toMatch(/^url: query parameter/);
    expect(parseDestination({ url: 'https://x/api/v1/import/prometheus?extra_label=site=a' }).url.searchParams.get('extra_label')).toBe('site=a');
    expect(err({})).toBe('url: is required');
    expect(err({ url: 'not a url' })).toBe('url: is not a valid URL');
  });

  it('refuses Authorization and other reserved headers', () => {
    expect(err({ url: URL_OK, headers: { Authorization: 'Bearer x' } })).toMatch(/^headers\.Authorization: credentials go in authorization, basic_auth or sigv4/);
    expect(err({ url: URL_OK, headers: { 'content-type': 'x' } })).toBe('headers.content-type: is set by Ampule itself');
    expect(err({ url: URL_OK, headers: { 'bad header': 'x' } })).toBe('headers.bad header: is not a valid header name');
    expect(err({ url: URL_OK, headers: { 'X-A': 'a\r\nB: c' } })).toBe('headers.X-A: must not contain control characters');
  });

  it('checks authentication fields', () => {
    expect(err({ url: URL_OK, basic_auth: { username: 'u', password: 'p' }, authorization: { credentials: 't' } })).toMatch(/^authorization: only one of basic_auth, authorization and sigv4/);
    expect(err({ url: URL_OK, basic_auth: { username: 'u', password_file: '/x' } })).toMatch(/^basic_auth\.password_file: files of secrets are not read/);
    expect(err({ url: URL_OK, authorization: { type: 'Basic', credentials: 'x' } })).toMatch(/^authorization\.type: only Bearer/);
    expect(parseDestination({ url: URL_OK, authorization: { credentials: 'tok' } }).auth).toEqual({ kind: 'bearer', token: 'tok' });
    expect(err({ url: URL_OK, sigv4: { region: 'eu-west-1', role_arn: 'arn:aws:iam::1:role/x' } })).toMatch(/^sigv4\.role_arn: assuming a role is not supported/);
    expect(err({ url: URL_OK, sigv4: { region: 'Europe' } })).toBe('sigv4.region: "Europe" is not an AWS region name');
    expect(err({ url: URL_OK, sigv4: { access_key: 'AKID' } })).toBe('sigv4.secret_key: access_key and secret_key go together');
    expect(err({ url: URL_OK, oauth2: {} })).toMatch(/^oauth2: OAuth 2 is not supported/);
    expect(err({ url: URL_OK, colour: 'red' })).toMatch(/^colour: unknown field/);
  });

  it('checks TLS, queue, relabel and message fields', () => {
    expect(err({ url: URL_OK, tls_config: { insecure_skip_verify: true } })).toMatch(/^tls_config\.insecure_skip_verify: certificates are always verified/);
    expect(err({ url: URL_OK, tls_config: { ca: 'nope' } })).toBe('tls_config.ca: holds no PEM certificate');
    expect(err({ url: URL_OK, tls_config: { ca_file: '/etc/ca.pem' } })).toMatch(/^tls_config\.ca_file: give the CA certificate itself/);
    expect(err({ url: URL_OK, queue_config: { max_shards: 0 } })).toBe('queue_config.max_shards: must be a whole number from 1 to 1000');
    expect(err({ url: URL_OK, queue_config: { min_shards: 5, max_shards: 2 } })).toBe('queue_config.min_shards: 5 is more than max_shards (2)');
    expect(err({ url: URL_OK, queue_config: { batch_send_deadline: '5 seconds' } })).toBe('queue_config.batch_send_deadline: must be a duration such as 30s, 1m or 500ms');
    expect(err({ url: URL_OK, queue_config: { retry_on_http_429: 'yes' } })).toBe('queue_config.retry_on_http_429: must be true or false');
    expect(err({ url: URL_OK, queue_config: { max_samples: 1 } })).toMatch(/^queue_config\.max_samples: unknown field/);
    expect(err({ url: URL_OK, write_relabel_configs: [{ action: 'keep', regex: '(' }] })).toMatch(/^write_relabel_configs\[0\]\.regex: invalid RE2/);
    expect(err({ url: URL_OK, protobuf_message: 'v2' })).toMatch(/^protobuf_message: must be "prometheus.WriteRequest"/);
    expect(err('url: [unclosed')).toMatch(/^\(document\): not valid YAML or JSON/);
    expect(err({ url: URL_OK, remote_timeout: '0' })).toBe('remote_timeout: must be at least 1 ms');
  });
});
