// Go string literal handling for PromQL: unquoting (Go escapes, bytes that are not valid UTF-8
// kept as lone surrogates U+DC00+byte, as Python's surrogateescape does) and %q-style quoting.

export class StringSyntaxError extends Error {}

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, "'": 39, '"': 34 };

/** Unquotes a PromQL string token ("…", '…' or `…`). */
export function unquoteString(tok: string): string {
  const q = tok[0];
  if (tok.length < 2 || tok[tok.length - 1] !== q) throw new StringSyntaxError('unterminated quoted string');
  const body = tok.slice(1, -1);
  if (q === '`') return body;
  if (!body.includes('\\')) return body;
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < body.length; ) {
    const c = body[i]!;
    if (c !== '\\') {
      const cp = body.codePointAt(i)!;
      const s = String.fromCodePoint(cp);
      for (const b of enc.encode(s)) bytes.push(b);
      i += s.length;
      continue;
    }
    const e = body[i + 1];
    if (e === undefined) throw new StringSyntaxError('invalid syntax');
    if (e in SIMPLE_ESCAPES) {
      if ((e === "'" && q === '"') || (e === '"' && q === "'")) throw new StringSyntaxError('invalid syntax');
      bytes.push(SIMPLE_ESCAPES[e]!);
      i += 2;
    } else if (e === 'x') {
      const h = body.slice(i + 2, i + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new StringSyntaxError('invalid syntax');
      bytes.push(parseInt(h, 16));
      i += 4;
    } else if (e >= '0' && e <= '7') {
      const o = body.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(o) || parseInt(o, 8) > 255) throw new StringSyntaxError('invalid syntax');
      bytes.push(parseInt(o, 8));
      i += 4;
    } else if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      const h = body.slice(i + 2, i + 2 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) throw new StringSyntaxError('invalid syntax');
      const cp = parseInt(h, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) throw new StringSyntaxError('invalid syntax');
      for (const b of enc.encode(String.fromCodePoint(cp))) bytes.push(b);
      i += 2 + n;
    } else {
      throw new StringSyntaxError('invalid syntax');
    }
  }
  return decodeBytes(bytes);
}

/** UTF-8 decode; each byte outside a valid sequence becomes U+DC00+byte. */
function decodeBytes(bytes: number[]): string {
  const u8 = Uint8Array.from(bytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(u8);
  } catch {
    let out = '';
    let i = 0;
    while (i < u8.length) {
      let ok = false;
      for (let len = 1; len <= 4 && i + len <= u8.length; len++) {
        try {
          out += new TextDecoder('utf-8', { fatal: true }).decode(u8.subarray(i, i + len));
          i += len;
          ok = true;
          break;
        } catch {
          /* try a longer sequence */
        }
      }
      if (!ok) out += String.fromCharCode(0xdc00 + u8[i++]!);
    }
    return out;
  }
}

/** Whether the string holds valid UTF-8 text (no escaped invalid bytes, no lone surrogates). */
export function isValidUtf8(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/** Go's %q: double-quoted with escapes; escaped invalid bytes print as \xNN. */
export function quoteGo(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xdc80 && cp <= 0xdcff) out += '\\x' + (cp - 0xdc00).toString(16).padStart(2, '0');
    else if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/** Whether a label name is valid (Prometheus 3: any non-empty valid UTF-8). */
export function isValidLabelName(name: string): boolean {
  return name.length > 0 && isValidUtf8(name);
}

/** Whether a name needs quoting in selectors/grouping (not a legacy identifier). */
export function isLegacyLabelName(name: string): boolean {
  return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name);
}

export function isLegacyMetricName(name: string): boolean {
  return /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name);
}

/** Long input quoted in an error message: its start only. */
export function clip(s: string, max = 100): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
