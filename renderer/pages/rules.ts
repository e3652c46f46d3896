// One workspace's rules: the firing and pending alerts, where notifications go and whether they
// arrive (an Alertmanager that is down shows its error, failures and queue), and every rule group
// with its evaluation counts (evaluations, failed, missed) and each rule's state, health, last
// evaluation, duration and error. Refreshed every few seconds; re-rendered only on change.
import type { AlertInfo, NotifierTargetInfo, RuleGroupInfo, RuleNamespaceInfo, WorkspaceRules } from '../../shared/api';
import type { AppContext, Page } from '../context';
import { field, h, replace, type Child } from '../dom';
import { formatNumber, formatTime } from '../format';
import { actionButton, badge, errorBox, errorText, notify, onSubmit, openDialog, section, table } from '../ui';

const REFRESH_MS = 5_000;

function duration(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms < 10 ? ms.toFixed(2) : ms.toFixed(0)} ms`;
}

function labelList(labels: Readonly<Record<string, string>>): HTMLElement {
  return h('span', { class: 'label-list' }, ...Object.entries(labels).map(([k, v]) => h('code', { class: 'label-pair' }, `${k}="${v}"`)));
}

function alertsTable(alerts: readonly AlertInfo[]): HTMLElement {
  return table(
    ['Alert', 'State', 'Labels', 'Summary', 'Active since', 'Value', 'Group'],
    alerts.map((a) => [
      h('strong', null, a.labels.alertname ?? ''),
      badge(a.state),
      labelList(Object.fromEntries(Object.entries(a.labels).filter(([k]) => k !== 'alertname'))),
      a.annotations.summary ?? a.annotations.description ?? '',
      formatTime(a.activeAt),
      String(a.value),
      `${a.namespace} / ${a.group}`,
    ]),
    'No alert is pending or firing.',
  );
}

function targetsBlock(n: WorkspaceRules['notifications']): Child[] {
  if (!n) return [h('p', { class: 'hint' }, 'No alert manager definition: firing alerts are shown here but sent nowhere. Set one with ', h('code', null, 'ampule alert-manager put --workspace … --file am.yaml'), '.')];
  const failing = n.targets.filter((t) => t.lastError && (t.lastErrorAt ?? '') >= (t.lastSuccessAt ?? ''));
  return [
    failing.length
      ? h('p', { class: 'warning', role: 'alert' }, `${failing.length} of ${n.targets.length} notification target(s) cannot be reached; alerts stay queued and are retried.`)
      : null,
    table(
      ['Target', 'Kind', 'Status', 'Sent', 'Failed', 'Dropped', 'Queued', 'Last error', 'Last success', 'Next retry'],
      n.targets.map((t: NotifierTargetInfo) => [
        h('code', { class: 'wrap' }, t.url),
        t.kind,
        badge(failing.includes(t) ? 'error' : t.sent > 0 ? 'ok' : 'idle'),
        formatNumber(t.sent),
        formatNumber(t.failed),
        formatNumber(t.dropped),
        formatNumber(t.queued),
        t.lastError ? h('span', { class: 'rule-error' }, `${t.lastError} (${formatTime(t.lastErrorAt)})`) : '—',
        formatTime(t.lastSuccessAt),
        formatTime(t.retryAt),
      ]),
    ),
  ];
}

function groupBlock(g: RuleGroupInfo): HTMLElement {
  const rules = table(
    ['Rule', 'Type', 'State', 'Health', 'Last evaluation', 'Duration', 'Error'],
    g.rules.map((r) => [
      h('div', null, h('strong', null, r.name), h('div', null, h('code', { class: 'rule-query' }, r.query))),
      r.kind,
      r.state ? h('span', null, badge(r.state), r.activeAlerts ? ` ${r.activeAlerts}` : '') : '—',
      badge(r.health),
      formatTime(r.lastEvaluation),
      r.lastEvaluation ? duration(r.evaluationTimeMs) : '—',
      r.lastError ? h('span', { class: 'rule-error' }, r.lastError) : '',
    ]),
  );
  return h(
    'section',
    { class: 'card rule-group', 'aria-label': `Rule group ${g.name}` },
    h('h2', null, g.name, ' ', h('span', { class: 'lead' }, `namespace ${g.namespace} · every ${g.intervalSeconds} s`)),
    h(
      'dl',
      { class: 'kv group-figures' },
      h('dt', null, 'Last evaluation'), h('dd', null, formatTime(g.lastEvaluation), g.lastEvaluation ? ` (${duration(g.evaluationTimeMs)})` : ''),
      h('dt', null, 'Evaluations'), h('dd', { 'data-figure': 'evaluations' }, formatNumber(g.evaluations)),
      h('dt', null, 'Failed'), h('dd', { 'data-figure': 'failed' }, formatNumber(g.failed)),
      h('dt', null, 'Missed'), h('dd', { 'data-figure': 'missed' }, formatNumber(g.missed)),
    ),
    rules,
  );
}

const EXAMPLE = `groups:
  - name: example
    interval: 1m
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        labels:
          severity: page
        annotations:
          summary: '{{ $labels.instance }} is down'
`;

/** Add or replace a namespace: its name and rule file; a refused file shows every problem, nothing is stored. */
function namespaceDialog(ctx: AppContext, workspaceId: string, existing: { name: string; data: string } | null, done: () => void): Promise<void> {
  return openDialog(existing ? `Edit namespace ${existing.name}` : 'Add rule-groups namespace', (close) => {
    const name = h('input', { type: 'text', name: 'namespace', required: true, maxlength: 64, pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]*', value: existing?.name ?? '', readonly: existing !== null });
    const data = h('textarea', { name: 'rule-file', rows: 16, spellcheck: false, class: 'code-input' });
    data.value = existing?.data ?? EXAMPLE;
    const err = errorBox();
    err.el.classList.add('problems');
    const form = h(
      'form',
      null,
      field('Namespace', name, 'Letters, digits, - . _ (AMP\u2019s rule-groups namespace).'),
      field('Rule file (Prometheus YAML)', data, 'Groups with interval, limit, query_offset; rules with record or alert, expr, for, keep_firing_for, labels, annotations.'),
      err.el,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: close }, 'Cancel'), h('button', { type: 'submit', class: 'primary' }, existing ? 'Save' : 'Add')),
    );
    onSubmit(form, err, async () => {
      const ns = await ctx.api.putRuleNamespace(workspaceId, name.value.trim(), data.value);
      notify(`Namespace ${ns.name}: ${ns.groups} group(s), ${ns.rules} rule(s)`);
      close();
      done();
    });
    return [form];
  }, { wide: true });
}

function namespacesBlock(ctx: AppContext, workspaceId: string, list: readonly RuleNamespaceInfo[], reload: () => void): Child[] {
  return [
    h('div', { class: 'actions-left' }, h('button', { type: 'button', class: 'primary', onclick: () => void namespaceDialog(ctx, workspaceId, null, reload) }, 'Add namespace')),
    table(
      ['Namespace', 'Groups', 'Rules', 'Modified', ''],
      list.map((n) => [
        h('code', null, n.name),
        formatNumber(n.groups),
        formatNumber(n.rules),
        formatTime(n.modifiedAt),
        h(
          'span',
          { class: 'row-actions' },
          actionButton('Edit', async () => {
            const ns = await ctx.api.ruleNamespace(workspaceId, n.name);
            await namespaceDialog(ctx, workspaceId, ns, reload);
          }, { class: 'small' }),
          actionButton('Delete', async () => {
            if (!confirm(`Delete namespace ${n.name}? Its rules stop being evaluated.`)) return;
            await ctx.api.deleteRuleNamespace(workspaceId, n.name);
            notify(`Namespace ${n.name} deleted`);
            reload();
          }, { class: 'small danger' }),
        ),
      ]),
      'No namespaces yet.',
    ),
  ];
}

export function rulesPage(ctx: AppContext, workspaceId: string): Page {
  const head = h('header', { class: 'page-head' }, h('h1', null, 'Rules'));
  const body = h('div', { class: 'page-body' }, h('p', { class: 'hint' }, 'Loading…'));
  const el = h(
    'div',
    { class: 'page' },
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/workspaces' }, 'Workspaces'), ' / ', h('a', { href: `#/workspaces/${encodeURIComponent(workspaceId)}` }, workspaceId), ' / ', h('span', null, 'Rules')),
    head,
    body,
  );

  let shown = '';
  async function load(): Promise<void> {
    let r: WorkspaceRules;
    try {
      const [w, rules] = await Promise.all([ctx.api.describeWorkspace(workspaceId), ctx.api.workspaceRules(workspaceId)]);
      r = rules;
      replace(head, h('div', null, h('h1', null, `Rules · ${w.alias}`), h('p', { class: 'lead' }, h('code', null, w.workspaceId))));
    } catch (e) {
      shown = '';
      replace(body, h('p', { class: 'form-error', role: 'alert' }, errorText(e)));
      return;
    }
    // Re-render only on change, so a periodic refresh never moves the keyboard focus.
    const key = JSON.stringify(r);
    if (key === shown) return;
    shown = key;
    const firing = r.alerts.filter((a) => a.state === 'firing').length;
    const failing = r.groups.flatMap((g) => g.rules).filter((x) => x.health === 'err').length;
    replace(
      body,
      r.evaluating
        ? h(
            'div',
            { class: 'figures' },
            figure('Firing alerts', formatNumber(firing)),
            figure('Rule groups', formatNumber(r.groups.length)),
            figure('Rules failing', formatNumber(failing)),
          )
        : h('p', { class: 'empty-state' }, 'No rule groups in this workspace. Add a namespace below, or with ', h('code', null, `ampule rule-groups put --workspace ${workspaceId} --namespace NAME --file rules.yml`), '.'),
      ...r.loadErrors.map((l) => h('p', { class: 'warning', role: 'alert' }, `Namespace ${l.namespace} is not evaluated: ${l.message}`)),
      section('Namespaces', ...namespacesBlock(ctx, workspaceId, r.namespaces, () => void load())),
      section('Alerts', alertsTable(r.alerts)),
      section('Notifications', ...targetsBlock(r.notifications)),
      ...r.groups.map(groupBlock),
    );
  }

  void load();
  const timer = setInterval(() => void load(), REFRESH_MS);
  return { el, dispose: () => clearInterval(timer) };
}

function figure(label: string, value: string): HTMLElement {
  return h('div', { class: 'figure' }, h('div', { class: 'figure-value' }, value), h('div', { class: 'figure-label' }, label));
}
