// Prometheus durations (`1h30m`, `5m`, `0`) and number literals (Go float/int syntax).

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };
const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNITS = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];

/** Parses a Prometheus duration to ms, or returns null when the text is not one. */
export function parseDuration(text: string): number | null {
  if (text === '0') return 0;
  if (text === '') return null;
  const m = DURATION_RE.exec(text);
  if (!m) return null;
  let ms = 0;
  for (let i = 0; i < UNITS.length; i++) {
    const g = m[i + 1];
    if (g !== undefined) ms += Number(g) * UNIT_MS[UNITS[i]!]!;
  }
  return ms;
}

/** Prometheus's duration formatting (model.Duration.String). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let out = '';
  let rest = ms;
  if (rest < 0) {
    out = '-';
    rest = -rest;
  }
  for (const u of UNITS) {
    const size = UNIT_MS[u]!;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${u}`;
      rest -= n * size;
    }
  }
  return out;
}

/** Go ParseFloat / ParseInt(base 0)-like number parsing used by PromQL and the test format. */
export function parseNumber(text: string): number | null {
  let t = text.trim();
  let sign = 1;
  if (t.startsWith('+')) t = t.slice(1);
  else if (t.startsWith('-')) {
    sign = -1;
    t = t.slice(1);
  }
  const lower = t.toLowerCase();
  if (lower === 'inf' || lower === 'infinity') return sign * Infinity;
  if (lower === 'nan') return NaN;
  if (/^0x[0-9a-f]+$/i.test(t)) return sign * parseInt(t.slice(2), 16);
  if (/^0o[0-7]+$/i.test(t)) return sign * parseInt(t.slice(2), 8);
  if (/^0b[01]+$/i.test(t)) return sign * parseInt(t.slice(2), 2);
  if (/^0[0-7]+$/.test(t)) return sign * parseInt(t, 8);
  const u = t.replace(/(\d)_(?=\d)/g, '$1');
  if (!/^(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i.test(u)) return null;
  return sign * Number(u);
}
