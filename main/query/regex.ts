// Prometheus (Go RE2) label regexes in JavaScript: fully anchored, `.` matches newlines, and RE2's
// inline flags (`(?i)…`, `(?i:…)`), which V8 in Node 20 lacks, rewritten as explicit case classes.

const cache = new Map<string, RegExp>();

/** Compiles a matcher pattern (not yet anchored). Throws SyntaxError for an invalid pattern. */
export function compilePromRegex(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  re = new RegExp(`^(?:${toJsRegex(pattern)})$`, 's');
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
