// PromQL label regexes with Go's exact semantics: matched by re2js (the RE2 port: Go's syntax,
// linear time whatever the pattern), anchored the way Prometheus anchors them (`^(?s:…)$`, so `.`
// also matches newlines). Prometheus's fast paths for the shapes dashboards use (literal
// alternations, `foo.*`, `.*foo.*`, `.*`, `.+`) skip the regex engine altogether.
import { RE2JS, RE2JSException } from 're2js';
import type { Matcher } from '../tsdb/types';

/** A compiled PromQL regex: `test` is a full (anchored) match; `exec` gives capture groups. */
export interface PromRegex {
  readonly pattern: string;
  /** Whether a fast path (no regex engine) answers test(). */
  readonly fast: boolean;
  test(value: string): boolean;
  /** Capture groups of a full match (index 0 = whole value, `groups` for named ones), or null. */
  exec(value: string): RegExpExecArray | null;
}

/** An invalid pattern, with Go's error text ("error parsing regexp: …"). */
export class RegexSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegexSyntaxError';
  }
}

// Compiled once per pattern across queries (parsing, the empty-match check and every select of a
// query share it). Bounded by entries and by the characters of the patterns kept, so hostile
// megabyte-sized patterns cannot pin memory.
const cache = new Map<string, PromRegex>();
const CACHE_ENTRIES = 1000;
const CACHE_CHARS = 4_000_000;
let cachedChars = 0;
/** Patterns up to this length also keep their fast-path analysis. */
const CACHE_PATTERN_CHARS = 4096;

/** Compiles a matcher pattern (not yet anchored). Throws RegexSyntaxError for an invalid one. */
export function compilePromRegex(pattern: string): PromRegex {
  let re = cache.get(pattern);
  if (re) return re;
  re = build(pattern);
  if (pattern.length <= CACHE_CHARS) {
    for (const [old] of cache) {
      if (cache.size < CACHE_ENTRIES && cachedChars + pattern.length <= CACHE_CHARS) break;
      cache.delete(old);
      cachedChars -= old.length;
    }
    cache.set(pattern, re);
    cachedChars += pattern.length;
  }
  return re;
}

/**
 * Longest pattern handed to the regex engine: re2js compiles at roughly 15–30 µs per character,
 * and compiling cannot be interrupted by the query timeout. Fast-path patterns (literal
 * alternations from dashboard variables, prefixes) have no such limit.
 */
export const MAX_ENGINE_PATTERN = 32_768;

function build(pattern: string): PromRegex {
  const fast = fastPath(pattern);
  let engine: RE2JS | null = null;
  const compiled = (): RE2JS => {
    if (engine) return engine;
    if (pattern.length > MAX_ENGINE_PATTERN) {
      throw new RegexSyntaxError(`regular expression too long: ${pattern.length} characters, at most ${MAX_ENGINE_PATTERN} (literal alternations like a|b|c may be longer)`);
    }
    try {
      engine = RE2JS.compile(anchorGo(pattern));
    } catch (e) {
      if (e instanceof RE2JSException) throw new RegexSyntaxError(e.message);
      throw e;
    }
    return engine;
  };
  if (!fast) compiled(); // validate now: errors belong to parsing, not to the first match
  return {
    pattern,
    fast: fast !== null,
    test: fast ?? ((v) => compiled().test(v)),
    // label_replace needs groups: the engine, compiled on first use for fast-path patterns.
    exec: (v) => compiled().exec(v) as RegExpExecArray | null,
  };
}

/** How Prometheus compiles a matcher's pattern (labels.NewFastRegexMatcher). */
function anchorGo(pattern: string): string {
  return `^(?s:${pattern})$`;
}

/**
 * A matcher's test of label values for one select: the compiled regex plus a cache of the answer
 * per distinct value (series share values; postings are checked value by value, candidates label
 * by label). Fast-path patterns need no cache.
 */
export function valueMatcher(re: PromRegex, negate: boolean): (value: string) => boolean {
  if (re.fast) return negate ? (v) => !re.test(v) : (v) => re.test(v);
  const seen = new Map<string, boolean>();
  return (v) => {
    let r = seen.get(v);
    if (r === undefined) {
      r = re.test(v) !== negate;
      if (seen.size >= 65_536) seen.clear(); // bounded: a select over millions of distinct values
      seen.set(v, r);
    }
    return r;
  };
}

const META = new Set('\\.+*?()|[]{}^$');

/** One alternative of a fast-path pattern: a literal with optional `.*` / `.+` on either side. */
interface Piece {
  before: '' | '.*' | '.+';
  lit: string;
  after: '' | '.*' | '.+';
}

const fastCache = new Map<string, ((v: string) => boolean) | null>();

/**
 * Prometheus's shortcuts (FastRegexMatcher): `a|b|c` → set lookup, `foo.*` → prefix, `.*foo` →
 * suffix, `.*foo.*` → contains, `.*` → true, `.+` → non-empty; an outer group `(a|b)` is looked
 * through. Null for anything else (classes, flags, quantifiers on other atoms).
 */
function fastPath(pattern: string): ((v: string) => boolean) | null {
  if (pattern.length > CACHE_PATTERN_CHARS) return fastPathOf(pattern);
  let f = fastCache.get(pattern);
  if (f === undefined) {
    f = fastPathOf(pattern);
    if (fastCache.size >= CACHE_ENTRIES) fastCache.delete(fastCache.keys().next().value!);
    fastCache.set(pattern, f);
  }
  return f;
}

function fastPathOf(pattern: string): ((v: string) => boolean) | null {
  let p = pattern;
  const group = /^\((?:\?:)?([^()]*)\)$/.exec(p);
  if (group) p = group[1]!;
  const pieces: Piece[] = [];
  let cur: Piece = { before: '', lit: '', after: '' };
  for (let i = 0; i <= p.length; i++) {
    const c = p[i];
    if (c === undefined || c === '|') {
      pieces.push(cur);
      cur = { before: '', lit: '', after: '' };
      continue;
    }
    if (c === '.' && (p[i + 1] === '*' || p[i + 1] === '+')) {
      const any = p[i + 1] === '*' ? '.*' : '.+';
      const atEnd = i + 2 >= p.length || p[i + 2] === '|';
      if (cur.lit === '' && cur.before === '') cur.before = any;
      else if (atEnd && cur.after === '') cur.after = any;
      else return null;
      i++;
      continue;
    }
    if (cur.after !== '') return null;
    if (c === '\\') {
      const n = p[i + 1];
      // Only escaped punctuation is a literal; \d, \z, \pL… are classes or assertions.
      if (n === undefined || /[\p{L}\p{N}\s]/u.test(n) || n.charCodeAt(0) > 127) return null;
      cur.lit += n;
      i++;
      continue;
    }
    if (META.has(c)) return null;
    cur.lit += c;
  }
  const tests = pieces.map(pieceTest);
  if (pieces.every((x) => x.before === '' && x.after === '')) {
    if (pieces.length === 1) {
      const lit = pieces[0]!.lit;
      return (v) => v === lit;
    }
    const set = new Set(pieces.map((x) => x.lit));
    return (v) => set.has(v);
  }
  return tests.length === 1 ? tests[0]! : (v) => tests.some((t) => t(v));
}

function pieceTest({ before, lit, after }: Piece): (v: string) => boolean {
  const n = lit.length;
  // A lone `.*` / `.+` lands in `before` with an empty literal.
  if (lit === '' && after === '') return before === '.*' ? () => true : before === '.+' ? (v) => v.length > 0 : (v) => v === '';
  if (before === '' && after === '') return (v) => v === lit;
  if (before === '' && after === '.*') return (v) => v.startsWith(lit);
  if (before === '' && after === '.+') return (v) => v.length > n && v.startsWith(lit);
  if (before === '.*' && after === '') return (v) => v.endsWith(lit);
  if (before === '.+' && after === '') return (v) => v.length > n && v.endsWith(lit);
  if (before === '.*' && after === '.*') return (v) => v.includes(lit);
  if (before === '.+' && after === '.+') return (v) => lastInner(v, lit);
  if (before === '.+' && after === '.*') return (v) => v.indexOf(lit, 1) >= 1;
  return (v) => v.length > n && v.lastIndexOf(lit, v.length - n - 1) >= 0; // `.*lit.+`
}

/** `.+lit.+`: some occurrence of lit with at least one char on each side. */
function lastInner(v: string, lit: string): boolean {
  for (let i = v.indexOf(lit, 1); i >= 1 && i + lit.length < v.length; i = v.indexOf(lit, i + 1)) return true;
  return false;
}

/** Strips the `^(?:…)$` anchoring that Matcher values carry for regex types. */
export function unanchor(value: string): string {
  return value.startsWith('^(?:') && value.endsWith(')$') ? value.slice(4, -2) : value;
}

/** Anchors a pattern the way Matcher values carry it. */
export function anchor(pattern: string): string {
  return `^(?:${pattern})$`;
}

/**
 * Hands the store a regex matcher's test precompiled (RE2 semantics, the query's compiled regex,
 * answers cached per label value): call once per select, the cache lives as long as the matcher.
 */
export function storeMatcher(m: Matcher): Matcher {
  if (m.type !== '=~' && m.type !== '!~') return m;
  return { ...m, matches: valueMatcher(compilePromRegex(unanchor(m.value)), m.type === '!~') };
}
