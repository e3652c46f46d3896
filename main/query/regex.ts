// Prometheus (Go RE2) label regexes in JavaScript: fully anchored, `.` matches newlines, and RE2's
// inline flags (`(?i)…`, `(?i:…)`), which V8 in Node 20 lacks, rewritten as explicit case classes.

const cache = new Map<string, RegExp>();

/**
 * Compiles a matcher pattern (not yet anchored). Throws SyntaxError for an invalid pattern, and
 * UnsafeRegexError for one JavaScript's backtracking engine could take exponential time on.
 */
export function compilePromRegex(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  const js = toJsRegex(pattern);
  re = new RegExp(`^(?:${js})$`, 's');
  assertLinearEnough(js);
  if (cache.size > 1000) cache.clear();
  cache.set(pattern, re);
  return re;
}

const POSIX: Record<string, string> = {
  alpha: 'A-Za-z', digit: '0-9', alnum: 'A-Za-z0-9', upper: 'A-Z', lower: 'a-z',
  space: '\\t\\n\\v\\f\\r ', word: 'A-Za-z0-9_', xdigit: '0-9A-Fa-f', punct: '!-\\/:-@\\[-`{-~',
};

function caseClass(ch: string): string {
  const lo = ch.toLowerCase(), up = ch.toUpperCase();
  return lo === up ? ch : `[${lo}${up}]`;
}

/** Rewrites RE2-only syntax into an equivalent JavaScript pattern (same capture groups). */
export function toJsRegex(p: string): string {
  let out = '';
  // Case-insensitivity per open group; the top level is index 0.
  const stack: boolean[] = [false];
  const ci = (): boolean => stack[stack.length - 1]!;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      const n = p[i + 1] ?? '';
      if (n === 'z') out += '$';
      else if (n === 'A') out += '^';
      else if (n === 'Q') {
        const end = p.indexOf('\\E', i + 2);
        const lit = p.slice(i + 2, end < 0 ? p.length : end);
        out += [...lit].map((x) => (/[a-zA-Z]/.test(x) && ci() ? caseClass(x) : x.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))).join('');
        i = end < 0 ? p.length : end + 1;
        continue;
      } else if (/[a-zA-Z]/.test(n) && ci() && !/[dDwWsSbBpPxuntrfv0-9]/.test(n)) out += caseClass(n);
      else out += c + n;
      i++;
      continue;
    }
    if (c === '[') {
      let j = i + 1;
      let body = '';
      if (p[j] === '^') {
        body += '^';
        j++;
      }
      if (p[j] === ']') {
        body += '\\]';
        j++;
      }
      while (j < p.length && p[j] !== ']') {
        if (p.startsWith('[:', j)) {
          const end = p.indexOf(':]', j);
          const name = p.slice(j + 2, end);
          body += POSIX[name] ?? p.slice(j, end + 2);
          j = end + 2;
          continue;
        }
        if (p[j] === '\\') {
          body += p.slice(j, j + 2);
          j += 2;
          continue;
        }
        const x = p[j]!;
        if (ci() && p[j + 1] === '-' && p[j + 2] && p[j + 2] !== ']') {
          const y = p[j + 2]!;
          body += `${x}-${y}`;
          if (/[a-z]/.test(x) && /[a-z]/.test(y)) body += `${x.toUpperCase()}-${y.toUpperCase()}`;
          else if (/[A-Z]/.test(x) && /[A-Z]/.test(y)) body += `${x.toLowerCase()}-${y.toLowerCase()}`;
          j += 3;
          continue;
        }
        body += ci() && /[a-zA-Z]/.test(x) ? x.toLowerCase() + x.toUpperCase() : x === '[' ? '\\[' : x;
        j++;
      }
      out += `[${body}]`;
      i = j;
      continue;
    }
    if (c === '(') {
      const flags = /^\(\?([imsU-]+)(\)|:)/.exec(p.slice(i));
      if (flags) {
        const on = flags[1]!.split('-')[0]!.includes('i');
        const off = (flags[1]!.split('-')[1] ?? '').includes('i');
        const mode = on ? true : off ? false : ci();
        if (flags[2] === ')') {
          stack[stack.length - 1] = mode; // applies to the rest of the enclosing group
        } else {
          stack.push(mode);
          out += '(?:';
        }
        i += flags[0].length - 1;
        continue;
      }
      if (p.startsWith('(?P<', i)) {
        stack.push(ci());
        out += '(?<';
        i += 3;
        continue;
      }
      stack.push(ci());
      out += c;
      continue;
    }
    if (c === ')') {
      if (stack.length > 1) stack.pop();
      out += c;
      continue;
    }
    out += ci() && /[a-zA-Z]/.test(c) ? caseClass(c) : c;
  }
  return out;
}

/** Strips the `^(?:…)$` anchoring that Matcher values carry for regex types. */
export function unanchor(value: string): string {
  return value.startsWith('^(?:') && value.endsWith(')$') ? value.slice(4, -2) : value;
}

/** Anchors a pattern the way Matcher values carry it. */
export function anchor(pattern: string): string {
  return `^(?:${pattern})$`;
}

/** A pattern refused because it could make matching run for minutes (catastrophic backtracking). */
export class UnsafeRegexError extends Error {
  constructor(reason: string) {
    super(`${reason}; Ampule matches with a backtracking engine and refuses patterns that could hang it, rewrite it without that construct`);
    this.name = 'UnsafeRegexError';
  }
}

/** Most unbounded quantifiers (*, +, {n,}) one pattern may hold: matching time grows as length^count. */
const MAX_UNBOUNDED = 4;

/** Chars an atom can start with: ASCII bitmap plus whether any non-ASCII char can match. */
interface FirstSet {
  ascii: Uint8Array;
  other: boolean;
}

interface Atom {
  first: FirstSet | null; // null: zero-width (anchors, \b)
  min: number;
  max: number;
  /** For groups: the alternatives, each a sequence of atoms. */
  alts: Atom[][] | null;
}

const anySet = (): FirstSet => ({ ascii: new Uint8Array(128).fill(1), other: true });

function classSet(cls: string): FirstSet {
  const re = new RegExp(cls, 's');
  const ascii = new Uint8Array(128);
  for (let c = 0; c < 128; c++) ascii[c] = re.test(String.fromCharCode(c)) ? 1 : 0;
  return { ascii, other: re.test('\u00e9') || re.test('\u4e00') };
}

function charSet(ch: string): FirstSet {
  const code = ch.charCodeAt(0);
  const ascii = new Uint8Array(128);
  if (code < 128) ascii[code] = 1;
  return { ascii, other: code >= 128 };
}

/**
 * Rejects the shapes that backtrack catastrophically in JavaScript but run in linear time in Go's
 * RE2: nested quantifiers under an unbounded one (`(a+)+`), unbounded repetition of alternatives
 * that can start alike or match empty (`(a|ab)*`, `(a|)*`), too many unbounded quantifiers
 * (`.*.*.*.*.*x`), and RE2-unsupported backreferences and lookarounds. `js` is toJsRegex output.
 */
export function assertLinearEnough(js: string): void {
  let i = 0;
  let unbounded = 0;
  const peek = (): string | undefined => js[i];

  const quantify = (atom: Atom): Atom => {
    const c = peek();
    const brace = c === '{' ? /^\{(\d+)(,(\d*))?\}/.exec(js.slice(i)) : null;
    if (c === '*') [atom.min, atom.max] = [0, Infinity];
    else if (c === '+') [atom.min, atom.max] = [1, Infinity];
    else if (c === '?') [atom.min, atom.max] = [0, 1];
    else if (brace) {
      atom.min = Number(brace[1]);
      atom.max = brace[2] === undefined ? atom.min : brace[3] === '' ? Infinity : Number(brace[3]);
    } else return atom;
    i += brace ? brace[0].length : 1;
    if (peek() === '?') i++; // lazy: same backtracking
    if (atom.max === Infinity && ++unbounded > MAX_UNBOUNDED) throw new UnsafeRegexError(`more than ${MAX_UNBOUNDED} unbounded quantifiers (*, +, {n,})`);
    if (atom.alts && atom.max > 10) checkRepeatedGroup(atom.alts);
    return atom;
  };

  const alternatives = (): Atom[][] => {
    const alts: Atom[][] = [sequence()];
    while (peek() === '|') {
      i++;
      alts.push(sequence());
    }
    return alts;
  };

  const sequence = (): Atom[] => {
    const seq: Atom[] = [];
    while (i < js.length && peek() !== '|' && peek() !== ')') seq.push(quantify(atom()));
    return seq;
  };

  const atom = (): Atom => {
    const c = js[i]!;
    if (c === '(') {
      i++;
      if (js.startsWith('?=', i) || js.startsWith('?!', i) || js.startsWith('?<=', i) || js.startsWith('?<!', i)) {
        throw new UnsafeRegexError('lookahead and lookbehind are not supported (RE2 syntax)');
      }
      if (js.startsWith('?:', i)) i += 2;
      else if (js.startsWith('?<', i)) i = js.indexOf('>', i) + 1;
      const alts = alternatives();
      i++; // ')'
      return { first: groupFirst(alts), min: 1, max: 1, alts };
    }
    if (c === '[') {
      let j = i + 1;
      if (js[j] === '^') j++;
      if (js[j] === ']') j++;
      while (j < js.length && js[j] !== ']') j += js[j] === '\\' ? 2 : 1;
      const cls = js.slice(i, j + 1);
      i = j + 1;
      return { first: classSet(cls), min: 1, max: 1, alts: null };
    }
    if (c === '\\') {
      const n = js[i + 1] ?? '';
      i += 2;
      if (/[1-9]/.test(n)) throw new UnsafeRegexError('backreferences are not supported (RE2 syntax)');
      if (n === 'b' || n === 'B') return { first: null, min: 1, max: 1, alts: null };
      if (/[dDwWsS]/.test(n)) return { first: classSet(`\\${n}`), min: 1, max: 1, alts: null };
      if (/[a-zA-Z0-9]/.test(n)) return { first: anySet(), min: 1, max: 1, alts: null }; // \x.., \u.., \p{..}: conservatively any
      return { first: charSet(n), min: 1, max: 1, alts: null };
    }
    i++;
    if (c === '^' || c === '$') return { first: null, min: 1, max: 1, alts: null };
    if (c === '.') return { first: anySet(), min: 1, max: 1, alts: null };
    return { first: charSet(c), min: 1, max: 1, alts: null };
  };

  alternatives();
}

/** The chars a sequence can start with (looking past optional and zero-width atoms); null when it can match empty. */
function sequenceFirst(seq: Atom[]): FirstSet | null {
  const acc: FirstSet = { ascii: new Uint8Array(128), other: false };
  for (const a of seq) {
    if (!a.first) {
      if (a.alts && a.min > 0) return null; // an empty group
      continue;
    }
    for (let c = 0; c < 128; c++) acc.ascii[c] = acc.ascii[c]! | a.first.ascii[c]!;
    acc.other ||= a.first.other;
    if (a.min > 0 && !(a.alts && a.alts.some((s) => sequenceFirst(s) === null))) return acc;
  }
  return null;
}

function groupFirst(alts: Atom[][]): FirstSet | null {
  const acc: FirstSet = { ascii: new Uint8Array(128), other: false };
  for (const s of alts) {
    const f = sequenceFirst(s);
    if (!f) return null;
    for (let c = 0; c < 128; c++) acc.ascii[c] = acc.ascii[c]! | f.ascii[c]!;
    acc.other ||= f.other;
  }
  return acc;
}

const variable = (a: Atom): boolean => a.min !== a.max || (a.alts?.some((s) => s.some(variable)) ?? false);

function overlaps(a: FirstSet, b: FirstSet): boolean {
  if (a.other && b.other) return true;
  for (let c = 0; c < 128; c++) if (a.ascii[c] && b.ascii[c]) return true;
  return false;
}

/** A group repeated without (or with a large) bound: its body must match one way per repetition. */
function checkRepeatedGroup(alts: Atom[][]): void {
  if (alts.some((s) => s.some(variable))) throw new UnsafeRegexError('nested quantifiers inside a repeated group, like (a+)+');
  const firsts = alts.map(sequenceFirst);
  if (firsts.some((f) => f === null)) throw new UnsafeRegexError('a repeated group that can match the empty string, like (a|)*');
  for (let x = 0; x < firsts.length; x++) {
    for (let y = x + 1; y < firsts.length; y++) {
      if (overlaps(firsts[x]!, firsts[y]!)) throw new UnsafeRegexError('a repeated group whose alternatives can start with the same character, like (a|ab)*');
    }
  }
}
