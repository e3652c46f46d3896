// Data protection: the live checklist (status, evidence, fix), the on-demand no-plaintext
// self-test with progress, sensitive-data findings, keys and TLS, and the activity log with
// filters and hash-chain verification.
import { API_SPEC, isApiMethod, type ActivityFilter, type ChecklistItem, type SelfTestProgress } from '../../shared/api';
import { SENSITIVE_KIND_TITLES } from '../../shared/sensitive-data';
import type { AppContext, Page } from '../context';
import { field, h, replace } from '../dom';
import { formatBytes, formatTime } from '../format';
import { actionButton, badge, copyButton, downloadLink, notify, section, showError, table } from '../ui';

export function protectionPage(ctx: AppContext): Page {
  const checklist = h('ul', { class: 'checklist', 'aria-busy': 'true' });
  const selfTest = h('div', { class: 'self-test' });
  const findings = h('div');
  const keys = h('div');
  const activity = h('div');
  const el = h(
    'div',
    { class: 'page' },
    h('header', { class: 'page-head' }, h('div', null, h('h1', null, 'Data protection'), h('p', { class: 'lead' }, 'What protects the data on this machine, measured now.'))),
    section('Checklist', checklist),
    section('No-plaintext self-test', h('p', { class: 'hint' }, 'Scans every file in the data directory for the label names, values and aliases you stored. None may appear in clear.'), selfTest),
    section('Sensitive-data findings', findings),
    section('Keys and TLS', keys),
    section('Activity log', activity),
  );

  async function loadChecklist(): Promise<void> {
    const items = await ctx.api.checklist();
    checklist.setAttribute('aria-busy', 'false');
    replace(checklist, ...items.map((i) => checklistItem(ctx, i, loadChecklist, { startSelfTest: runSelfTest })));
  }

  let polling: ReturnType<typeof setTimeout> | undefined;
  async function runSelfTest(): Promise<void> {
    showSelfTest(await ctx.api.startSelfTest());
    poll();
  }
  function showSelfTest(p: SelfTestProgress): void {
    const pct = p.filesTotal ? Math.round((100 * p.filesScanned) / p.filesTotal) : p.state === 'passed' || p.state === 'failed' ? 100 : 0;
    replace(
      selfTest,
      h('div', { class: 'row' },
        actionButton(p.state === 'running' ? 'Running…' : 'Run self-test', runSelfTest, { class: 'primary', ...(p.state === 'running' ? { disabled: '' } : {}) }),
        badge(p.state),
        h('span', null, p.message),
      ),
      h('progress', { max: 100, value: pct, 'aria-label': 'self-test progress' }),
      h('p', { class: 'hint' }, `${p.filesScanned} of ${p.filesTotal} files, ${formatBytes(p.bytesScanned)} scanned${p.finishedAt ? ` · finished ${formatTime(p.finishedAt)}` : ''}`),
      p.findings.length ? h('ul', { class: 'form-error' }, ...p.findings.map((f) => h('li', null, h('code', null, f)))) : null,
    );
  }
  function poll(): void {
    clearTimeout(polling);
    polling = setTimeout(async () => {
      const p = await ctx.api.selfTestProgress().catch(() => null);
      if (!p) return;
      showSelfTest(p);
      if (p.state === 'running') poll();
      else void loadChecklist();
    }, 400);
  }

  async function loadFindings(): Promise<void> {
    const list = await ctx.api.piiFindings();
    replace(
      findings,
      table(
        ['Workspace', 'Where', 'Looks like', 'Example (masked)', 'Series'],
        list.map((f) => [h('a', { href: `#/workspaces/${f.workspaceId}` }, f.workspaceId), f.inName ? `name of ${f.labelName}` : f.labelName, SENSITIVE_KIND_TITLES[f.kind], h('code', null, f.example), String(f.series)]),
        'No personal data or secrets found in aliases, tags, label names or values.',
      ),
    );
  }

  async function loadKeys(): Promise<void> {
    const s = await ctx.api.getSettings();
    replace(
      keys,
      h('dl', { class: 'kv' },
        h('dt', null, 'Master key'), h('dd', null, s.masterKey.kind === 'file' ? 'Key file: ' : '', h('code', null, s.masterKey.location)),
        h('dt', null, 'TLS CA fingerprint'), h('dd', null, h('code', { class: 'wrap' }, s.tls.caFingerprint ?? '—')),
        h('dt', null, 'Certificate expires'), h('dd', null, formatTime(s.tls.certificateExpiresAt)),
        h('dt', null, 'Web console'), h('dd', null, s.console.passwordSet ? 'password set' : 'no password', ' · ', s.console.mfaEnabled ? 'TOTP second factor on' : 'no second factor'),
        h('dt', null, 'Data directory'), h('dd', null, h('code', null, s.dataDir)),
      ),
      h('div', { class: 'actions-left' },
        s.tls.caPem ? downloadLink('ampule-ca.pem', s.tls.caPem, 'Export CA certificate') : null,
        actionButton('Rotate master key', async () => {
          if (!confirm('Rotate the master key? Every workspace data key is re-wrapped under a new master key.')) return;
          await ctx.api.rotateMasterKey();
          notify('Master key rotated');
          await Promise.all([loadKeys(), loadChecklist()]);
        }),
      ),
    );
  }

  const wsFilter = h('input', { type: 'text', name: 'activity-workspace', placeholder: 'ws-…', size: 18 });
  const actionFilter = h('input', { type: 'text', name: 'activity-action', placeholder: 'e.g. token.', size: 14 });
  const outcomeFilter = h('select', { name: 'activity-outcome' }, h('option', { value: '' }, 'Any'), h('option', { value: 'ok' }, 'ok'), h('option', { value: 'denied' }, 'denied'), h('option', { value: 'error' }, 'error'));
  const verifyResult = h('span', { class: 'verify-result', role: 'status' });
  const rows = h('div');
  let nextBefore: number | null = null;
  const more = actionButton('Load older', () => loadActivity(true), { class: 'small' });

  async function loadActivity(append = false): Promise<void> {
    const filter: ActivityFilter = {
      ...(wsFilter.value.trim() ? { workspaceId: wsFilter.value.trim() } : {}),
      ...(actionFilter.value.trim() ? { action: actionFilter.value.trim() } : {}),
      ...(outcomeFilter.value ? { outcome: outcomeFilter.value as 'ok' | 'denied' | 'error' } : {}),
      ...(append && nextBefore !== null ? { before: nextBefore } : {}),
      limit: 50,
    };
    const page = await ctx.api.listActivity(filter);
    nextBefore = page.nextBefore;
    more.hidden = nextBefore === null;
    // Ids stay on one line (a workspace id broken over three lines cannot be read or copied).
    const body = page.entries.map((e) => [String(e.seq), h('span', { class: 'nowrap' }, formatTime(e.time)), e.actor, h('code', { class: 'nowrap' }, e.action), badge(e.outcome), e.workspaceId ? h('code', { class: 'nowrap' }, e.workspaceId) : '—', e.detail]);
    const headers = ['#', 'Time', 'Actor', 'Action', 'Outcome', 'Workspace', 'Detail'];
    if (append && rows.querySelector('tbody')) {
      const tbody = rows.querySelector('tbody')!;
      for (const r of body) tbody.appendChild(h('tr', null, ...r.map((c, i) => h('td', { 'data-label': headers[i] }, c))));
    } else replace(rows, h('div', { class: 'table-scroll' }, table(headers, body, 'No activity matches.')));
  }
  const filterForm = h('form', { class: 'row filters', 'aria-label': 'Activity filters' },
    field('Workspace', wsFilter), field('Action', actionFilter), field('Outcome', outcomeFilter),
    h('button', { type: 'submit' }, 'Filter'),
    actionButton('Verify chain', async () => {
      const v = await ctx.api.verifyActivity();
      replace(verifyResult, badge(v.ok ? 'pass' : 'fail'), ` ${v.message}`);
    }),
    verifyResult,
  );
  filterForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void loadActivity().catch(showError);
  });
  replace(activity, filterForm, rows, more);

  void Promise.all([loadChecklist(), ctx.api.selfTestProgress().then((p) => { showSelfTest(p); if (p.state === 'running') poll(); }), loadFindings(), loadKeys(), loadActivity()]).catch(showError);
  const timer = setInterval(() => void loadChecklist().catch(() => {}), 30_000);
  return {
    el,
    dispose() {
      clearInterval(timer);
      clearTimeout(polling);
    },
  };
}

/** `handlers` run a fix the page shows progress for (the self-test) instead of a bare call. */
function checklistItem(ctx: AppContext, item: ChecklistItem, reload: () => Promise<void>, handlers: Partial<Record<string, () => Promise<void>>>): HTMLElement {
  let fix: HTMLElement | null = null;
  if (item.fix) {
    const action = item.fix.action;
    const own = handlers[action];
    fix = own
      ? actionButton(item.fix.label, own, { class: 'small' })
      : isApiMethod(action) && API_SPEC[action].args.length === 0
      ? actionButton(item.fix.label, async () => {
          await (ctx.api[action] as () => Promise<unknown>)();
          notify(`${item.fix!.label}: done`);
          await reload();
        }, { class: 'small' })
      : action.startsWith('ampule ')
      ? h('div', { class: 'fix-command' }, h('span', null, `${item.fix.label}: `), h('code', null, action), copyButton(() => action))
      : h('div', { class: 'fix-hint' }, h('strong', null, `${item.fix.label}: `), action);
  }
  return h(
    'li',
    { class: `check check-${item.status}`, 'data-check-id': item.id, 'data-status': item.status },
    h('span', { class: `status-icon status-${item.status}`, 'aria-hidden': 'true' }, item.status === 'pass' ? '✓' : item.status === 'warn' ? '!' : '✕'),
    h('div', { class: 'check-body' }, h('div', { class: 'check-title' }, item.title, ' ', badge(item.status)), h('div', { class: 'check-evidence' }, item.evidence)),
    fix,
  );
}
