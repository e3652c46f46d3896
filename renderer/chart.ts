// A time-series chart on uPlot: legend with live hover values, drag to zoom, double-click to
// reset, resizes with its container. Registered by name on window.ampuleCharts so tests (and a
// curious user's devtools) can read what is actually plotted.
import uPlot from 'uplot';
import { h } from './dom';
import { formatNumber } from './format';
import type { AlignedSeries } from './series';

declare global {
  interface Window {
    ampuleCharts?: Record<string, uPlot>;
  }
}

const PALETTE = ['#2563eb', '#16a34a', '#dc2626', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#ea580c', '#4f46e5'];

export function colorOf(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

export interface ChartOptions {
  /** Registry name (window.ampuleCharts[name]). */
  readonly name: string;
  readonly height?: number;
  /** Unit appended to y values in the legend. */
  readonly unit?: string;
  readonly title?: string;
}

export class TimeChart {
  readonly el: HTMLElement;
  private plot: uPlot | null = null;
  private readonly resize = new ResizeObserver(() => this.fit());

  constructor(private readonly opts: ChartOptions) {
    this.el = h('div', { class: 'chart', role: 'figure', 'aria-label': opts.title ?? 'time series chart' });
    this.resize.observe(this.el);
  }

  setData(data: AlignedSeries): void {
    this.plot?.destroy();
    const fmt = (v: number | null) => (v === null || v === undefined ? '—' : formatNumber(v) + (this.opts.unit ?? ''));
    const options: uPlot.Options = {
      width: Math.max(300, this.el.clientWidth || 800),
      height: this.opts.height ?? 320,
      cursor: { drag: { x: true, y: false, setScale: true }, focus: { prox: 16 } },
      focus: { alpha: 0.35 },
      legend: { live: true },
      scales: { x: { time: true } },
      axes: [{ stroke: '#475569', grid: { stroke: '#e2e8f0' } }, { stroke: '#475569', grid: { stroke: '#e2e8f0' }, size: 64, values: (_u, ticks) => ticks.map((t) => formatNumber(t)) }],
      series: [
        { label: 'Time' },
        ...data.series.map((s, i) => ({ label: s.name, stroke: colorOf(i), width: 1.5, spanGaps: false, points: { show: data.timestamps.length < 60 }, value: (_u: uPlot, v: number | null) => fmt(v) })),
      ],
    };
    const columns: uPlot.AlignedData = [data.timestamps, ...data.series.map((s) => s.values)];
    this.plot = new uPlot(options, columns, this.el);
    this.plot.over.addEventListener('dblclick', () => this.plot?.setData(this.plot.data, true));
    (window.ampuleCharts ??= {})[this.opts.name] = this.plot;
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot?.destroy();
    this.plot = null;
    if (window.ampuleCharts) delete window.ampuleCharts[this.opts.name];
  }

  private fit(): void {
    if (this.plot && this.el.clientWidth > 0 && Math.abs(this.plot.width - this.el.clientWidth) > 2) {
      this.plot.setSize({ width: this.el.clientWidth, height: this.opts.height ?? 320 });
    }
  }
}
