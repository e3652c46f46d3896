// Explore: a PromQL box with syntax errors shown inline as you type, a time range, a uPlot
// chart (legend, drag to zoom, hover values) and a table of the latest values; auto-refresh.
import type { PromResponse, QueryIssue, WorkspaceSummary } from '../../shared/api';
import { TimeChart } from '../chart';
import type { AppContext, Page } from '../context';
import { field, h, replace } from '../dom';
import { formatNumber } from '../format';
import { alignMatrix, parseSampleValue, seriesName } from '../series';
import { errorText, table } from '../ui';

const RANGES: readonly [string, number][] = [
  ['5 minutes', 300], ['15 minutes', 900], ['1 hour', 3600], ['6 hours', 21600], ['24 hours', 86400], ['7 days', 604800],
];
const REFRESH: readonly [string, number][] = [['Off', 0], ['5 s', 5], ['15 s', 15], ['30 s', 30], ['1 min', 60]];
/** About 250 points across the chart, never finer than 1 s. */
export function stepFor(rangeSeconds: number): number {
  return Math.max(1, Math.round(rangeSeconds / 250));
}

export function explorePage(ctx: AppContext, initialWorkspace?: string): Page {
  const wsSelect = h('select', { name: 'workspace' });
  const query = h('textarea', { name: 'query', rows: 2, spellcheck: false, autocomplete: 'off', class: 'promql', placeholder: 'e.g. rate(http_requests_total[5m])', 'aria-invalid': 'false' });
  const rangeSelect = h('select', { name: 'range' }, ...RANGES.map(([l, s]) => h('option', { value: s, selected: s === 3600 }, l)), h('option', { value: 'custom' }, 'Custom…'));
  const fromInput = h('input', { type: 'datetime-local', name: 'from', step: 1 });
  const toInput = h('input', { type: 'datetime-local', name: 'to', step: 1 });
  const custom = h('div', { class: 'row', hidden: true }, field('From', fromInput), field('To', toInput));
  const refreshSelect = h('select', { name: 'refresh' }, ...REFRESH.map(([l, s]) => h('option', { value: s }, l)));
  const run = h('button', { type: 'submit', class: 'primary' }, 'Run query');
  const metricSelect = h('select', { name: 'metric' }, h('option', { value: '' }, 'Insert a metric…'));
  const issues = h('div', { class: 'query-issues', id: 'query-issues', role: 'alert', 'aria-live': 'polite' });
  query.setAttribute('aria-describedby', issues.id);
  const status = h('p', { class: 'query-status', role: 'status' });
  const chart = new TimeChart({ name: 'explore', height: 300, title: 'query result chart' });
  const chartPanel = h('div', { class: 'tab-panel', id: 'panel-chart', role: 'tabpanel', 'aria-labelledby': 'tab-chart' }, chart.el);
  const tablePanel = h('div', { class: 'tab-panel', id: 'panel-table', role: 'tabpanel', 'aria-labelledby': 'tab-table', hidden: true });
  const tabChart = h('button', { type: 'button', role: 'tab', id: 'tab-chart', 'aria-selected': 'true', 'aria-controls': 'panel-chart' }, 'Chart');
  const tabTable = h('button', { type: 'button', role: 'tab', id: 'tab-table', 'aria-selected': 'false', 'aria-controls': 'panel-table' }, 'Table');
  const selectTab = (chartOn: boolean) => {
    tabChart.setAttribute('aria-selected', String(chartOn));
    tabTable.setAttribute('aria-selected', String(!chartOn));
    chartPanel.hidden = !chartOn;
    tablePanel.hidden = chartOn;
  };
  tabChart.addEventListener('click', () => selectTab(true));
  tabTable.addEventListener('click', () => selectTab(false));
  // Arrow keys move between tabs (WAI-ARIA tabs pattern).
  for (const [tab, other, chartOn] of [[tabChart, tabTable, false], [tabTable, tabChart, true]] as const) {
    tab.addEventListener('keydown', (ev) => {
      if (ev.key !== 'ArrowLeft' && ev.key !== 'ArrowRight') return;
      selectTab(chartOn);
      other.focus();
    });
  }

  const form = h(
    'form',
    { class: 'explore-form', 'aria-label': 'PromQL query' },
    h('div', { class: 'row' }, field('Workspace', wsSelect), field('Metrics', metricSelect), field('Time range', rangeSelect), field('Auto-refresh', refreshSelect)),
    custom,
    field('PromQL', query, 'Enter runs the query; Shift+Enter adds a line.'),
    issues,
    h('div', { class: 'actions-left' }, run, status),
  );
  const el = h(
    'div',
    { class: 'page' },
    h('header', { class: 'page-head' }, h('div', null, h('h1', null, 'Explore'), h('p', { class: 'lead' }, 'Query a workspace with PromQL. Drag on the chart to zoom, double-click to reset.'))),
    h('section', { class: 'card' }, form),
    h('section', { class: 'card' }, h('div', { class: 'tabs', role: 'tablist' }, tabChart, tabTable), chartPanel, tablePanel),
  );

  let issueSeq = 0;
  async function checkSyntax(): Promise<boolean> {
    const seq = ++issueSeq;
    const text = query.value;
    let found: QueryIssue[] = [];
    try {
      found = text.trim() ? await ctx.api.checkQuery(text) : [];
    } catch {
      return true; // the server will say it on run
    }
    if (seq !== issueSeq) return found.length === 0;
    showIssues(text, found);
    return found.length === 0;
  }

  function showIssues(text: string, found: QueryIssue[]): void {
    query.setAttribute('aria-invalid', String(found.length > 0));
    if (!found.length) return replace(issues);
    const first = found[0]!;
    const from = Math.min(first.from, text.length);
    const to = Math.max(from + 1, Math.min(first.to, text.length));
    replace(
      issues,
      h('div', { class: 'issue-text' }, `Syntax error at character ${from + 1}: ${first.message}`),
      h('pre', { class: 'issue-snippet' }, text.slice(0, from), h('mark', null, text.slice(from, to) || ' '), text.slice(to)),
    );
  }

  /** The window to query, in Unix seconds: a preset ending now, or the custom From/To. */
  function timeWindow(): { end: number; range: number } | null {
    if (rangeSelect.value !== 'custom') return { end: Math.floor(Date.now() / 1000), range: Number(rangeSelect.value) };
    const from = Date.parse(fromInput.value), to = Date.parse(toInput.value);
    if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) return null;
    return { end: Math.floor(to / 1000), range: Math.floor((to - from) / 1000) };
  }

  let runSeq = 0;
  async function execute(): Promise<void> {
    const workspaceId = wsSelect.value;
    const expr = query.value.trim();
    if (!workspaceId || !expr) return;
    if (!(await checkSyntax())) return;
    const span = timeWindow();
    if (!span) {
      status.textContent = 'Choose a start before the end of the custom range.';
      status.classList.add('error');
      return;
    }
    const seq = ++runSeq;
    const { end, range } = span;
    status.textContent = 'Running…';
    const started = performance.now();
    try {
      const [matrix, instant] = await Promise.all([
        ctx.api.queryRange(workspaceId, { query: expr, start: end - range, end, step: stepFor(range) }),
        ctx.api.query(workspaceId, { query: expr, time: end }),
      ]);
      if (seq !== runSeq) return;
      showMatrix(matrix);
      showTable(instant);
      const n = matrix.status === 'success' && matrix.data.resultType === 'matrix' ? matrix.data.result.length : 0;
      status.textContent = matrix.status === 'success' ? `${n} series · ${Math.round(performance.now() - started)} ms` : `Error: ${matrix.error}`;
      status.classList.toggle('error', matrix.status !== 'success');
    } catch (e) {
      status.textContent = errorText(e);
      status.classList.add('error');
    }
  }

  function showMatrix(r: PromResponse): void {
    if (r.status !== 'success') return;
    if (r.data.resultType === 'matrix') chart.setData(alignMatrix(r.data.result));
    else if (r.data.resultType === 'scalar') chart.setData({ timestamps: [r.data.result[0]], series: [{ name: 'scalar', values: [parseSampleValue(r.data.result[1])] }] });
  }

  function showTable(r: PromResponse): void {
    if (r.status !== 'success') return replace(tablePanel, h('p', { class: 'form-error' }, r.error));
    const rows =
      r.data.resultType === 'vector'
        ? r.data.result.map((s) => [h('code', null, seriesName(s.metric)), h('span', { class: 'num' }, formatNumber(Number(s.value[1])))])
        : r.data.resultType === 'scalar' || r.data.resultType === 'string'
          ? [[r.data.resultType, String(r.data.result[1])]]
          : r.data.result.map((s) => [h('code', null, seriesName(s.metric)), String(s.values.at(-1)?.[1] ?? '')]);
    replace(tablePanel, table(['Series', 'Value'], rows, 'No data at the end of the range.'));
  }

  let debounce: ReturnType<typeof setTimeout> | undefined;
  query.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => void checkSyntax(), 200);
  });
  query.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void execute();
  });
  /** datetime-local wants local time without a zone: YYYY-MM-DDTHH:MM:SS. */
  const localInput = (ms: number) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
  rangeSelect.addEventListener('change', () => {
    const isCustom = rangeSelect.value === 'custom';
    if (isCustom && !fromInput.value) {
      toInput.value = localInput(Date.now());
      fromInput.value = localInput(Date.now() - 3600_000);
    }
    custom.hidden = !isCustom;
    void execute();
  });
  fromInput.addEventListener('change', () => void execute());
  toInput.addEventListener('change', () => void execute());
  let timer: ReturnType<typeof setInterval> | undefined;
  refreshSelect.addEventListener('change', () => {
    clearInterval(timer);
    const s = Number(refreshSelect.value);
    if (s > 0) timer = setInterval(() => void execute(), s * 1000);
  });

  async function loadMetrics(): Promise<void> {
    const names = wsSelect.value ? await ctx.api.metricNames(wsSelect.value).catch(() => [] as string[]) : [];
    replace(metricSelect, h('option', { value: '' }, names.length ? `Insert a metric… (${names.length})` : 'No metrics yet'), ...names.map((n) => h('option', { value: n }, n)));
  }
  metricSelect.addEventListener('change', () => {
    if (!metricSelect.value) return;
    const at = query.selectionStart ?? query.value.length;
    query.value = query.value.slice(0, at) + metricSelect.value + query.value.slice(query.selectionEnd ?? at);
    metricSelect.value = '';
    query.focus();
    void checkSyntax();
  });
  wsSelect.addEventListener('change', () => void loadMetrics());

  void ctx.api.listWorkspaces().then((list: WorkspaceSummary[]) => {
    replace(wsSelect, ...list.map((w) => h('option', { value: w.workspaceId, selected: w.workspaceId === initialWorkspace }, `${w.alias} (${w.workspaceId})`)));
    if (!list.length) replace(status, 'Create a workspace first.');
    void loadMetrics();
  });

  return {
    el,
    dispose() {
      clearInterval(timer);
      clearTimeout(debounce);
      chart.destroy();
    },
  };
}
