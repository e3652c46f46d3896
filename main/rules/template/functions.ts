// The functions a Prometheus rule template can call: Go's text/template builtins plus Prometheus's
// own (template/template.go), with the same outputs as Prometheus for the same inputs.
import { isIP } from 'node:net';
import { RE2JS } from 're2js';
import { GoStruct, goString, truth, type TemplateFunc } from './exec';
import { formatGoG, goSprintf } from './go-format';

export interface TemplateEnv {
  /** Evaluates an instant query at the rule's evaluation time (absent: `query` fails). */
  readonly query?: (expr: string) => { labels: Record<string, string>; value: number }[];
  readonly externalURL?: string;
  /** Evaluation time in ms since the epoch (for `now`). */
  readonly timeMs?: number;
}

function toFloat(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') {
    const s = v.trim() === v ? v : '';
    if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
    if (/^nan$/i.test(s)) return NaN;
    if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return Number(s);
    if (/^[+-]?0x[0-9a-f]+$/i.test(s)) return Number.parseInt(s, 16);
    throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
  }
  throw new Error(`can't convert ${typeof v} to float`);
}

const SI_BIG = ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
const SI_SMALL = ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y'];
const g4 = (v: number) => formatGoG(v, 4);

function humanize(x: unknown): string {
  let v = toFloat(x);
  if (v === 0 || !Number.isFinite(v)) return g4(v);
  let prefix = '';
  if (Math.abs(v) >= 1) {
    for (const p of SI_BIG) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return g4(v) + prefix;
  }
  for (const p of SI_SMALL) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return g4(v) + prefix;
}

function humanize1024(x: unknown): string {
  let v = toFloat(x);
  if (Math.abs(v) <= 1 || !Number.isFinite(v)) return g4(v);
  let prefix = '';
  for (const p of ['ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return g4(v) + prefix;
}

function humanizeDuration(x: unknown): string {
  let v = toFloat(x);
  if (!Number.isFinite(v)) return g4(v);
  if (v === 0) return `${g4(v)}s`;
  if (Math.abs(v) >= 1) {
    let sign = '';
    if (v < 0) { sign = '-'; v = -v; }
    const d = Math.trunc(v);
    const seconds = d % 60, minutes = Math.trunc(d / 60) % 60, hours = Math.trunc(d / 3600) % 24, days = Math.trunc(d / 86400);
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${g4(v)}s`;
  }
  let prefix = '';
  for (const p of SI_SMALL) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${g4(v)}${prefix}s`;
}

/** Go's time.Time String() in UTC: `2015-06-23 13:19:44.128 +0000 UTC`. */
function goTimeString(seconds: number): string {
  const nsFloat = seconds * 1e9;
  if (Math.abs(nsFloat) >= 9.223372036854776e18) {
    throw new Error(`${formatGoG(seconds)} cannot be represented as a nanoseconds timestamp since it overflows int64`);
  }
  // Go: time.Unix(0, int64(v*1e9)).
  const ns = BigInt(Math.trunc(nsFloat));
  let rem = ns % 1_000_000_000n;
  if (rem < 0n) rem += 1_000_000_000n;
  const d = new Date(Number((ns - rem) / 1_000_000n));
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const base = `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  const frac = rem > 0n ? '.' + rem.toString().padStart(9, '0').replace(/0+$/, '') : '';
  return `${base}${frac} +0000 UTC`;
}

function humanizeTimestamp(x: unknown): string {
  const v = toFloat(x);
  if (!Number.isFinite(v)) return g4(v);
  return goTimeString(v);
}

function sampleOf(v: unknown): GoStruct {
  if (v instanceof GoStruct && 'Labels' in v.fields) return v;
  throw new Error(`wrong type for value; expected template.sample; got ${v === null ? '<nil>' : typeof v}`);
}

/** Go's regexp (RE2 syntax, linear time), unanchored as text/template's functions use it. */
function compileGoRegex(p: string): RE2JS {
  try {
    return RE2JS.compile(p);
  } catch (e) {
    throw new Error(`error parsing regexp: ${(e as Error).message}`);
  }
}

/** Go's Regexp.ReplaceAllString: every match replaced by the template `$1`, `${1}`, `$name`, `$$`. */
function replaceAllGo(re: RE2JS, input: string, repl: string): string {
  const m = re.matcher(input);
  let out = '';
  let last = 0;
  while (m.find()) {
    out += input.slice(last, m.start()) + repl.replace(/\$(\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g, (_all, d: string, braced?: string, bare?: string) => {
      if (d === '$') return '$';
      const name = braced ?? bare!;
      if (/^\d+$/.test(name)) return Number(name) <= m.groupCount() ? (m.group(Number(name)) ?? '') : '';
      return name in re.namedGroups() ? (m.group(name) ?? '') : '';
    });
    last = m.end();
  }
  return out + input.slice(last);
}

function compare(op: string, a: unknown, b: unknown): boolean {
  const kind = (v: unknown) => (typeof v === 'bigint' ? 'int' : typeof v === 'number' ? 'float' : typeof v === 'string' ? 'string' : typeof v === 'boolean' ? 'bool' : 'other');
  const ka = kind(a), kb = kind(b);
  if (ka === 'other' || kb === 'other') {
    if (op === 'eq' || op === 'ne') {
      if ((a === null || a === undefined) && (b === null || b === undefined)) return op === 'eq';
    }
    throw new Error('invalid type for comparison');
  }
  if (ka !== kb) throw new Error('incompatible types for comparison');
  if (ka === 'bool' && op !== 'eq' && op !== 'ne') throw new Error('invalid type for comparison');
  const x = a as number | bigint | string | boolean, y = b as typeof x;
  switch (op) {
    case 'eq': return x === y;
    case 'ne': return x !== y;
    case 'lt': return x < y;
    case 'le': return x <= y;
    case 'gt': return x > y;
    default: return x >= y;
  }
}

function goPrint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += goString(a);
  });
  return out;
}

function arity(name: string, args: unknown[], n: number): void {
  if (args.length !== n) throw new Error(`wrong number of args for ${name}: want ${n} got ${args.length}`);
}

function escapeHtml(s: string): string {
  return s.replace(/[&'<>"\0]/g, (c) => ({ '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;', '"': '&#34;', '\0': '\uFFFD' })[c]!);
}

/** Parses a Prometheus duration (`1h2m10ms`) into seconds, as `parseDuration` does. */
function promDurationSeconds(s: string): number {
  const m = /^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$/.exec(s);
  if (!m || s === '') throw new Error(`not a valid duration string: ${JSON.stringify(s)}`);
  const n = (i: number) => Number(m[i] ?? 0);
  return n(2) * 365 * 86400 + n(4) * 7 * 86400 + n(6) * 86400 + n(8) * 3600 + n(10) * 60 + n(12) + n(14) / 1000;
}

function stripPort(hostPort: string): string {
  const m = /^\[([^\]]*)\]:(\d*)$/.exec(hostPort) ?? /^([^:[\]]*):(\d*)$/.exec(hostPort);
  return m ? m[1]! : hostPort;
}

export function templateFunctions(env: TemplateEnv): Map<string, TemplateFunc> {
  const f = new Map<string, TemplateFunc>();
  // Go builtins.
  f.set('and', (a) => { for (const x of a.slice(0, -1)) if (!truth(x)) return x; return a[a.length - 1]; });
  f.set('or', (a) => { for (const x of a.slice(0, -1)) if (truth(x)) return x; return a[a.length - 1]; });
  f.set('not', (a) => { arity('not', a, 1); return !truth(a[0]); });
  f.set('len', (a) => {
    arity('len', a, 1);
    const v = a[0];
    if (typeof v === 'string') return BigInt(Buffer.byteLength(v, 'utf8'));
    if (Array.isArray(v)) return BigInt(v.length);
    if (v instanceof Map) return BigInt(v.size);
    throw new Error(`len of type ${typeof v}`);
  });
  f.set('index', (a) => {
    let v = a[0];
    for (const k of a.slice(1)) {
      if (v instanceof Map) v = v.has(k) ? v.get(k) : '';
      else if (Array.isArray(v) && typeof k === 'bigint') {
        if (k < 0n || k >= BigInt(v.length)) throw new Error(`index out of range: ${k}`);
        v = v[Number(k)];
      } else throw new Error(`can't index item of type ${typeof v}`);
    }
    return v;
  });
  f.set('print', (a) => goPrint(a));
  f.set('println', (a) => a.map(goString).join(' ') + '\n');
  f.set('printf', (a) => goSprintf(String(a[0] ?? ''), a.slice(1), goString));
  f.set('html', (a) => escapeHtml(goPrint(a)));
  f.set('js', (a) => goPrint(a).replace(/[\\'"<>&=\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === "'" ? "\\'" : c === '"' ? '\\"' : `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`)));
  f.set('urlquery', (a) => encodeURIComponent(goPrint(a)).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`));
  f.set('call', () => { throw new Error('call of nil'); });
  f.set('slice', (a) => {
    const v = a[0];
    const idx = a.slice(1).map((x) => Number(x as bigint));
    if (typeof v === 'string') return v.slice(idx[0] ?? 0, idx[1] ?? v.length);
    if (Array.isArray(v)) return v.slice(idx[0] ?? 0, idx[1] ?? v.length);
    throw new Error(`can't slice item of type ${typeof v}`);
  });
  for (const op of ['eq', 'ne', 'lt', 'le', 'gt', 'ge']) {
    f.set(op, (a) => {
      if (a.length < 2) throw new Error(`missing argument for comparison`);
      if (op === 'eq') return a.slice(1).some((b) => compare('eq', a[0], b));
      arity(op, a, 2);
      return compare(op, a[0], a[1]);
    });
  }

  // Prometheus.
  f.set('query', (a) => {
    arity('query', a, 1);
    if (!env.query) throw new Error('query is not available here');
    return env.query(String(a[0])).map((s) => new GoStruct('template.sample', { Labels: new Map(Object.entries(s.labels)), Value: s.value }));
  });
  f.set('first', (a) => {
    const v = a[0];
    if (Array.isArray(v) && v.length > 0) return v[0];
    throw new Error('first() called on vector with no elements');
  });
  f.set('label', (a) => {
    arity('label', a, 2);
    const s = sampleOf(a[1]);
    const m = s.fields.Labels as Map<string, string>;
    return m.get(String(a[0])) ?? '';
  });
  f.set('value', (a) => sampleOf(a[0]).fields.Value);
  f.set('strvalue', (a) => (sampleOf(a[0]).fields.Labels as Map<string, string>).get('__value__') ?? '');
  f.set('args', (a) => new Map(a.map((x, i) => [`arg${i}`, x])));
  f.set('reReplaceAll', (a) => {
    arity('reReplaceAll', a, 3);
    return replaceAllGo(compileGoRegex(String(a[0])), String(a[2]), String(a[1]));
  });
  f.set('safeHtml', (a) => String(a[0]));
  f.set('match', (a) => {
    arity('match', a, 2);
    return compileGoRegex(String(a[0])).matcher(String(a[1])).find();
  });
  f.set('title', (a) => String(a[0]).replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, pre: string, c: string) => pre + c.toUpperCase()));
  f.set('toUpper', (a) => String(a[0]).toUpperCase());
  f.set('toLower', (a) => String(a[0]).toLowerCase());
  f.set('graphLink', (a) => `/graph?g0.expr=${encodeURIComponent(String(a[0])).replace(/%20/g, '+')}&g0.tab=0`);
  f.set('tableLink', (a) => `/graph?g0.expr=${encodeURIComponent(String(a[0])).replace(/%20/g, '+')}&g0.tab=1`);
  f.set('sortByLabel', (a) => {
    const name = String(a[0]);
    const v = a[1];
    if (!Array.isArray(v)) throw new Error('sortByLabel needs a query result');
    const key = (s: unknown) => ((s as GoStruct).fields.Labels as Map<string, string>).get(name) ?? '';
    return [...v].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
  });
  f.set('humanize', (a) => humanize(a[0]));
  f.set('humanize1024', (a) => humanize1024(a[0]));
  f.set('humanizeDuration', (a) => humanizeDuration(a[0]));
  f.set('humanizePercentage', (a) => `${g4(toFloat(a[0]) * 100)}%`);
  f.set('humanizeTimestamp', (a) => humanizeTimestamp(a[0]));
  f.set('toTime', (a) => {
    const v = toFloat(a[0]);
    if (!Number.isFinite(v)) throw new Error(`${formatGoG(v)} cannot be represented as a nanoseconds timestamp since it overflows int64`);
    return new Date(v * 1000);
  });
  f.set('pathPrefix', () => (env.externalURL ? new URL(env.externalURL).pathname.replace(/\/$/, '') : ''));
  f.set('externalURL', () => env.externalURL ?? '');
  f.set('parseDuration', (a) => promDurationSeconds(String(a[0])));
  f.set('stripPort', (a) => stripPort(String(a[0])));
  f.set('stripDomain', (a) => {
    const hostPort = String(a[0]);
    const m = /^\[([^\]]*)\]:(\d*)$/.exec(hostPort) ?? /^([^:[\]]*):(\d*)$/.exec(hostPort);
    const host = m ? m[1]! : hostPort;
    if (isIP(host)) return hostPort;
    const short = host.split('.')[0]!;
    return m ? `${short.includes(':') ? `[${short}]` : short}:${m[2]}` : short;
  });
  return f;
}

/** The function names a template may use; anything else is a parse error, as in Prometheus. */
export const TEMPLATE_FUNCTION_NAMES: ReadonlySet<string> = new Set(templateFunctions({}).keys());
