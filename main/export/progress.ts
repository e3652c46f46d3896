// Export progress for a person: a redrawn bar on a terminal, plain lines now and then elsewhere
// (always on stderr, so stdout stays clean data).
import type { ExportProgress } from './export';

export interface ProgressView {
  update(p: ExportProgress): void;
  done(p: ExportProgress): void;
}

function count(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)}G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}

/** `series 120/5000  1.20M samples  250.0k/s  ETA 0:12`, after a bar as wide as the line allows. */
export function progressLine(p: ExportProgress, elapsedMs: number, columns: number): string {
  const secs = elapsedMs / 1000;
  const rate = secs > 0 ? p.samples / secs : 0;
  const frac = p.seriesTotal === 0 ? 1 : p.seriesDone / p.seriesTotal;
  const eta = frac > 0 && frac < 1 ? (secs / frac) * (1 - frac) : frac >= 1 ? 0 : NaN;
  const text = `series ${p.seriesDone}/${p.seriesTotal}  ${count(p.samples)} samples  ${count(Math.round(rate))}/s  ETA ${clock(eta)}`;
  const width = Math.min(40, columns - text.length - 3);
  if (width < 10) return text.slice(0, Math.max(0, columns - 1));
  const filled = Math.round(frac * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`;
}

/** A bar redrawn at most every `everyMs` on a terminal. */
export function terminalProgress(term: { columns: number; redraw(text: string): void }, now: () => number = Date.now, everyMs = 200): ProgressView {
  const started = now();
  let last = 0;
  return {
    update(p) {
      const t = now();
      if (t - last < everyMs) return;
      last = t;
      term.redraw(progressLine(p, t - started, term.columns));
    },
    done(p) {
      term.redraw(progressLine(p, now() - started, term.columns) + '\n');
    },
  };
}

/** Plain lines every `everyMs` (a log, a CI job): no carriage returns. */
export function lineProgress(say: (line: string) => void, now: () => number = Date.now, everyMs = 10_000): ProgressView {
  const started = now();
  let last = started;
  return {
    update(p) {
      const t = now();
      if (t - last < everyMs) return;
      last = t;
      say(`export: ${progressLine(p, t - started, 1000).replace(/^\[[#.]*\] /, '')}`);
    },
    done() {},
  };
}
