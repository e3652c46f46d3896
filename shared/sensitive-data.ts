// Sensitive-data detector (the local Macie): finds personal data and secrets in label names and
// values, workspace aliases and tags. Pure and cheap: the window calls it as the user types an
// alias, the core calls it on every new series. A finding never carries the full value, only a
// masked example.
import type { Label, Labels } from './labels';

export type SensitiveKind =
  | 'email'
  | 'payment_card'
  | 'iban'
  | 'us_ssn'
  | 'phone'
  | 'aws_access_key'
  | 'aws_account_id'
  | 'jwt'
  | 'private_key'
  | 'secret';

export const SENSITIVE_KIND_TITLES: Readonly<Record<SensitiveKind, string>> = {
  email: 'E-mail address',
  payment_card: 'Payment card number',
  iban: 'Bank account number (IBAN)',
  us_ssn: 'US social security number',
  phone: 'Phone number',
  aws_access_key: 'AWS access key id',
  aws_account_id: 'AWS account id',
  jwt: 'JSON web token',
  private_key: 'Private key',
  secret: 'Password, token or other secret',
};

/** One thing found in one string. `masked` never contains the full matched text. */
export interface Detection {
  readonly kind: SensitiveKind;
  readonly masked: string;
}

/** Aggregated over many series: what, where, an example, and how many series carry it. */
export interface Finding {
  readonly kind: SensitiveKind;
  /** The label name (or 'alias', 'tag:<key>' for workspace fields). */
  readonly labelName: string;
  /** True when the label name itself (not its value) matched. */
  readonly inName: boolean;
  readonly example: string;
  readonly series: number;
}

// ---------------------------------------------------------------------------------------------
// Masking

function maskEmail(e: string): string {
  const at = e.lastIndexOf('@');
  const local = e.slice(0, at);
  const domain = e.slice(at + 1);
  const dot = domain.lastIndexOf('.');
  return `${local[0] ?? ''}***@${domain[0] ?? ''}***${domain.slice(dot)}`;
}

function maskDigitsKeepLast(s: string, last: number): string {
  const total = s.replace(/\D/g, '').length;
  let seen = 0;
  let out = '';
  for (const ch of s) {
    if (ch >= '0' && ch <= '9') {
      seen++;
      out += seen > total - last ? ch : '*';
    } else out += ch;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checks

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Issuer prefixes of the card networks in use (IIN ranges), so that random Luhn-valid counters are not cards. */
function cardIssuerPlausible(d: string): boolean {
  const n = d.length;
  const p2 = +d.slice(0, 2), p3 = +d.slice(0, 3), p4 = +d.slice(0, 4), p6 = +d.slice(0, 6);
  if (d[0] === '4') return n === 13 || n === 16 || n === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return n === 15; // Amex
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925)) return n >= 16; // Discover
  if (p2 === 62) return n >= 16; // UnionPay
  if (p4 >= 3528 && p4 <= 3589) return n >= 16; // JCB
  if (p2 === 36 || p2 === 38 || p2 === 39 || (p3 >= 300 && p3 <= 305) || p3 === 309) return n >= 14; // Diners
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return n >= 12; // Maestro
  return false;
}

/** IBAN lengths per country (ISO 13616 registry, the common ones). */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, CH: 21, CR: 22, CY: 28, CZ: 24,
  DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27,
  GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LI: 21, LT: 20,
  LU: 20, LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29,
  PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, TN: 24, TR: 26, UA: 29, VA: 22,
  VG: 24, XK: 20,
};

export function ibanValid(compact: string): boolean {
  const want = IBAN_LENGTHS[compact.slice(0, 2)];
  if (want === undefined || compact.length !== want) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let rem = 0;
  for (const ch of rearranged) {
    const c = ch.charCodeAt(0);
    const v = c >= 65 ? c - 55 : c - 48;
    rem = (v > 9 ? rem * 100 + v : rem * 10 + v) % 97;
  }
  return rem === 1;
}

function ssnValid(area: string, group: string, serial: string): boolean {
  const a = +area;
  return a !== 0 && a !== 666 && a < 900 && group !== '00' && serial !== '0000';
}

function base64UrlDecodeToText(s: string): string | null {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let bits = 0, acc = 0, out = '';
  for (const ch of s) {
    const v = alphabet.indexOf(ch);
    if (v < 0) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((acc >> bits) & 0xff);
    }
  }
  return out;
}

function jwtHeaderValid(header: string): boolean {
  const text = base64UrlDecodeToText(header);
  if (!text) return false;
  try {
    const h = JSON.parse(text) as unknown;
    return typeof h === 'object' && h !== null && typeof (h as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Label-name context

/** Names that say the value is a secret whatever it looks like. */
const STRONG_SECRET_NAME = /(?:^|_|-)(?:password|passwd|passphrase|pwd|client_?secret|secret_?key|api_?key|apikey|access_?token|auth_?token|refresh_?token|bearer|private_?key|credentials?)(?:$|_|-)/i;
/** Names that may hold a secret, or just a name of one (kube_secret_info{secret="db-creds"}). */
const WEAK_SECRET_NAME = /(?:secret|token|auth|session|cookie|signature)/i;
/** Suffixes that make a secret-ish name metadata about the secret rather than the secret. */
const SECRET_METADATA_SUFFIX = /(?:_|-)(?:name|names|type|id|kind|count|ttl|expiry|expires|expiration|age|status|source|namespace|version|path|file|len|length|hash|policy|rule|mode|enabled|required|strength|method|provider|issuer|scheme)$/i;
const PLACEHOLDER = /^(?:|\*+|x+|-|n\/?a|none|null|nil|true|false|yes|no|redacted|hidden|masked|unknown|empty|changeme\?)$/i;

const ACCOUNT_NAME = /(?:account|acct|aws|owner|tenant|payer|billing)/i;
const PHONE_NAME = /(?:phone|mobile|msisdn|tel(?:ephone)?|fax|cell|sms|caller|callee)/i;
const SSN_NAME = /(?:ssn|social_?security|tax_?id|tin)/i;

function secretByName(name: string, value: string): boolean {
  if (PLACEHOLDER.test(value)) return false;
  if (SECRET_METADATA_SUFFIX.test(name)) return false;
  if (STRONG_SECRET_NAME.test(name)) return true;
  if (!WEAK_SECRET_NAME.test(name)) return false;
  // A weak name: only values that look random (a DNS-style name like "db-creds" is not a secret).
  return looksRandom(value);
}

/** A token-like string: long enough, mixes character classes, few repeats. */
function looksRandom(v: string): boolean {
  if (v.length < 16 || /\s/.test(v)) return false;
  let classes = 0;
  if (/[a-z]/.test(v)) classes++;
  if (/[A-Z]/.test(v)) classes++;
  if (/[0-9]/.test(v)) classes++;
  if (/[^A-Za-z0-9]/.test(v)) classes++;
  if (classes < 2) return false;
  if (/^[a-z0-9]+(?:[-.][a-z0-9]+)*$/.test(v) && !/\d{4,}/.test(v)) return false; // dns-label style names
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)) return false; // UUIDs are ids
  const distinct = new Set(v).size;
  return distinct >= Math.min(10, v.length / 2);
}

// ---------------------------------------------------------------------------------------------
// Patterns

// Local part, then a domain of dot-separated labels ending in an alphabetic TLD.
const EMAIL = /[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24})(?![A-Za-z0-9-])/g;
/** systemd units (getty@tty1.service) and similar file-ish suffixes are not mail domains. */
const NOT_MAIL_TLDS = new Set(['service', 'socket', 'mount', 'automount', 'timer', 'target', 'path', 'slice', 'scope', 'device', 'swap', 'conf', 'json', 'yaml', 'yml', 'txt', 'log', 'local', 'internal', 'localdomain', 'svc', 'cluster', 'png', 'jpg', 'js', 'py', 'go', 'sh', 'exe', 'so']);
// 13-19 digits, optionally grouped with single spaces or dashes.
const CARD = /(?<![\d.])\d(?:[ -]?\d){12,18}(?![\d.])/g;
const IBAN = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])/g;
const SSN = /(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])/g;
const SSN_BARE = /^(\d{3})(\d{2})(\d{4})$/;
// +country code then 7-14 more digits, with optional separators and an optional (area) group.
const PHONE_INTL = /(?<![\w+])\+[1-9](?:[ .-]?\(?\d\)?){7,14}(?!\w)/g;
const PHONE_NANP = /(?<![\w-])(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[-.])[2-9]\d{2}[-.]\d{4}(?![\w-])/g;
const AWS_KEY = /(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z2-7]{16}(?![A-Z0-9])/g;
const AWS_ARN_ACCOUNT = /arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):/g;
const TWELVE_DIGITS = /^\d{12}$/;
const JWT = /(?<![A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{8,})\.(eyJ[A-Za-z0-9_-]{2,}|[A-Za-z0-9_-]{8,})\.([A-Za-z0-9_-]{0,})(?![A-Za-z0-9_-])/g;
const PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/;
const BEARER = /(?:^|[\s"'=:])(?:Bearer|Basic|Token)\s+([A-Za-z0-9._~+/=-]{12,})/gi;
// Well-known token formats that announce themselves.
const VENDOR_TOKEN = /(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}|glpat-[A-Za-z0-9_-]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|sk_(?:live|test)_[A-Za-z0-9]{20,}|AIza[A-Za-z0-9_-]{35}|npm_[A-Za-z0-9]{36})(?![A-Za-z0-9])/g;
const KEY_VALUE_SECRET = /(?:password|passwd|pwd|secret|api_?key|token)\s*[=:]\s*([^\s&;,]{6,})/gi;

/** Fast reject: strings with none of the characters any pattern needs. */
function mayContainSomething(v: string): boolean {
  return /[0-9@-]/.test(v) || v.length >= 16;
}

function countDigits(v: string): number {
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

const AWS_KEY_PREFIX = /A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA|IPA)/;
const BEARER_WORD = /bearer|basic|token/i;
const KEY_VALUE_WORD = /pass|pwd|secret|api_?key|token/i;

/**
 * What a string contains. `context` is the label name (or 'alias', 'tag:<key>') and enables the
 * name-dependent checks: bare 12-digit account ids, bare 9-digit SSNs, national phone numbers,
 * and secrets recognised by their label name.
 */
export function detectSensitive(value: string, context = ''): Detection[] {
  const found: Detection[] = [];
  const add = (kind: SensitiveKind, masked: string): void => {
    if (!found.some((f) => f.kind === kind)) found.push({ kind, masked });
  };
  if (context && value && secretByName(context, value)) add('secret', maskSecret(value));
  if (!value) return found;
  if (value.includes('PRIVATE KEY') && PRIVATE_KEY.test(value)) add('private_key', '-----BEGIN … PRIVATE KEY----- (' + value.length + ' chars)');
  if (!mayContainSomething(value)) return found;
  const digits = countDigits(value);

  if (value.includes('@')) {
    for (const m of value.matchAll(EMAIL)) {
      // git@github.com:org/repo is an SSH remote, not a mailbox.
      if (value[(m.index ?? 0) + m[0].length] === ':' && /^git@/.test(m[0])) continue;
      if (!NOT_MAIL_TLDS.has(m[1]!.toLowerCase())) add('email', maskEmail(m[0]));
    }
  }
  if (digits >= 13) for (const m of value.matchAll(CARD)) {
    const raw = m[0];
    const digits = raw.replace(/[ -]/g, '');
    if (digits.length < 13 || digits.length > 19) continue;
    const seps = raw.match(/[ -]/g);
    if (seps && new Set(seps).size > 1) continue; // mixed separators: a composite id, not a card
    if (/^(\d)\1+$/.test(digits)) continue;
    if (luhnValid(digits) && cardIssuerPlausible(digits)) add('payment_card', maskDigitsKeepLast(raw, 4));
  }
  if (/[A-Za-z]{2}\d{2}/.test(value)) {
    // IBANs are often written in lower case; the check digits decide.
    for (const m of value.toUpperCase().matchAll(IBAN)) {
      const compact = m[0].replace(/ /g, '');
      if (ibanValid(compact)) add('iban', compact.slice(0, 2) + '**' + '*'.repeat(compact.length - 8) + compact.slice(-4));
    }
  }
  if (digits >= 9 && value.includes('-')) for (const m of value.matchAll(SSN)) {
    if (ssnValid(m[1]!, m[2]!, m[3]!)) add('us_ssn', '***-**-' + m[3]);
  }
  if (context && SSN_NAME.test(context)) {
    const m = SSN_BARE.exec(value.replace(/[\s-]/g, ''));
    if (m && ssnValid(m[1]!, m[2]!, m[3]!)) add('us_ssn', '*****' + m[3]);
  }
  if (value.includes('+')) {
    for (const m of value.matchAll(PHONE_INTL)) {
      const digits = m[0].replace(/\D/g, '');
      if (digits.length >= 8 && digits.length <= 15) add('phone', maskDigitsKeepLast(m[0], 2));
    }
  }
  if (digits >= 10) for (const m of value.matchAll(PHONE_NANP)) add('phone', maskDigitsKeepLast(m[0], 2));
  if (context && PHONE_NAME.test(context) && !SECRET_METADATA_SUFFIX.test(context)) {
    const digits = value.replace(/[\s().-]/g, '');
    if (/^\+?\d{7,15}$/.test(digits)) add('phone', maskDigitsKeepLast(value, 2));
  }
  if (AWS_KEY_PREFIX.test(value)) for (const m of value.matchAll(AWS_KEY)) add('aws_access_key', m[0].slice(0, 4) + '************' + m[0].slice(-4));
  if (value.includes('arn:aws')) for (const m of value.matchAll(AWS_ARN_ACCOUNT)) add('aws_account_id', '********' + m[1]!.slice(-4));
  if (context && TWELVE_DIGITS.test(value) && ACCOUNT_NAME.test(context) && !SECRET_METADATA_SUFFIX.test(context.replace(/_id$/i, ''))) {
    add('aws_account_id', '********' + value.slice(-4));
  }
  if (value.includes('eyJ')) {
    for (const m of value.matchAll(JWT)) if (jwtHeaderValid(m[1]!)) add('jwt', 'eyJ…(' + m[0].length + ' chars)');
  }
  if (value.length >= 17 && BEARER_WORD.test(value)) for (const m of value.matchAll(BEARER)) add('secret', maskSecret(m[1]!));
  if (value.length >= 20 && /[_-]/.test(value)) for (const m of value.matchAll(VENDOR_TOKEN)) add('secret', maskSecret(m[0]));
  if ((value.includes('=') || value.includes(':')) && KEY_VALUE_WORD.test(value)) {
    for (const m of value.matchAll(KEY_VALUE_SECRET)) if (!PLACEHOLDER.test(m[1]!)) add('secret', maskSecret(m[1]!));
  }
  return found;
}

function maskSecret(v: string): string {
  return `**** (${v.length} chars)`;
}

/** Detections in one label set: each label's name (as text) and value (with its name as context). */
export function detectInLabels(labels: Labels): { labelName: string; inName: boolean; detection: Detection }[] {
  const out: { labelName: string; inName: boolean; detection: Detection }[] = [];
  for (const l of labels) {
    // Names can only hold [a-zA-Z0-9_]: only digit-based kinds can hide there.
    if (/\d{9}/.test(l.name)) for (const d of detectSensitive(l.name.replace(/_/g, ' '))) out.push({ labelName: l.name, inName: true, detection: d });
    for (const d of detectSensitive(l.value, l.name)) out.push({ labelName: l.name, inName: false, detection: d });
  }
  return out;
}

/** Detections in a workspace's alias and tags (checked when set; shown as a warning). */
export function detectInWorkspaceFields(alias: string, tags: Readonly<Record<string, string>>): Finding[] {
  const c = new FindingCollector();
  for (const d of detectSensitive(alias, 'alias')) c.addDetection('alias', false, d);
  for (const [k, v] of Object.entries(tags)) {
    for (const d of detectSensitive(k.replace(/[_:]/g, ' '))) c.addDetection(`tag:${k}`, true, d);
    for (const d of detectSensitive(v, k)) c.addDetection(`tag:${k}`, false, d);
  }
  return c.findings();
}

const MEMO_LIMIT = 20_000;
type Detected = ReturnType<typeof detectInLabels>;

/** Aggregates detections over series: one finding per (kind, label name, in name). */
export class FindingCollector {
  private readonly byKey = new Map<string, { kind: SensitiveKind; labelName: string; inName: boolean; example: string; series: number }>();

  addDetection(labelName: string, inName: boolean, d: Detection, series = 1): void {
    const key = `${d.kind}\u0000${labelName}\u0000${inName ? 1 : 0}`;
    const f = this.byKey.get(key);
    if (f) f.series += series;
    else this.byKey.set(key, { kind: d.kind, labelName, inName, example: d.masked, series });
  }

  /** Adds one series' label set; each (kind, label) counts once per series. */
  addSeries(labels: Labels): void {
    // Most series hold nothing: no set and no list is made for them.
    let seen: Set<string> | undefined;
    for (const l of labels) {
      for (const { labelName, inName, detection } of this.detect(l)) {
        const key = `${detection.kind}\u0000${labelName}\u0000${inName ? 1 : 0}`;
        if ((seen ??= new Set()).has(key)) continue;
        seen.add(key);
        this.addDetection(labelName, inName, detection);
      }
    }
  }

  /**
   * Label values repeat across series (job, code, handler): remember what each pair held, by the
   * pair object (a store shares one a pair among its series) and by its text (label sets decoded afresh).
   */
  private byPair = new WeakMap<Label, Detected>();
  private pairs = 0;
  private readonly memo = new Map<string, Detected>();

  private detect(l: Label): Detected {
    let ds = this.byPair.get(l);
    if (ds) return ds;
    const key = l.name + '\u0000' + l.value;
    ds = this.memo.get(key);
    if (!ds) {
      ds = detectInLabels([l]);
      if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
      this.memo.set(key, ds);
    }
    if (++this.pairs > MEMO_LIMIT) {
      this.byPair = new WeakMap();
      this.pairs = 1;
    }
    this.byPair.set(l, ds);
    return ds;
  }

  merge(findings: readonly Finding[]): void {
    for (const f of findings) this.addDetection(f.labelName, f.inName, { kind: f.kind, masked: f.example }, f.series);
  }

  findings(): Finding[] {
    return [...this.byKey.values()].sort((a, b) => b.series - a.series || a.labelName.localeCompare(b.labelName));
  }
}
