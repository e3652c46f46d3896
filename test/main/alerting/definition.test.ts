// Alert manager definitions: what is accepted (YAML and JSON, Prometheus's client field names),
// what is refused with an error naming the field (plain http, userinfo, query strings, header
// injection, bad CA, unknown fields, duplicates), and that redaction leaves no credential.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DefinitionError, parseDefinition, redact, secretsOf } from '../../../main/alerting/definition';

const dir = mkdtempSync(join(tmpdir(), 'ampule-am-def-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=test CA', '-days', '2'], { stdio: 'ignore' });
const CA = readFileSync(join(dir, 'c.pem'), 'utf8');
const indent = (s: string, n: number) => s.trimEnd().split('\n').join(`\n${' '.repeat(n)}`);

const GOOD = `
alertmanagers:
  - url: https://am.example:9093/prefix
    basic_auth: { username: ops, password: pw-SECRET-1 }
    tls_config:
      ca: |
        ${indent(CA, 8)}
  - url: https://am2.example:9093
    authorization: { credentials: tok-SECRET-2 }
    timeout: 5s
webhooks:
  - name: pager
    url: https://hooks.example/alert
    authorization: { type: Bearer, credentials: tok-SECRET-3 }
resend_delay: 30s
queue_capacity: 500
`;

function refused(text: string): DefinitionError {
  try {
    parseDefinition(text);
  } catch (e) {
    expect(e).toBeInstanceOf(DefinitionError);
    return e as DefinitionError;
  }
  throw new Error('accepted');
}

describe('alert manager definition', () => {
  it('parses YAML with credentials, CA, timeout, resend delay and queue capacity', () => {
    const d = parseDefinition(GOOD);
    expect(d.alertmanagers.map((a) => a.url)).toEqual(['https://am.example:9093/prefix', 'https://am2.example:9093/']);
    expect(d.alertmanagers[0]!.credentials).toEqual({ kind: 'basic', username: 'ops', password: 'pw-SECRET-1' });
    expect(d.alertmanagers[0]!.ca).toContain('BEGIN CERTIFICATE');
    expect(d.alertmanagers[1]).toMatchObject({ credentials: { kind: 'bearer', token: 'tok-SECRET-2' }, timeoutMs: 5000, ca: null });
    expect(d.webhooks[0]).toMatchObject({ name: 'pager', url: 'https://hooks.example/alert' });
    expect(d).toMatchObject({ resendDelayMs: 30_000, queueCapacity: 500 });
    expect(secretsOf(d)).toEqual(['pw-SECRET-1', 'tok-SECRET-2', 'tok-SECRET-3']);
  });

  it('parses JSON and applies the defaults (resend 1m, queue 10000, timeout 10s)', () => {
    const d = parseDefinition(JSON.stringify({ alertmanagers: [{ url: 'https://127.0.0.1:9093' }] }));
    expect(d).toMatchObject({ resendDelayMs: 60_000, queueCapacity: 10_000, webhooks: [] });
    expect(d.alertmanagers[0]).toMatchObject({ credentials: null, timeoutMs: 10_000 });
  });

  it('redact shows usernames and URLs but no credential', () => {
    const text = JSON.stringify(redact(parseDefinition(GOOD)));
    for (const s of ['pw-SECRET-1', 'tok-SECRET-2', 'tok-SECRET-3']) expect(text).not.toContain(s);
    expect(text).toContain('"username":"ops"');
    expect(text).toContain('<secret>');
    expect(parseDefinition(JSON.stringify(redact(parseDefinition(GOOD)))).alertmanagers).toHaveLength(2);
  });

  it.each([
    ['alertmanagers: [{url: "http://am:9093"}]', 'alertmanagers[0].url', /must use https/],
    ['alertmanagers: [{url: "https://u:p@am:9093"}]', 'alertmanagers[0].url', /must not contain credentials/],
    ['alertmanagers: [{url: "https://am:9093/?token=x"}]', 'alertmanagers[0].url', /query string/],
    ['alertmanagers: [{url: "https://am:9093/#x"}]', 'alertmanagers[0].url', /fragment/],
    ['alertmanagers: [{url: "not a url"}]', 'alertmanagers[0].url', /not a URL/],
    ['alertmanagers: [{url: "https://a"}, {url: "https://a/"}]', 'alertmanagers[1].url', /duplicate URL/],
    ['alertmanagers: [{url: "https://a", basic_auth: {username: "a:b", password: "x"}}]', 'alertmanagers[0].basic_auth.username', /":"/],
    ['alertmanagers: [{url: "https://a", authorization: {credentials: "x\\r\\nX-Evil: 1"}}]', 'alertmanagers[0].authorization.credentials', /control characters/],
    ['alertmanagers: [{url: "https://a", authorization: {type: Basic, credentials: x}}]', 'alertmanagers[0].authorization.type', /only Bearer/],
    ['alertmanagers: [{url: "https://a", authorization: {credentials: x}, basic_auth: {username: a, password: b}}]', 'alertmanagers[0]', /not both/],
    ['alertmanagers: [{url: "https://a", tls_config: {ca: "junk"}}]', 'alertmanagers[0].tls_config.ca', /PEM/],
    ['alertmanagers: [{url: "https://a", tls_config: {ca: "-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----"}}]', 'alertmanagers[0].tls_config.ca', /not a valid certificate/],
    ['alertmanagers: [{url: "https://a", timeout: "soon"}]', 'alertmanagers[0].timeout', /duration/],
    ['alertmanagers: [{url: "https://a", password: "x"}]', 'alertmanagers[0]', /unknown field "password"/],
    ['webhooks: [{name: a, url: "https://a"}, {name: a, url: "https://b"}]', 'webhooks[1].name', /duplicate webhook name/],
    ['webhooks: [{url: "https://a"}]', 'webhooks[0].name', /non-empty string/],
    ['resend_delay: 0s\nalertmanagers: [{url: "https://a"}]', 'resend_delay', /between/],
    ['queue_capacity: -1\nalertmanagers: [{url: "https://a"}]', 'queue_capacity', /integer/],
    ['alertmanager: []', 'data', /unknown field "alertmanager"/],
    ['{}', 'data', /at least one/],
    ['alertmanagers: [', 'data', /invalid YAML/],
    ['a: &x 1\nb: *x', 'data', /unknown field|invalid YAML/],
  ])('refuses %s', (text, field, message) => {
    const e = refused(text);
    expect(e.field).toBe(field);
    expect(e.message).toMatch(message);
    expect(e.message).toMatch(/^alert manager definition: /);
  });

  it('error messages never echo a credential', () => {
    const e = refused('alertmanagers: [{url: "https://a", authorization: {credentials: "tok-LEAK\\n"}}]');
    expect(e.message).not.toContain('tok-LEAK');
    const u = refused('alertmanagers: [{url: "https://user:pw-LEAK@a"}]');
    expect(u.message).not.toContain('pw-LEAK');
  });
});
