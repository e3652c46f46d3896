// Workspaces: the table (alias, id, status, created, active series, samples/s, size) and the
// create dialog with a live sensitive-data warning.
import type { WorkspaceSummary } from '../../shared/api';
import { ALIAS_MAX } from '../../shared/api';
import type { AppContext, Page } from '../context';
import { field, h, replace } from '../dom';
import { formatBytes, formatNumber, formatRate, formatTime } from '../format';
import { badge, errorBox, notify, openDialog, showError } from '../ui';
import { formatTags, parseTags, sensitiveWarning } from './sensitive-warning';

export function workspacesPage(ctx: AppContext): Page {
  const body = h('div', { class: 'table-wrap', 'aria-busy': 'true' }, h('p', { class: 'empty' }, 'Loading…'));
  const create = h('button', { type: 'button', class: 'primary', onclick: () => void createDialog(ctx).then(load) }, 'Create workspace');
  const el = h(
    'div',
    { class: 'page' },
    h('header', { class: 'page-head' }, h('div', null, h('h1', null, 'Workspaces'), h('p', { class: 'lead' }, 'Each workspace has its own encrypted store, data key and tokens.')), create),
    body,
  );

  let shown = '';
  async function load(): Promise<void> {
    try {
      const list = await ctx.api.listWorkspaces();
      // Re-render only on change, so a periodic refresh never moves the keyboard focus.
      const key = JSON.stringify(list);
      if (key === shown) return;
      shown = key;
      body.setAttribute('aria-busy', 'false');
      replace(body, list.length ? workspaceTable(ctx, list) : h('div', { class: 'empty-state' }, h('p', null, 'No workspaces yet.'), h('p', null, 'Create one, then point Prometheus remote_write at it.')));
    } catch (e) {
      replace(body, h('p', { class: 'form-error' }, 'Could not load workspaces. '), String((e as Error).message));
      showError(e);
    }
  }
  void load();
  const timer = setInterval(load, 10_000);
  return { el, dispose: () => clearInterval(timer) };
}

function workspaceTable(ctx: AppContext, list: WorkspaceSummary[]): HTMLElement {
  return h(
    'table',
    { class: 'workspaces responsive' },
    h(
      'thead',
      null,
      h('tr', null, ...['Alias', 'Workspace ID', 'Status', 'Created', 'Active series', 'Samples/s', 'Size on disk', 'Tags'].map((t) => h('th', { scope: 'col' }, t))),
    ),
    h(
      'tbody',
      null,
      ...list.map((w) =>
        h(
          'tr',
          null,
          h('td', { 'data-label': 'Alias' }, h('a', { href: `#/workspaces/${w.workspaceId}`, class: 'strong' }, w.alias)),
          h('td', { 'data-label': 'Workspace ID' }, h('code', null, w.workspaceId)),
          h('td', { 'data-label': 'Status' }, badge(w.status)),
          h('td', { 'data-label': 'Created' }, formatTime(w.createdAt)),
          h('td', { class: 'num', 'data-label': 'Active series' }, formatNumber(w.activeSeries)),
          h('td', { class: 'num', 'data-label': 'Samples/s' }, formatRate(w.samplesPerSecond)),
          h('td', { class: 'num nowrap', 'data-label': 'Size on disk' }, formatBytes(w.bytesOnDisk)),
          h('td', { class: 'tags', 'data-label': 'Tags', title: formatTags(w.tags) || undefined }, formatTags(w.tags) || '—'),
        ),
      ),
    ),
  );
}

export function createDialog(ctx: AppContext): Promise<void> {
  return openDialog('Create workspace', (close) => {
    const alias = h('input', { type: 'text', name: 'alias', required: true, maxlength: ALIAS_MAX, autocomplete: 'off', placeholder: 'e.g. staging-cluster' });
    const tags = h('textarea', { name: 'tags', rows: 3, placeholder: 'team=platform, env=staging' });
    const warning = sensitiveWarning();
    const err = errorBox();
    const check = () => {
      let parsed: Record<string, string> = {};
      try {
        parsed = parseTags(tags.value);
      } catch {
        /* shown on submit */
      }
      warning.update(alias.value, parsed);
    };
    alias.addEventListener('input', check);
    tags.addEventListener('input', check);
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Create');
    const form = h(
      'form',
      { method: 'dialog' },
      field('Alias', alias, 'A name for people. Not secret, not personal: it shows in lists and logs.'),
      field('Tags (optional)', tags, 'key=value pairs, separated by commas or new lines.'),
      warning.el,
      err.el,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: close }, 'Cancel'), submit),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.clear();
      submit.disabled = true;
      try {
        const w = await ctx.api.createWorkspace({ alias: alias.value.trim(), tags: parseTags(tags.value) });
        notify(`Workspace ${w.alias} created`);
        close();
        ctx.navigate(`#/workspaces/${w.workspaceId}`);
      } catch (e) {
        err.set(e);
      } finally {
        submit.disabled = false;
      }
    });
    return [form];
  });
}
