// The detector on a fixture of label sets with planted personal data and look-alikes. Positives
// and negatives are generated (valid check digits computed here, not copied from the detector)
// plus hand-written cases; precision and recall are printed and asserted.
import { describe, expect, it } from 'vitest';
import {
  detectInLabels,
  detectInWorkspaceFields,
  detectSensitive,
  FindingCollector,
  ibanValid,
  luhnValid,
  type SensitiveKind,
} from '../../shared/sensitive-data';
import { labelsFromRecord } from '../../shared/labels';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(20261128);
const int = (n: number) => Math.floor(rand() * n);
const digits = (n: number) => Array.from({ length: n }, () => int(10)).join('');
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

function luhnCheckDigit(body: string): string {
  for (let d = 0; d < 10; d++) if (luhnValid(body + d)) return String(d);
  throw new Error('unreachable');
}
function card(prefix: string, len: number, valid = true): string {
  const body = prefix + digits(len - prefix.length - 1);
  const check = luhnCheckDigit(body);
  return body + (valid ? check : String((+check + 1 + int(8)) % 10));
}
function group(s: string, sizes: number[], sep: string): string {
  const parts: string[] = [];
  let i = 0;
  for (const n of sizes) parts.push(s.slice(i, (i += n)));
  if (i < s.length) parts.push(s.slice(i));
  return parts.join(sep);
}
function iban(country: string, bbanLen: number, valid = true): string {
  const bban = Array.from({ length: bbanLen }, () => (rand() < 0.8 ? String(int(10)) : String.fromCharCode(65 + int(26)))).join('');
  const numeric = (bban + country + '00').replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  let rem = 0;
  for (const ch of numeric) rem = (rem * 10 + +ch) % 97;
  let check = 98 - rem;
  if (!valid) check = ((check + 1 + int(90)) % 97) + 2;
  return country + String(check).padStart(2, '0') + bban;
}
function b64url(s: string): string {
  return Buffer.from(s).toString('base64url');
}
const base32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(16)]).join('');
const alnum = (n: number) => Array.from({ length: n }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[int(62)]).join('');
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;

interface Case {
  name: string;
  value: string;
  expect: SensitiveKind | null;
}
const cases: Case[] = [];
const pos = (name: string, value: string, kind: SensitiveKind) => cases.push({ name, value, expect: kind });
const neg = (name: string, value: string) => cases.push({ name, value, expect: null });

const firstNames = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
const domains = ['example.com', 'corp.example.org', 'mail.co.uk', 'gmail.com', 'acme.io', 'uni-bonn.de'];
for (let i = 0; i < 30; i++) {
  const e = `${pick(firstNames)}${pick(['.', '_', '', '+ops.'])}${pick(firstNames)}${i}@${pick(domains)}`;
  pos(pick(['user', 'email', 'owner', 'customer', 'instance', 'path']), pick([e, e.toUpperCase(), `notify=${e}`, `/users/${e}/profile`]), 'email');
}
for (let i = 0; i < 40; i++) {
  const [pre, len, sizes] = pick([
    ['4', 16, [4, 4, 4, 4]],
    ['51', 16, [4, 4, 4, 4]],
    ['2221', 16, [4, 4, 4, 4]],
    ['37', 15, [4, 6, 5]],
    ['6011', 16, [4, 4, 4, 4]],
    ['4', 13, [4, 4, 5]],
    ['3530', 16, [4, 4, 4, 4]],
  ] as const);
  const c = card(pre, len);
  pos(pick(['card', 'pan', 'payment', 'customer_ref', 'note']), pick([c, group(c, [...sizes], ' '), group(c, [...sizes], '-')]), 'payment_card');
}
for (let i = 0; i < 25; i++) {
  const [cc, n] = pick([['DE', 18], ['GB', 18], ['FR', 23], ['NL', 14], ['ES', 20], ['IT', 23], ['CH', 17]] as const);
  const ib = iban(cc, n);
  pos(pick(['iban', 'account', 'payee', 'beneficiary']), pick([ib, group(ib, [4, 4, 4, 4, 4, 4, 4, 4], ' ')]), 'iban');
}
for (let i = 0; i < 20; i++) {
  const area = String(1 + int(665)).padStart(3, '0');
  const ssn = `${area}-${String(1 + int(98)).padStart(2, '0')}-${String(1 + int(9998)).padStart(4, '0')}`;
  if (i % 4 === 3) pos('ssn', ssn.replace(/-/g, ''), 'us_ssn');
  else pos(pick(['subject', 'ssn', 'customer', 'id']), ssn, 'us_ssn');
}
for (let i = 0; i < 25; i++) {
  const nanp = `${2 + int(8)}${digits(2)}`;
  const exch = `${2 + int(8)}${digits(2)}`;
  const line = digits(4);
  const v = pick([
    `+1 ${nanp} ${exch} ${line}`,
    `+1${nanp}${exch}${line}`,
    `(${nanp}) ${exch}-${line}`,
    `${nanp}-${exch}-${line}`,
    `+44 20 ${digits(4)} ${digits(4)}`,
    `+49-30-${digits(7)}`,
    `+33 6 ${digits(2)} ${digits(2)} ${digits(2)} ${digits(2)}`,
  ]);
  pos(pick(['caller', 'contact', 'dest', 'from']), v, 'phone');
}
for (let i = 0; i < 6; i++) pos(pick(['phone', 'mobile_number', 'msisdn']), `0${digits(9)}`, 'phone');
for (let i = 0; i < 15; i++) {
  const key = pick(['AKIA', 'ASIA']) + Array.from({ length: 16 }, () => base32[int(32)]).join('');
  pos(pick(['access_key_id', 'principal', 'client', 'caller']), pick([key, `key=${key}`]), 'aws_access_key');
}
for (let i = 0; i < 15; i++) {
  const acct = String(1 + int(9)) + digits(11);
  if (i % 3 === 0) pos(pick(['resource', 'arn', 'role']), `arn:aws:iam::${acct}:role/${pick(firstNames)}`, 'aws_account_id');
  else pos(pick(['account_id', 'aws_account', 'owner_id', 'account']), acct, 'aws_account_id');
}
for (let i = 0; i < 15; i++) {
  const header = b64url(JSON.stringify({ alg: pick(['HS256', 'RS256', 'ES256']), typ: 'JWT' }));
  const payload = b64url(JSON.stringify({ sub: `${int(100000)}`, name: pick(firstNames), iat: 1700000000 + int(1e6) }));
  const jwt = `${header}.${payload}.${alnum(43).replace(/[A-Z]/g, (c) => (rand() < 0.1 ? '_' : c))}`;
  pos(pick(['session', 'request', 'auth_header_hint', 'jwt']), pick([jwt, `Bearer ${jwt}`]), 'jwt');
}
for (const kind of ['RSA ', 'EC ', 'OPENSSH ', '', 'ENCRYPTED ']) {
  pos('config', `-----BEGIN ${kind}PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC${alnum(40)}\n-----END ${kind}PRIVATE KEY-----`, 'private_key');
}
for (const [n, v] of [
  ['password', 'hunter2!'],
  ['db_password', 'Sup3rS3cret'],
  ['api_key', alnum(32)],
  ['client_secret', alnum(40)],
  ['auth_token', alnum(24)],
  ['secret', alnum(16) + '/' + alnum(8)],
  ['token', 'ghp_' + alnum(36)],
  ['upstream', 'Authorization: Bearer ' + alnum(40)],
  ['dsn', `postgres://app?password=${alnum(12)}`],
  ['hook', 'xoxb-' + digits(12) + '-' + alnum(24)],
  ['stripe', 'sk_live_' + alnum(24)],
  ['PASSWD', 'correct horse battery staple'],
  ['x_api_key', alnum(30)],
  ['session_cookie', alnum(20) + '%3D' + alnum(10)],
] as const) pos(n, v, 'secret');

// --- Look-alikes: none of these is sensitive.
for (let i = 0; i < 30; i++) {
  const [pre, len] = pick([['4', 16], ['51', 16], ['37', 15], ['6011', 16]] as const);
  neg(pick(['card', 'order_id', 'ref']), card(pre, len, false)); // wrong check digit
}
for (let i = 0; i < 40; i++) neg(pick(['request_id', 'trace', 'seq', 'offset', 'inode', 'build']), String(1 + int(3)) + digits(12 + int(6))); // ids/counters, no issuer prefix
for (let i = 0; i < 30; i++) neg(pick(['build_number', 'inode', 'offset', 'bytes', 'device_id', 'object_id']), String(1 + int(9)) + digits(11)); // 12-digit counters
for (let i = 0; i < 20; i++) neg(pick(['ts', 'timestamp', 'started_at']), String(1600000000000 + int(2e11))); // epoch ms
for (let i = 0; i < 20; i++) {
  const [cc, n] = pick([['DE', 18], ['GB', 18], ['FR', 23], ['NL', 14]] as const);
  neg(pick(['iban', 'ref', 'code']), iban(cc, n, false)); // wrong check digits
}
for (const v of ['000-12-3456', '666-45-6789', '912-34-5678', '123-00-4567', '123-45-0000']) neg('ssn', v);
for (let i = 0; i < 25; i++) neg(pick(['version', 'kernel', 'image_tag', 'go_version']), pick([`${int(3)}.${int(40)}.${int(20)}`, `v${int(3)}.${int(50)}.${int(9)}-rc.${int(5)}`, `${int(7)}.${int(20)}.${int(300)}-${int(200)}-generic`, `go1.${int(23)}.${int(9)}`, `20${10 + int(16)}.${int(12)}.${int(28)}`]));
for (let i = 0; i < 25; i++) neg(pick(['id', 'pod_uid', 'request_id', 'uid', 'session_id']), uuid());
for (let i = 0; i < 25; i++) neg(pick(['instance', 'ip', 'addr', 'peer']), pick([`10.${int(255)}.${int(255)}.${int(255)}:${9000 + int(1000)}`, `192.168.${int(255)}.${int(255)}`, `fe80::${hex(4)}:${hex(4)}:${hex(4)}`, `2001:db8::${hex(4)}`, `${hex(2)}:${hex(2)}:${hex(2)}:${hex(2)}:${hex(2)}:${hex(2)}`]));
for (let i = 0; i < 20; i++) neg(pick(['container_id', 'image_id', 'revision', 'commit', 'trace_id', 'span_id']), pick([`sha256:${hex(64)}`, hex(40), hex(32), hex(16), `docker://${hex(64)}`]));
for (let i = 0; i < 20; i++) neg(pick(['pod', 'name', 'job', 'deployment']), `${pick(['api', 'web', 'worker', 'db'])}-${hex(10)}-${alnum(5).toLowerCase()}`);
for (const [n, v] of [
  ['name', 'getty@tty1.service'],
  ['unit', 'user@1000.service'],
  ['unit', 'systemd-fsck@dev-disk-by\\x2duuid-1234.service'],
  ['image', `nginx@sha256:${hex(64)}`],
  ['le', '+Inf'],
  ['le', '0.005'],
  ['quantile', '0.99'],
  ['secret', 'db-credentials'],
  ['secret', 'default-token-x7k2p'],
  ['secret_name', alnum(24)],
  ['token_type', 'Bearer'],
  ['auth_method', 'oauth2'],
  ['token_expiry', '3600'],
  ['password_policy', 'strong'],
  ['session_count', '12'],
  ['path', '/api/v1/users/1234/orders'],
  ['handler', '/metrics'],
  ['url', 'https://grafana.example.com/d/abc123'],
  ['duration', '1h30m'],
  ['date', '2026-11-28'],
  ['time', '2026-11-28T20:41:00+01:00'],
  ['tz', '+05:30'],
  ['ratio', '+12.5%'],
  ['access_key', ''],
  ['password', '********'],
  ['password', 'redacted'],
  ['accesskey_hint', 'AKIA'],
  ['mountpoint', '/var/lib/docker/overlay2/' + hex(64)],
  ['body', 'eyJhbGciOi'],
  ['code', 'DE12'],
  ['zip', '94103-1234'],
  ['isbn', '978-3-16-148410-0'],
  ['port', '65535'],
  ['account_status', 'active'],
  ['account_name', 'ops-team'],
  ['counter', '123456789012345678901'],
  ['cpu', '0-15'],
  ['range', '1000-2000-3000-4000'],
] as const) neg(n, v);

// A second, harder batch written after the detector: formats it was not tuned on.
for (const [n, v, k] of [
  ['contact', 'mailto:Jane.Doe+alerts@Example.CO.UK', 'email'],
  ['payee', 'de89 3704 0044 0532 0130 00', 'iban'],
  ['payee', 'gb82west12345698765432', 'iban'],
  ['ssn', '123 45 6789', 'us_ssn'],
  ['note', 'order 5555555555554444 paid', 'payment_card'],
  ['support_line', '+1-800-555-0199', 'phone'],
  ['tel', '(020) 7946 0958', 'phone'],
  ['aws_secret_access_key', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'secret'],
  ['authorization', 'Basic dXNlcjpwYXNzd29yZDEyMzQ1Ng==', 'secret'],
  ['owner_account', 'arn:aws:s3:::bucket,arn:aws:iam::210987654321:user/ci', 'aws_account_id'],
] as const) pos(n, v, k);
for (let i = 0; i < 5; i++) neg('order_id', card('4', 16)); // random ids that happen to look exactly like Visa numbers: an inherent false alarm, counted
for (const [n, v] of [
  ['repo', 'git@github.com:acme/api.git'],
  ['version', '1.0.0+20130313144700'],
  ['version', 'v1.28.3+k3s1'],
  ['ticket', 'INC-555-123-4567'],
  ['mac', '00-1B-63-84-45-E6'],
  ['checksum', 'sha1:2fd4e1c67a2d28fced849ee1bb76e7391b93eb12'],
  ['chart', 'nginx-ingress-4.8.3'],
  ['hostname', 'ip-10-0-12-34.eu-west-1.compute.internal'],
  ['device', 'nvme0n1p1'],
  ['build', '20261128.1234567890'],
  ['partition', '2026-11-28-13'],
  ['user_agent', 'Prometheus/2.42.0'],
  ['path', '/var/log/pods/default_api-7d9f8b6c5d-x2x9z_123e4567-e89b-12d3-a456-426614174000'],
  ['token_name', 'ci-deploy-token'],
  ['tenant', 'acme-prod'],
] as const) neg(n, v);

describe('sensitive-data fixture', () => {
  it('finds planted personal data and secrets with precision and recall ≥ 0.95', () => {
    let tp = 0, fp = 0, fn = 0;
    const misses: string[] = [];
    const perKind = new Map<string, { tp: number; fp: number; fn: number }>();
    const bump = (k: string, f: 'tp' | 'fp' | 'fn') => {
      const e = perKind.get(k) ?? { tp: 0, fp: 0, fn: 0 };
      e[f]++;
      perKind.set(k, e);
    };
    for (const c of cases) {
      const labels = labelsFromRecord({ __name__: 'http_requests_total', job: 'api', [c.name]: c.value });
      const kinds = new Set(detectInLabels(labels).filter((d) => d.labelName === c.name).map((d) => d.detection.kind));
      if (c.expect && kinds.has(c.expect)) {
        tp++;
        bump(c.expect, 'tp');
        kinds.delete(c.expect);
      } else if (c.expect) {
        fn++;
        bump(c.expect, 'fn');
        misses.push(`missed ${c.expect}: ${c.name}=${JSON.stringify(c.value)}`);
      }
      // Another kind on a positive (a JWT behind "Bearer" is also a secret) is not a false alarm.
      if (!c.expect) for (const k of kinds) {
        fp++;
        bump(k, 'fp');
        misses.push(`false ${k}: ${c.name}=${JSON.stringify(c.value)}`);
      }
    }
    const precision = tp / (tp + fp);
    const recall = tp / (tp + fn);
    const positives = cases.filter((c) => c.expect).length;
    console.log(`sensitive-data fixture: ${cases.length} labels (${positives} planted, ${cases.length - positives} look-alikes)`);
    console.log(`  precision ${precision.toFixed(3)}  recall ${recall.toFixed(3)}  (tp ${tp}, fp ${fp}, fn ${fn})`);
    for (const [k, e] of [...perKind].sort()) console.log(`  ${k.padEnd(15)} tp ${e.tp} fp ${e.fp} fn ${e.fn}`);
    for (const m of misses) console.log('  ' + m);
    expect(recall).toBeGreaterThanOrEqual(0.95);
    expect(precision).toBeGreaterThanOrEqual(0.95);
  });

  it('never puts the full value in a masked example', () => {
    for (const c of cases.filter((x) => x.expect)) {
      for (const d of detectSensitive(c.value, c.name)) {
        expect(d.masked).not.toContain(c.value);
        const compact = c.value.replace(/[\s-]/g, '');
        if (compact.length >= 8) expect(d.masked.replace(/[\s-]/g, '')).not.toContain(compact);
      }
    }
  });
});

describe('sensitive-data checks', () => {
  it('validates Luhn and IBAN check digits', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('GB82WEST12345698765433')).toBe(false);
    expect(ibanValid('DE89370400440532013000')).toBe(true);
  });

  it('masks examples and keeps only the last digits of a card', () => {
    const [d] = detectSensitive('card 4111 1111 1111 1111');
    expect(d).toEqual({ kind: 'payment_card', masked: '**** **** **** 1111' });
    const [e] = detectSensitive('alice@example.com');
    expect(e?.masked).toBe('a***@e***.com');
  });

  it('aggregates findings per label and counts series', () => {
    const c = new FindingCollector();
    for (let i = 0; i < 5; i++) c.addSeries(labelsFromRecord({ __name__: 'logins_total', user: `u${i}@example.com`, job: 'auth' }));
    c.addSeries(labelsFromRecord({ __name__: 'x', job: 'y' }));
    expect(c.findings()).toEqual([{ kind: 'email', labelName: 'user', inName: false, example: 'u***@e***.com', series: 5 }]);
  });

  it('counts shared label objects (as a store keeps them) once a series each, past the memo limits too', () => {
    const c = new FindingCollector();
    const job = { name: 'job', value: 'auth' };
    const owner = { name: 'owner', value: 'alice@example.com' };
    const contact = { name: 'contact', value: 'bob@example.com' };
    // 25,000 series sharing pair objects, each with a user pair of its own (more than the memos keep).
    for (let i = 0; i < 25_000; i++) c.addSeries([{ name: '__name__', value: 'logins_total' }, contact, job, owner, { name: 'user', value: `u${i}@example.com` }]);
    c.addSeries([{ name: '__name__', value: 'x' }, job]);
    expect(c.findings().map((f) => `${f.kind}:${f.labelName}:${f.series}`).sort()).toEqual(['email:contact:25000', 'email:owner:25000', 'email:user:25000']);
  });

  it('checks workspace aliases and tags', () => {
    const f = detectInWorkspaceFields('prod for alice@example.com', { owner: 'bob@example.com', env: 'prod', account: '123456789012' });
    expect(f.map((x) => `${x.kind}:${x.labelName}`).sort()).toEqual(['aws_account_id:tag:account', 'email:alias', 'email:tag:owner']);
    expect(detectInWorkspaceFields('production', { team: 'sre' })).toEqual([]);
  });

  it('finds card digits hidden in a label name', () => {
    const d = detectInLabels(labelsFromRecord({ __name__: 'x', card_4111111111111111: '1' }));
    expect(d.map((x) => [x.detection.kind, x.inName])).toEqual([['payment_card', true]]);
  });
});
