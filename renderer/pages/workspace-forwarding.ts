// A workspace's forwarding destinations (data leaving this machine) and how each is doing: the
// receiver's host only (never a path, query or credential), the protocol, the lag, samples
// sent/failed/retried/dropped and the last error. Refreshed every few seconds while the page is
// open, re-rendered only when something changed (a refresh never moves the keyboard focus).
import type { ForwardDestinationStatus } from '../../shared/api';
import type { AppContext } from '../context';
import { h, replace } from '../dom';
import { formatNumber, formatTime } from '../format';
import { badge, table } from '../ui';

const REFRESH_MS = 5000;

/** The receiver's host (and port): what the user needs to recognise it, nothing that could be secret. */
export function receiverHost(url: string): string {
  try {
    return new URL(url).host || '—';
  } catch {
    return '—';
  }
}

/** Seconds behind as a person reads it: 0 s, 4.2 s, 3 min 10 s, 2 h 5 min. */
export function formatLag(seconds: number): string {
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1).replace(/\.0$/, '') : Math.round(seconds)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

function droppedCell(s: ForwardDestinationStatus): HTMLElement {
  const reasons = Object.entries(s.samples.droppedByReason);
  const text = formatNumber(s.samples.dropped);
  return reasons.length ? h('span', { title: reasons.map(([r, n]) => `${r}: ${n}`).join('\n') }, text) : h('span', null, text);
}

function rows(list: readonly ForwardDestinationStatus[]): HTMLElement {
  return table(
    ['Destination', 'Receiver', 'Protocol', 'State', 'Lag', 'Sent', 'Failed', 'Retried', 'Dropped', 'Last error'],
    list.map((s) => [
      h('span', { class: 'strong' }, s.name),
      h('code', null, receiverHost(s.url)),
      s.protocol === 'unknown' ? '—' : `remote write ${s.protocol}`,
      badge(s.state),
      formatLag(s.lagSeconds),
      formatNumber(s.samples.sent),
      formatNumber(s.samples.failed),
      formatNumber(s.samples.retried),
      droppedCell(s),
      s.lastError ? h('span', { class: 'forward-error' }, `${formatTime(s.lastError.at)}: ${s.lastError.message}`) : '—',
    ]),
    'This workspace forwards nothing: its data stays on this machine. Add a destination with the command: ampule forward add.',
  );
}

/** The Forwarding section's content, kept up to date until `dispose`. */
export function forwardingSection(ctx: AppContext, workspaceId: string): { el: HTMLElement; dispose(): void } {
  const body = h('div', { class: 'table-scroll', 'aria-live': 'polite' });
  const el = h('div', null, h('p', { class: 'hint' }, 'Remote-write receivers this workspace forwards its committed samples to, over TLS.'), body);
  let shown = '';
  const load = async (): Promise<void> => {
    let view: HTMLElement;
    let key: string;
    try {
      const list = await ctx.api.forwardingStatus(workspaceId);
      key = JSON.stringify(list);
      view = rows(list);
    } catch (e) {
      key = `error:${(e as Error).message}`;
      view = h('p', { class: 'form-error' }, `Forwarding status not available: ${(e as Error).message}`);
    }
    if (key === shown) return;
    shown = key;
    replace(body, view);
  };
  void load();
  const timer = setInterval(() => void load(), REFRESH_MS);
  return {
    el,
    dispose() {
      clearInterval(timer);
    },
  };
}
