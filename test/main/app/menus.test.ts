// Tray and application menu contents, and the icon they show.
import { describe, expect, it } from 'vitest';
import { drawIcon, rgbaToBgra } from '../../../main/app/icon';
import { HELP_LINKS, appMenuTemplate, statusLine, trayMenuTemplate } from '../../../main/app/menus';
import { isVettedExternalUrl } from '../../../main/app/security';

describe('tray', () => {
  it('shows the ingestion rate and workspace count', () => {
    expect(statusLine({ workspaces: 2, samplesPerSecond: 1234.4, listenUrl: 'https://localhost:9443' })).toBe('Ampule — 1,234 samples/s · 2 workspaces');
    expect(statusLine({ workspaces: 1, samplesPerSecond: 0.25, listenUrl: null })).toBe('Ampule — 0.3 samples/s · 1 workspace · listener off');
    expect(statusLine(null)).toBe('Ampule — starting…');
    expect(statusLine(null, 'core error')).toBe('Ampule — core error');
  });
  it('offers Show and Quit under the status line', () => {
    const done: string[] = [];
    const items = trayMenuTemplate('line', { show: () => done.push('show'), quit: () => done.push('quit') });
    expect(items[0]).toMatchObject({ label: 'line', enabled: false });
    const byLabel = new Map(items.map((i) => [i.label, i]));
    (byLabel.get('Show Ampule')!.click as () => void)();
    (byLabel.get('Quit Ampule')!.click as () => void)();
    expect(done).toEqual(['show', 'quit']);
  });
});

describe('application menu', () => {
  const actions = { show() {}, quit() {}, openLink() {} };
  it('has DevTools only when allowed', () => {
    const find = (devTools: boolean) => JSON.stringify(appMenuTemplate(false, devTools, actions)).includes('toggleDevTools');
    expect(find(false)).toBe(false);
    expect(find(true)).toBe(true);
  });
  it('links only to vetted documentation', () => {
    for (const l of HELP_LINKS) expect(isVettedExternalUrl(l.url), l.url).toBe(true);
  });
});

describe('icon', () => {
  it('draws an opaque shape on a transparent background', () => {
    const px = drawIcon(32);
    expect(px.length).toBe(32 * 32 * 4);
    expect(px[3]).toBe(0); // top-left corner transparent
    const centre = (20 * 32 + 16) * 4;
    expect(px[centre + 3]).toBe(255);
    const bgra = rgbaToBgra(px);
    expect([bgra[centre], bgra[centre + 2]]).toEqual([px[centre + 2], px[centre]]);
  });
});
