// The application shell: sidebar navigation and a hash router (#/workspaces, #/workspaces/<id>[/rules],
// #/explore[/<id>][?range=…&q=…], #/protection). Each page cleans up its timers and charts when left.
import type { AmpuleApi } from '../shared/api';
import type { AppContext, Page } from './context';
import { h, replace } from './dom';
import { explorePage } from './pages/explore';
import { protectionPage } from './pages/protection';
import { rulesPage } from './pages/rules';
import { workspaceDetailPage } from './pages/workspace-detail';
import { workspacesPage } from './pages/workspaces';

const NAV: readonly [string, string][] = [
  ['#/workspaces', 'Workspaces'],
  ['#/explore', 'Explore'],
  ['#/protection', 'Data protection'],
];

/** Shows the app in `root`; returns a function that tears it down (sign-out). */
export function startApp(root: HTMLElement, api: AmpuleApi, signOut?: () => void): () => void {
  const main = h('main', { id: 'main', class: 'content', tabindex: -1 });
  const links = NAV.map(([href, label]) => h('a', { href, class: 'nav-link' }, label));
  const sidebar = h(
    'nav',
    { class: 'sidebar', 'aria-label': 'Main' },
    h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }), 'Ampule'),
    ...links,
    h('div', { class: 'spacer' }),
    signOut ? h('button', { type: 'button', class: 'nav-link signout', onclick: signOut }, 'Sign out') : null,
  );
  replace(root, h('a', { href: '#main', class: 'skip-link' }, 'Skip to content'), h('div', { class: 'shell' }, sidebar, main));

  const ctx: AppContext = {
    api,
    navigate(hash) {
      if (location.hash === hash) route();
      else location.hash = hash;
    },
  };
  let current: Page | null = null;

  function route(): void {
    const [path = '', search = ''] = (location.hash || '#/workspaces').slice(2).split('?');
    const parts = path.split('/').map(decodeURIComponent);
    current?.dispose?.();
    const [page, arg] = parts;
    current =
      page === 'workspaces' && arg && parts[2] === 'rules' ? rulesPage(ctx, arg)
      : page === 'workspaces' && arg ? workspaceDetailPage(ctx, arg)
      : page === 'explore' ? explorePage(ctx, arg || undefined, new URLSearchParams(search))
      : page === 'protection' ? protectionPage(ctx)
      : workspacesPage(ctx);
    for (const a of links) {
      const active = (location.hash || '#/workspaces').startsWith(a.getAttribute('href')!);
      a.classList.toggle('active', active);
      if (active) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    replace(main, current.el);
    main.focus({ preventScroll: true });
  }
  window.addEventListener('hashchange', route);
  route();
  return () => {
    window.removeEventListener('hashchange', route);
    current?.dispose?.();
    current = null;
  };
}
