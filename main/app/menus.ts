// The tray's and the application menu's contents as plain templates (Electron's
// MenuItemConstructorOptions), so tests can read them without Electron.
import type { MenuItemConstructorOptions } from 'electron';
import type { CoreStatus } from '../worker/protocol';

export interface MenuActions {
  show(): void;
  quit(): void;
  /** Opens a documentation link in the browser (vetted by isVettedExternalUrl first). */
  openLink(url: string): void;
}

export const HELP_LINKS: readonly { readonly label: string; readonly url: string }[] = [
  { label: 'Prometheus remote_write configuration', url: 'https://prometheus.io/docs/prometheus/latest/configuration/configuration/#remote_write' },
  { label: 'Grafana: Prometheus data source', url: 'https://grafana.com/docs/grafana/latest/datasources/prometheus/' },
  { label: 'Amazon Managed Service for Prometheus: data protection', url: 'https://docs.aws.amazon.com/prometheus/latest/userguide/data-protection.html' },
];

function rate(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1);
}

/** One line for the tray tooltip and the first (disabled) tray menu item. */
export function statusLine(status: CoreStatus | null, problem: string | null = null): string {
  if (problem) return `Ampule — ${problem}`;
  if (!status) return 'Ampule — starting…';
  const ws = `${status.workspaces} workspace${status.workspaces === 1 ? '' : 's'}`;
  return `Ampule — ${rate(status.samplesPerSecond)} samples/s · ${ws}${status.listenUrl ? '' : ' · listener off'}`;
}

export function trayMenuTemplate(line: string, actions: Pick<MenuActions, 'show' | 'quit'>): MenuItemConstructorOptions[] {
  return [
    { label: line, enabled: false },
    { type: 'separator' },
    { label: 'Show Ampule', click: () => actions.show() },
    { label: 'Quit Ampule', click: () => actions.quit() },
  ];
}

export function appMenuTemplate(isMac: boolean, devTools: boolean, actions: MenuActions): MenuItemConstructorOptions[] {
  const view: MenuItemConstructorOptions[] = [
    { role: 'reload' },
    ...(devTools ? [{ role: 'toggleDevTools' } as const] : []),
    { type: 'separator' },
    { role: 'resetZoom' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
    { type: 'separator' },
    { role: 'togglefullscreen' },
  ];
  return [
    ...(isMac ? [{ role: 'appMenu' } as const] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Show Ampule', accelerator: 'CmdOrCtrl+1', click: () => actions.show() },
        { role: 'close', label: 'Close Window (keeps ingesting)' },
        { type: 'separator' },
        { label: 'Quit Ampule', accelerator: 'CmdOrCtrl+Q', click: () => actions.quit() },
      ],
    },
    { role: 'editMenu' },
    { label: 'View', submenu: view },
    { role: 'windowMenu' },
    { role: 'help', submenu: HELP_LINKS.map((l) => ({ label: l.label, click: () => actions.openLink(l.url) })) },
  ];
}
