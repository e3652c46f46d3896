// Go's fmt for the values templates print: %v of float64 (strconv 'g', shortest), %e/%f/%g with a
// precision, and a printf covering the verbs alert templates use (%s %d %f %e %g %v %q %x %t %%).

/** Go strconv.FormatFloat(v, 'g', prec, 64); prec -1 is the shortest representation. */
export function formatGoG(v: number, prec = -1): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (prec === 0) prec = 1;
  const neg = v < 0 || Object.is(v, -0);
  const a = Math.abs(v);
  const e = prec < 0 ? a.toExponential() : a.toExponential(prec - 1);
  const [mant, expS] = e.split('e') as [string, string];
  const digits = mant.replace('.', '').replace(/0+$/, '') || '0';
  const exp = Number(expS);
  const eprec = prec < 0 ? 6 : prec;
  let out: string;
  if (a !== 0 && (exp < -4 || exp >= eprec)) {
    out = (digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits) + goExp(exp);
  } else {
    out = placeDigits(digits, a === 0 ? 1 : exp + 1);
  }
  return (neg ? '-' : '') + out;
}

function goExp(exp: number): string {
  const s = String(Math.abs(exp)).padStart(2, '0');
  return `e${exp < 0 ? '-' : '+'}${s}`;
}

/** Digits with the decimal point after `dp` of them. */
function placeDigits(digits: string, dp: number): string {
  if (dp <= 0) return `0.${'0'.repeat(-dp)}${digits}`;
  if (dp >= digits.length) return digits + '0'.repeat(dp - digits.length);
  return `${digits.slice(0, dp)}.${digits.slice(dp)}`;
}

/** Go %e with a precision (default 6). */
export function formatGoE(v: number, prec = 6): string {
  if (!Number.isFinite(v)) return formatGoG(v);
  const [mant, expS] = Math.abs(v).toExponential(prec).split('e') as [string, string];
  return (v < 0 || Object.is(v, -0) ? '-' : '') + mant + goExp(Number(expS));
}

/** Go %f with a precision (default 6). */
export function formatGoF(v: number, prec = 6): string {
  if (!Number.isFinite(v)) return formatGoG(v);
  if (Math.abs(v) < 1e21) {
    // Go rounds an exact tie to even; toFixed rounds it up (away from zero).
    const scaled = Math.abs(v) * 10 ** prec;
    if (scaled % 1 === 0.5 && scaled < 2 ** 52) {
      const down = Math.floor(scaled);
      const n = down % 2 === 0 ? down : down + 1;
      const digits = String(n).padStart(prec + 1, '0');
      const body = prec > 0 ? `${digits.slice(0, -prec)}.${digits.slice(-prec)}` : digits;
      return (v < 0 || Object.is(v, -0) ? '-' : '') + body;
    }
    return (Object.is(v, -0) ? '-' : '') + v.toFixed(prec);
  }
  const s = BigInt(Math.round(v)).toString();
  return prec > 0 ? `${s}.${'0'.repeat(prec)}` : s;
}

export type PrintArg = unknown;

/** fmt.Sprintf for the verbs templates use; `str` prints any value as %v would. */
export function goSprintf(format: string, args: PrintArg[], str: (v: unknown) => string): string {
  let out = '';
  let n = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== '%') { out += c; continue; }
    const m = /^%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])/.exec(format.slice(i));
    if (!m) { out += '%!(NOVERB)'; break; }
    i += m[0].length - 1;
    const flags = m[1]!;
    const verb = m[4]!;
    if (verb === '%') { out += '%'; continue; }
    let width = m[2] === '*' ? Number(args[n++]) : m[2] ? Number(m[2]) : -1;
    const precRaw = m[0].includes('.') ? (m[3] === '*' ? String(args[n++]) : (m[3] ?? '0')) : null;
    const prec = precRaw === null ? -1 : Number(precRaw);
    if (n >= args.length) { out += `%!${verb}(MISSING)`; continue; }
    const a = args[n++];
    let s: string;
    const num = typeof a === 'bigint' ? a : typeof a === 'number' ? a : null;
    switch (verb) {
      case 'v': s = str(a); break;
      case 's': s = typeof a === 'string' ? a : str(a); if (prec >= 0) s = [...s].slice(0, prec).join(''); break;
      case 'q': s = typeof a === 'string' ? JSON.stringify(a) : `%!q(${str(a)})`; break;
      case 't': s = typeof a === 'boolean' ? String(a) : `%!t(${str(a)})`; break;
      case 'd':
        s = typeof a === 'bigint' ? a.toString() : `%!d(${typeName(a)}=${str(a)})`;
        if (typeof a === 'bigint' && flags.includes('+') && a >= 0n) s = '+' + s;
        break;
      case 'x': case 'X':
        if (typeof a === 'bigint') s = (a < 0n ? '-' : '') + (a < 0n ? -a : a).toString(16);
        else if (typeof a === 'string') s = Buffer.from(a, 'utf8').toString('hex');
        else s = `%!${verb}(${typeName(a)}=${str(a)})`;
        if (verb === 'X') s = s.toUpperCase();
        break;
      case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': {
        if (typeof num !== 'number') { s = `%!${verb}(${typeName(a)}=${str(a)})`; break; }
        const f = num;
        s = verb === 'f' || verb === 'F' ? formatGoF(f, prec < 0 ? 6 : prec) : verb === 'e' || verb === 'E' ? formatGoE(f, prec < 0 ? 6 : prec) : formatGoG(f, prec);
        if (verb === 'E' || verb === 'G') s = s.toUpperCase();
        if (flags.includes('+') && !s.startsWith('-') && !s.startsWith('+')) s = '+' + s;
        else if (flags.includes(' ') && !s.startsWith('-') && !s.startsWith('+')) s = ' ' + s;
        break;
      }
      default: s = `%!${verb}(${typeName(a)}=${str(a)})`;
    }
    if (width > s.length) {
      if (flags.includes('-')) s = s.padEnd(width);
      else if (flags.includes('0') && 'dfFeEgGxX'.includes(verb) && /^[+-]?\d/.test(s)) {
        const sign = /^[+-]/.test(s) ? s[0]! : '';
        s = sign + s.slice(sign.length).padStart(width - sign.length, '0');
      } else s = s.padStart(width);
    }
    out += s;
    width = -1;
  }
  if (n < args.length) out += `%!(EXTRA ${args.slice(n).map((a) => `${typeName(a)}=${str(a)}`).join(', ')})`;
  return out;
}

export function typeName(a: unknown): string {
  if (typeof a === 'bigint') return 'int';
  if (typeof a === 'number') return 'float64';
  if (typeof a === 'string') return 'string';
  if (typeof a === 'boolean') return 'bool';
  if (a === null || a === undefined) return '<nil>';
  if (a instanceof Map) return 'map[string]string';
  if (Array.isArray(a)) return '[]interface {}';
  return 'struct';
}
