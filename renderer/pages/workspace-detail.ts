// One workspace: endpoints and ready-to-paste client settings, tokens (secret shown once),
// rename/tags/delete, and charts of its own ingestion.
import { ALIAS_MAX, SCOPES, type Scope, type TokenInfo, type WorkspaceEndpoints, type WorkspaceSummary } from '../../shared/api';
import { grafanaSettings, remoteWriteYaml } from '../../shared/remote-write-config';
import { TimeChart } from '../chart';
import type { AppContext, Page } from '../context';
import { field, h, replace, type Child } from '../dom';
import { formatBytes, formatNumber, formatRate, formatTime } from '../format';
import { actionButton, badge, copyButton, downloadLink, errorBox, notify, onSubmit, openDialog, section, showError, table } from '../ui';
import { formatTags, parseTags, sensitiveWarning } from './sensitive-warning';
import { forwardingSection } from './workspace-forwarding';
import { loadLimits } from './workspace-limits';

const STATS_WINDOW_S = 3600;

export function workspaceDetailPage(ctx: AppContext, workspaceId: string): Page {
  const head = h('header', { class: 'page-head' }, h('h1', null, 'Workspace'));
  const figures = h('div', { class: 'figures' });
  const connect = h('div');
  const tokens = h('div');
  const limits = h('div');
  const forwarding = forwardingSection(ctx, workspaceId);
  const statsNote = h('p', { class: 'hint', role: 'status' });
  const charts = {
    rate: new TimeChart({ name: 'ingest-rate', height: 180, unit: '/s', title: 'accepted samples per second' }),
    series: new TimeChart({ name: 'active-series', height: 180, title: 'active series' }),
    rejected: new TimeChart({ name: 'rejected', height: 180, unit: '/s', title: 'rejected samples per second by reason' }),
  };
  const el = h(
    'div',
    { class: 'page' },
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/workspaces' }, 'Workspaces'), ' / ', h('span', null, workspaceId)),
    head,
    figures,
    section('Send data', connect),
    section('Tokens', tokens),
    section('Limits', limits),
    section('Forwarding', forwarding.el),
    section(
      'Ingestion (last hour)',
      statsNote,
      h(
        'div',
        { class: 'chart-grid' },
        h('div', null, h('h3', null, 'Samples/s accepted'), charts.rate.el),
        h('div', null, h('h3', null, 'Active series'), charts.series.el),
        h('div', null, h('h3', null, 'Rejected samples/s by reason'), charts.rejected.el),
      ),
    ),
  );

  let shown = '';
  async function loadSummary(): Promise<WorkspaceSummary | null> {
    try {
      const w = await ctx.api.describeWorkspace(workspaceId);
      // Re-render only on change, so a periodic refresh never moves the keyboard focus.
      const key = JSON.stringify(w);
      if (key === shown) return w;
      shown = key;
      replace(
        head,
        h('div', null, h('h1', null, w.alias, ' ', badge(w.status)), h('p', { class: 'lead' }, h('code', null, w.workspaceId), ` · created ${formatTime(w.createdAt)}`, w.tags && Object.keys(w.tags).length ? ` · tags: ${formatTags(w.tags)}` : '')),
        h(
          'div',
          { class: 'head-actions' },
          h('a', { class: 'button', href: `#/explore/${w.workspaceId}` }, 'Explore'),
          h('a', { class: 'button', href: `#/workspaces/${w.workspaceId}/rules` }, 'Rules'),
          h('button', { type: 'button', onclick: () => void renameDialog(ctx, w).then(refresh) }, 'Rename'),
          h('button', { type: 'button', onclick: () => void tagsDialog(ctx, w).then(refresh) }, 'Edit tags'),
          h('button', { type: 'button', class: 'danger', onclick: () => void deleteDialog(ctx, w) }, 'Delete…'),
        ),
      );
      replace(
        figures,
        figure('Active series', formatNumber(w.activeSeries)),
        figure('Samples/s', formatRate(w.samplesPerSecond)),
        figure('Size on disk', formatBytes(w.bytesOnDisk)),
      );
      return w;
    } catch (e) {
      replace(head, h('h1', null, 'Workspace not available'), h('p', { class: 'form-error' }, String((e as Error).message)));
      return null;
    }
  }

  async function loadConnect(): Promise<void> {
    const ep = await ctx.api.workspaceEndpoints(workspaceId);
    replace(connect, ...connectSection(workspaceId, ep));
  }

  async function loadTokens(): Promise<void> {
    const list = await ctx.api.listTokens(workspaceId);
    replace(tokens, tokenForm(ctx, workspaceId, loadTokens), tokenTable(ctx, list, loadTokens));
  }

  async function loadStats(): Promise<void> {
    const end = Math.floor(Date.now() / 1000);
    const s = await ctx.api.workspaceStats(workspaceId, { start: end - STATS_WINDOW_S, end, step: 15 });
    const measured = s.samplesPerSecond.filter((v) => v !== null).length;
    statsNote.textContent = measured ? '' : 'Figures appear once Ampule has watched this workspace for a minute (measured every 15 s while it runs).';
    const ts = [...s.timestamps];
    charts.rate.setData({ timestamps: ts, series: [{ name: 'accepted', values: [...s.samplesPerSecond] }] });
    charts.series.setData({ timestamps: ts, series: [{ name: 'active series', values: [...s.activeSeries] }] });
    charts.rejected.setData({ timestamps: ts, series: s.rejected.length ? s.rejected.map((r) => ({ name: r.reason, values: [...r.values] })) : [{ name: 'none', values: ts.map(() => 0) }] });
  }

  async function refresh(): Promise<void> {
    if (await loadSummary()) await Promise.all([loadConnect(), loadTokens(), loadStats(), loadLimits(ctx, workspaceId, limits)]).catch(showError);
  }
  void refresh();
  const timer = setInterval(() => void Promise.all([loadSummary(), loadStats()]).catch(() => {}), 15_000);
  return {
    el,
    dispose() {
      clearInterval(timer);
      forwarding.dispose();
      Object.values(charts).forEach((c) => c.destroy());
    },
  };
}

function figure(label: string, value: string): HTMLElement {
  return h('div', { class: 'figure' }, h('div', { class: 'figure-value' }, value), h('div', { class: 'figure-label' }, label));
}

function connectSection(workspaceId: string, ep: WorkspaceEndpoints): Child[] {
  if (!ep.remoteWriteUrl || !ep.prometheusUrl) {
    return [h('p', { class: 'warning' }, 'The HTTPS listener is off, so nothing can send data yet. Start it in Settings (or run ampule serve).')];
  }
  const cfg = { workspaceId, remoteWriteUrl: ep.remoteWriteUrl, prometheusUrl: ep.prometheusUrl };
  const yaml = remoteWriteYaml(cfg);
  return [
    h(
      'dl',
      { class: 'kv' },
      h('dt', null, 'Remote write URL'), h('dd', null, h('code', null, ep.remoteWriteUrl), copyButton(() => ep.remoteWriteUrl!)),
      h('dt', null, 'Prometheus API URL'), h('dd', null, h('code', null, ep.prometheusUrl), copyButton(() => ep.prometheusUrl!)),
      h('dt', null, 'CA fingerprint (SHA-256)'), h('dd', null, h('code', { class: 'wrap' }, ep.caFingerprint ?? '—')),
    ),
    h('div', { class: 'split' },
      h('div', null,
        h('h3', null, 'Prometheus remote_write'),
        h('p', { class: 'hint' }, 'Save a remote_write token to the credentials file and the CA certificate to the ca_file, then add:'),
        h('pre', { class: 'code', 'aria-label': 'Prometheus remote_write configuration' }, yaml),
        h('div', { class: 'actions-left' }, copyButton(() => yaml, 'Copy YAML'), ep.caPem ? copyButton(() => ep.caPem!, 'Copy CA certificate') : null, ep.caPem ? downloadLink('ampule-ca.pem', ep.caPem, 'Download CA certificate') : null),
      ),
      h('div', null,
        h('h3', null, 'Grafana data source'),
        h('dl', { class: 'kv' }, ...grafanaSettings(cfg).flatMap((s) => [h('dt', null, s.label), h('dd', null, s.value)])),
      ),
    ),
  ];
}

function tokenForm(ctx: AppContext, workspaceId: string, reload: () => Promise<void>): HTMLElement {
  const name = h('input', { type: 'text', name: 'token-name', required: true, maxlength: 64, placeholder: 'prometheus-prod' });
  const expiry = h('select', { name: 'expiry' }, h('option', { value: '' }, 'Never'), h('option', { value: '30' }, '30 days'), h('option', { value: '90' }, '90 days'), h('option', { value: '365' }, '1 year'));
  const scopeBoxes = SCOPES.map((s) => h('input', { type: 'checkbox', name: 'scope', value: s, checked: s === 'remote_write' }));
  const err = errorBox();
  const form = h(
    'form',
    { class: 'inline-form', 'aria-label': 'Create token' },
    field('Token name', name),
    h('fieldset', { class: 'scopes' }, h('legend', null, 'Scopes'), ...scopeBoxes.map((b) => h('label', { class: 'checkbox' }, b, ' ', b.value))),
    field('Expires', expiry),
    h('button', { type: 'submit', class: 'primary' }, 'Create token'),
    err.el,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.clear();
    try {
      const scopes = scopeBoxes.filter((b) => b.checked).map((b) => b.value as Scope);
      const created = await ctx.api.createToken(workspaceId, { name: name.value.trim(), scopes, ...(expiry.value ? { expiresInDays: Number(expiry.value) } : {}) });
      name.value = '';
      await reload();
      await openDialog('Token created: copy it now', () => [
        h('p', null, 'This is the only time the token is shown. Ampule keeps only its hash.'),
        h('pre', { class: 'code secret', id: 'new-token-secret' }, created.secret),
        h('div', { class: 'actions' }, copyButton(() => created.secret, 'Copy token'), h('button', { type: 'submit', formmethod: 'dialog', class: 'primary', onclick: (e) => (e.target as HTMLElement).closest('dialog')!.close() }, 'Done')),
      ]);
    } catch (e) {
      err.set(e);
    }
  });
  return form;
}

function tokenTable(ctx: AppContext, list: TokenInfo[], reload: () => Promise<void>): HTMLElement {
  return table(
    ['Name', 'Token ID', 'Scopes', 'Created', 'Expires', 'Last used', 'State', ''],
    list.map((t) => [
      t.name,
      h('code', null, t.tokenId),
      t.scopes.join(', '),
      formatTime(t.createdAt),
      formatTime(t.expiresAt),
      formatTime(t.lastUsedAt),
      badge(t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) < Date.now() ? 'expired' : 'active'),
      t.revokedAt
        ? ''
        : actionButton('Revoke', async () => {
            if (!confirm(`Revoke token ${t.name}? Senders using it are refused at once.`)) return;
            await ctx.api.revokeToken(t.workspaceId, t.tokenId);
            notify(`Token ${t.name} revoked`);
            await reload();
          }, { class: 'small danger' }),
    ]),
    'No tokens yet. Create one with the remote_write scope for Prometheus, and one with the query scope for Grafana.',
  );
}

function renameDialog(ctx: AppContext, w: WorkspaceSummary): Promise<void> {
  return openDialog('Rename workspace', (close) => {
    const alias = h('input', { type: 'text', required: true, maxlength: ALIAS_MAX, value: w.alias });
    const warning = sensitiveWarning();
    alias.addEventListener('input', () => warning.update(alias.value, {}));
    const err = errorBox();
    const form = h('form', null, field('Alias', alias), warning.el, err.el, h('div', { class: 'actions' }, h('button', { type: 'button', onclick: close }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Rename')));
    onSubmit(form, err, async () => {
      await ctx.api.renameWorkspace(w.workspaceId, alias.value.trim());
      close();
    });
    return [form];
  });
}

function tagsDialog(ctx: AppContext, w: WorkspaceSummary): Promise<void> {
  return openDialog('Edit tags', (close) => {
    const tags = h('textarea', { rows: 4, value: formatTags(w.tags) });
    tags.value = formatTags(w.tags);
    const warning = sensitiveWarning();
    tags.addEventListener('input', () => {
      try {
        warning.update('', parseTags(tags.value));
      } catch {
        /* reported on submit */
      }
    });
    const err = errorBox();
    const form = h('form', null, field('Tags', tags, 'key=value pairs; this list replaces the current tags.'), warning.el, err.el, h('div', { class: 'actions' }, h('button', { type: 'button', onclick: close }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, 'Save')));
    onSubmit(form, err, async () => {
      await ctx.api.setWorkspaceTags(w.workspaceId, parseTags(tags.value));
      close();
    });
    return [form];
  });
}

function deleteDialog(ctx: AppContext, w: WorkspaceSummary): Promise<void> {
  return openDialog('Delete workspace', (close) => {
    const confirmInput = h('input', { type: 'text', autocomplete: 'off', name: 'confirm' });
    const submit = h('button', { type: 'submit', class: 'danger', disabled: true }, 'Delete forever');
    confirmInput.addEventListener('input', () => (submit.disabled = confirmInput.value !== w.alias && confirmInput.value !== w.workspaceId));
    const err = errorBox();
    const form = h(
      'form',
      null,
      h('p', null, 'This destroys the workspace\u2019s data key first, so its samples can never be read again, then deletes its files and tokens. It cannot be undone.'),
      field(`Type the alias (${w.alias}) or the ID to confirm`, confirmInput),
      err.el,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: close }, 'Cancel'), submit),
    );
    onSubmit(form, err, async () => {
      await ctx.api.deleteWorkspace(w.workspaceId, confirmInput.value);
      notify(`Workspace ${w.alias} deleted`);
      close();
      ctx.navigate('#/workspaces');
    });
    return [form];
  });
}
