// Explore: one or more PromQL queries over a shared workspace and time range, each in the
// Prometheus UI's own editor (completion, inline errors) with its chart (uPlot: legend, drag to
// zoom, units on the axis, x axis = the chosen range) and a table of every series with its
// sample times. The view lives in the URL (#/explore/<ws>?range=…&q=…&q=…) so it can be
// bookmarked and reloaded.
import type { PromResponse, WorkspaceSummary } from '../../shared/api';
import { TimeChart } from '../chart';
import type { AppContext, Page } from '../context';
import { field, h, replace, uid } from '../dom';
import { MAX_QUERIES, metricsInQuery, parseView, stepFor, unitOfQuery, viewHash, type ExploreView } from '../explore-view';
import { formatTimestamp, formatValue } from '../format';
import { PromqlEditor, WorkspaceClient } from '../promql-editor';
import { alignMatrix, parseSampleValue, plotSeries, seriesName } from '../series';
import { errorText, table } from '../ui';

const RANGES: readonly [string, number][] = [
  ['5 minutes', 300], ['15 minutes', 900], ['1 hour', 3600], ['6 hours', 21600], ['24 hours', 86400], ['7 days', 604800],
];
const REFRESH: readonly [string, number][] = [['Off', 0], ['5 s', 5], ['15 s', 15], ['30 s', 30], ['1 min', 60]];

interface Window {
  readonly start: number;
  readonly end: number;
}

/** One query row: its editor, a remove button, and its result (chart or table). */
class QueryPanel {
  readonly el: HTMLElement;
  readonly editor: PromqlEditor;
  private readonly chart: TimeChart;
  private readonly status = h('p', { class: 'query-status', role: 'status' });
  /** Stands in for the chart until there is something to draw: a prompt, then "No data". */
  private readonly noData = h('p', { class: 'no-data' }, 'Type a query and press Enter to chart it.');
  private readonly tablePanel: HTMLElement;
  /** TYPE, UNIT and HELP of the metrics the query reads, as the senders described them. */
  private readonly metricInfo = h('dl', { class: 'metric-info', 'aria-label': 'Metric metadata' });
  private readonly client: WorkspaceClient;
  private seq = 0;
  private describeSeq = 0;

  constructor(
    private readonly ctx: AppContext,
    client: WorkspaceClient,
    index: number,
    chartName: string,
    value: string,
    handlers: { run: () => void; remove: (p: QueryPanel) => void; changed: () => void },
  ) {
    this.editor = new PromqlEditor({
      client,
      label: index === 0 ? 'PromQL' : `PromQL (query ${index + 1})`,
      value,
      placeholder: 'e.g. rate(http_requests_total[5m]) — type to complete metric names, labels and functions',
      onSubmit: handlers.run,
      check: (text) => ctx.api.checkQuery(text),
      onChange: () => {
        handlers.changed();
        this.describeMetrics();
      },
    });
    this.client = client;
    this.chart = new TimeChart({ name: chartName, height: 280, title: `chart of query ${index + 1}` });
    this.chart.el.hidden = true;
    const id = uid('q');
    const chartPanel = h('div', { class: 'tab-panel', id: `${id}-chart`, role: 'tabpanel', 'aria-labelledby': `${id}-tab-chart` }, this.noData, this.chart.el);
    this.tablePanel = h('div', { class: 'tab-panel', id: `${id}-table`, role: 'tabpanel', 'aria-labelledby': `${id}-tab-table`, hidden: true });
    const tabChart = h('button', { type: 'button', role: 'tab', id: `${id}-tab-chart`, 'aria-selected': 'true', 'aria-controls': chartPanel.id }, 'Chart');
    const tabTable = h('button', { type: 'button', role: 'tab', id: `${id}-tab-table`, 'aria-selected': 'false', 'aria-controls': this.tablePanel.id }, 'Table');
    const select = (chartOn: boolean) => {
      tabChart.setAttribute('aria-selected', String(chartOn));
      tabTable.setAttribute('aria-selected', String(!chartOn));
      chartPanel.hidden = !chartOn;
      this.tablePanel.hidden = chartOn;
    };
    tabChart.addEventListener('click', () => select(true));
    tabTable.addEventListener('click', () => select(false));
    // Arrow keys move between tabs (WAI-ARIA tabs pattern).
    for (const [tab, other, chartOn] of [[tabChart, tabTable, false], [tabTable, tabChart, true]] as const) {
      tab.addEventListener('keydown', (ev) => {
        if (ev.key !== 'ArrowLeft' && ev.key !== 'ArrowRight') return;
        select(chartOn);
        other.focus();
      });
    }
    const remove = h('button', { type: 'button', class: 'small remove-query', 'aria-label': `Remove query ${index + 1}`, title: 'Remove this query', onclick: () => handlers.remove(this) }, 'Remove');
    this.el = h(
      'section',
      { class: 'card query-panel', 'aria-label': `Query ${index + 1}` },
      h('div', { class: 'query-row' }, this.editor.el, remove),
      this.editor.issues,
      this.metricInfo,
      this.status,
      h('div', { class: 'tabs', role: 'tablist' }, tabChart, tabTable),
      chartPanel,
      this.tablePanel,
    );
  }

  /** Shows the metadata of the metrics in the query (the newest call wins). */
  describeMetrics(): void {
    const seq = ++this.describeSeq;
    const query = this.editor.value;
    void this.client.metricMetadata().then((all) => {
      if (seq !== this.describeSeq) return;
      const names = metricsInQuery(query, (n) => Object.prototype.hasOwnProperty.call(all, n) && all[n]!.length > 0);
      replace(
        this.metricInfo,
        ...names.flatMap((name) => {
          const m = all[name]![all[name]!.length - 1]!;
          return [
            h('dt', null, h('code', null, name), ' ', h('span', { class: 'metric-type' }, m.type), m.unit ? h('span', { class: 'metric-unit' }, `unit: ${m.unit}`) : ''),
            h('dd', null, m.help || 'No help text.'),
          ];
        }),
      );
    });
  }

  setRemovable(on: boolean): void {
    (this.el.querySelector('.remove-query') as HTMLButtonElement).hidden = !on;
  }

  async run(workspaceId: string, w: Window): Promise<void> {
    const expr = this.editor.value.trim();
    if (!workspaceId || !expr) {
      this.status.textContent = expr ? '' : 'Type a query.';
      return;
    }
    const seq = ++this.seq;
    this.describeMetrics();
    this.status.textContent = 'Running…';
    this.status.classList.remove('error');
    const started = performance.now();
    try {
      const r = await this.ctx.api.queryRange(workspaceId, { query: expr, start: w.start, end: w.end, step: stepFor(w.end - w.start) });
      if (seq !== this.seq) return;
      if (r.status !== 'success') {
        this.status.textContent = `Error: ${r.error}`;
        this.status.classList.add('error');
        return;
      }
      const n = this.show(r, expr, w);
      this.status.textContent = `${n} series · ${Math.round(performance.now() - started)} ms`;
    } catch (e) {
      if (seq !== this.seq) return;
      this.status.textContent = errorText(e);
      this.status.classList.add('error');
    }
  }

  /** Draws a successful result; the number of series. */
  private show(r: PromResponse & { status: 'success' }, expr: string, w: Window): number {
    const d = r.data;
    const series = plotSeries(d);
    const aligned = alignMatrix(series);
    const empty = aligned.series.every((s) => s.values.every((v) => v === null));
    const unit = unitOfQuery(expr, series[0]?.metric['__name__']);
    this.noData.hidden = !empty;
    this.chart.el.hidden = empty;
    if (empty) {
      replace(this.noData, h('strong', null, 'No data'), ` — the query matched no samples between ${formatTimestamp(w.start)} and ${formatTimestamp(w.end)}.`);
      this.chart.clear();
    } else this.chart.setData(aligned, { unit, xRange: [w.start, w.end] });

    const rows = series.map((s) => {
      const values = s.values.map(([t, v]) => [t, parseSampleValue(v)] as const);
      const finite = values.map(([, v]) => v).filter((v): v is number => v !== null);
      const last = s.values.at(-1);
      const cell = (v: number | null | undefined) => h('span', { class: 'num' }, v === null || v === undefined ? '—' : formatValue(v, unit));
      return [
        h('code', { class: 'series-name' }, (seriesName(s.metric) || '{}') + (s.histogram ? ' (native histogram: count)' : '')),
        last ? h('span', { class: 'num', title: last[1] }, formatValue(Number(last[1]), unit)) : '—',
        last ? h('time', { class: 'nowrap', datetime: new Date(last[0] * 1000).toISOString() }, formatTimestamp(last[0])) : '—',
        s.values.length ? h('time', { class: 'nowrap', datetime: new Date(s.values[0]![0] * 1000).toISOString() }, formatTimestamp(s.values[0]![0])) : '—',
        cell(finite.length ? Math.min(...finite) : null),
        cell(finite.length ? Math.max(...finite) : null),
        h('span', { class: 'num' }, String(s.values.length)),
      ];
    });
    replace(this.tablePanel, table(['Series', 'Last value', 'Last sample at', 'First sample at', 'Min', 'Max', 'Points'], rows, 'No data in this range.'));
    return series.length;
  }

  destroy(): void {
    this.editor.destroy();
    this.chart.destroy();
  }
}

export function explorePage(ctx: AppContext, initialWorkspace?: string, params: URLSearchParams = new URLSearchParams()): Page {
  const initial = parseView(params);
  const wsSelect = h('select', { name: 'workspace' });
  const preset = RANGES.some(([, s]) => s === initial.range) && initial.from === undefined;
  const rangeSelect = h(
    'select',
    { name: 'range' },
    ...RANGES.map(([l, s]) => h('option', { value: s, selected: preset && s === initial.range }, l)),
    h('option', { value: 'custom', selected: !preset }, 'Custom…'),
  );
  /** datetime-local wants local time without a zone: YYYY-MM-DDTHH:MM:SS. */
  const localInput = (ms: number) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
  const nowS = Math.floor(Date.now() / 1000);
  const fromInput = h('input', { type: 'datetime-local', name: 'from', step: 1, value: localInput(1000 * (initial.from ?? nowS - initial.range)) });
  const toInput = h('input', { type: 'datetime-local', name: 'to', step: 1, value: localInput(1000 * (initial.to ?? nowS)) });
  const custom = h('div', { class: 'row', hidden: preset }, field('From', fromInput), field('To', toInput));
  const refreshSelect = h('select', { name: 'refresh' }, ...REFRESH.map(([l, s]) => h('option', { value: s }, l)));
  const run = h('button', { type: 'submit', class: 'primary' }, 'Run query');
  const add = h('button', { type: 'button' }, 'Add query');
  const rangeError = h('p', { class: 'form-error', role: 'alert', hidden: true }, 'Choose a start before the end of the custom range.');
  const panelsEl = h('div', { class: 'query-panels' });
  const client = new WorkspaceClient(ctx.api, () => wsSelect.value);

  const form = h(
    'form',
    { class: 'explore-form', 'aria-label': 'Workspace and time range' },
    h('div', { class: 'row' }, field('Workspace', wsSelect), field('Time range', rangeSelect), field('Auto-refresh', refreshSelect)),
    custom,
    rangeError,
    h('div', { class: 'actions-left' }, run, add, h('span', { class: 'hint' }, 'Enter in a query runs it; Shift+Enter adds a line; Ctrl+Space completes.')),
  );
  const el = h(
    'div',
    { class: 'page' },
    h('header', { class: 'page-head' }, h('div', null, h('h1', null, 'Explore'), h('p', { class: 'lead' }, 'Query a workspace with PromQL. Drag on a chart to zoom, double-click to reset.'))),
    h('section', { class: 'card' }, form),
    panelsEl,
  );

  const panels: QueryPanel[] = [];
  let charts = 0;
  function addPanel(value: string): QueryPanel {
    const name = charts++ === 0 ? 'explore' : `explore-${charts}`;
    const p = new QueryPanel(ctx, client, panels.length, name, value, {
      run: () => void runAll(),
      remove: (which) => {
        which.destroy();
        which.el.remove();
        panels.splice(panels.indexOf(which), 1);
        layout();
        saveView();
      },
      changed: () => saveView(),
    });
    panels.push(p);
    panelsEl.appendChild(p.el);
    layout();
    return p;
  }
  function layout(): void {
    for (const p of panels) p.setRemovable(panels.length > 1);
    add.disabled = panels.length >= MAX_QUERIES;
  }

  /** The window to query, in Unix seconds: a preset ending now, or the custom From/To. */
  function timeWindow(): Window | null {
    if (rangeSelect.value !== 'custom') {
      const end = Math.floor(Date.now() / 1000);
      return { start: end - Number(rangeSelect.value), end };
    }
    const from = Date.parse(fromInput.value), to = Date.parse(toInput.value);
    if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) return null;
    return { start: Math.floor(from / 1000), end: Math.floor(to / 1000) };
  }

  function currentView(): ExploreView {
    const queries = panels.map((p) => p.editor.value).filter((q) => q.trim() !== '');
    const w = rangeSelect.value === 'custom' ? timeWindow() : null;
    return w ? { queries, range: w.end - w.start, from: w.start, to: w.end } : { queries, range: Number(rangeSelect.value) || 3600 };
  }
  /** Keeps the URL in step with the view without a navigation (replaceState fires no hashchange). */
  function saveView(): void {
    history.replaceState(history.state, '', viewHash(wsSelect.value, currentView()));
  }

  async function runAll(): Promise<void> {
    const w = timeWindow();
    rangeError.hidden = w !== null;
    if (!w) return;
    saveView();
    await Promise.all(panels.map((p) => p.run(wsSelect.value, w)));
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void runAll();
  });
  add.addEventListener('click', () => {
    addPanel('').editor.focus();
  });
  rangeSelect.addEventListener('change', () => {
    custom.hidden = rangeSelect.value !== 'custom';
    void runAll();
  });
  fromInput.addEventListener('change', () => void runAll());
  toInput.addEventListener('change', () => void runAll());
  let timer: ReturnType<typeof setInterval> | undefined;
  refreshSelect.addEventListener('change', () => {
    clearInterval(timer);
    const s = Number(refreshSelect.value);
    if (s > 0) timer = setInterval(() => void runAll(), s * 1000);
  });
  wsSelect.addEventListener('change', () => {
    client.forget();
    void runAll();
  });

  for (const q of initial.queries.length ? initial.queries : ['']) addPanel(q);

  void ctx.api.listWorkspaces().then((list: WorkspaceSummary[]) => {
    replace(wsSelect, ...list.map((w) => h('option', { value: w.workspaceId, selected: w.workspaceId === initialWorkspace }, `${w.alias} (${w.workspaceId})`)));
    if (!list.length) replace(panels[0]!.el.querySelector('.query-status')!, 'Create a workspace first.');
    else if (initial.queries.length) void runAll();
  });

  return {
    el,
    dispose() {
      clearInterval(timer);
      for (const p of panels) p.destroy();
    },
  };
}
