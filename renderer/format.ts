// Number and time formatting for tables and charts.

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1e6 || (Math.abs(n) < 1e-3 && n !== 0)) return n.toExponential(3);
  return n.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

export function formatRate(perSecond: number): string {
  return `${formatNumber(Math.round(perSecond * 10) / 10)}/s`;
}

export function formatTime(iso: string | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

const SI_UP = ['', 'k', 'M', 'G', 'T', 'P', 'E'];
const SI_DOWN = ['', 'm', 'µ', 'n', 'p'];
const IEC = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** Trims a scaled number to at most 3 significant decimals without trailing zeros. */
function short(n: number): string {
  return String(Number(n.toPrecision(Math.abs(n) >= 100 ? 4 : 3)));
}

/**
 * A value for an axis or a table with its unit: SI prefixes (1.5 G, 250 m), binary ones for bytes
 * (1.5 GiB), durations in s/min/h/d. Always a few characters, never exponent soup like "00e+10".
 */
export function formatValue(v: number, unit = ''): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return unit ? `0 ${unit}` : '0';
  const a = Math.abs(v);
  if (unit === 'B' || unit === 'B/s') {
    let i = 0;
    while (Math.abs(v) >= 1024 && i < IEC.length - 1) (v /= 1024), i++;
    return `${short(v)} ${IEC[i]}${unit.slice(1)}`;
  }
  if (unit === 's' && a >= 60) {
    for (const [size, name] of [[86_400, 'd'], [3600, 'h'], [60, 'min']] as const) if (a >= size) return `${short(v / size)} ${name}`;
  }
  const sep = unit ? ' ' : '';
  if (a >= 1000) {
    let i = 0;
    while (Math.abs(v) >= 1000 && i < SI_UP.length - 1) (v /= 1000), i++;
    return `${short(v)}${sep}${SI_UP[i]}${unit}`;
  }
  if (a < 1) {
    let i = 0;
    while (Math.abs(v) < 1 && i < SI_DOWN.length - 1) (v *= 1000), i++;
    return `${short(v)}${sep}${SI_DOWN[i]}${unit}`;
  }
  return `${short(v)}${sep}${unit}`;
}

/**
 * The unit a metric's name states (Prometheus naming conventions): `_bytes` → B, `_seconds` → s,
 * also before `_total`, `_sum`, `_bucket`, `_created`. '' when the name says none.
 */
export function unitOfName(name: string): string {
  const m = /_(bytes|seconds)(?:_total|_sum|_bucket)?$/.exec(name);
  return m ? (m[1] === 'bytes' ? 'B' : 's') : '';
}

/** A Unix-seconds timestamp as local date and time with seconds (for tables of samples). */
export function formatTimestamp(seconds: number): string {
  const d = new Date(seconds * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const ms = Math.round((seconds % 1) * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${ms ? '.' + pad(ms, 3) : ''}`;
}
