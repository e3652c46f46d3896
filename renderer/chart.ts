// A time-series chart on uPlot: legend with live hover values, drag to zoom, double-click to
// reset, resizes with its container. Registered by name on window.ampuleCharts so tests (and a
// curious user's devtools) can read what is actually plotted.
import uPlot from 'uplot';
import { h } from './dom';
import { formatValue } from './format';
import type { AlignedSeries } from './series';

declare global {
  interface Window {
    ampuleCharts?: Record<string, uPlot>;
  }
}

const PALETTE = ['#2563eb', '#16a34a', '#dc2626', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#ea580c', '#4f46e5'];

const BINARY_INCRS = Array.from({ length: 7 }, (_, k) => [1, 2, 5, 10, 20, 50, 100, 200, 500].map((m) => m * 1024 ** k)).flat();

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

  /**
   * Draws `data`. `view.xRange` ([start, end], Unix seconds) is what the x axis spans — the range
   * the user chose, not just where samples happen to be; double-click returns to it after a zoom.
   */
  setData(data: AlignedSeries, view: { unit?: string; xRange?: readonly [number, number] } = {}): void {
    this.plot?.destroy();
    const unit = view.unit ?? this.opts.unit ?? '';
    const fmt = (v: number | null) => (v === null || v === undefined ? '—' : formatValue(v, unit));
    const xRange = view.xRange;
    const options: uPlot.Options = {
      width: Math.max(240, this.el.clientWidth || 800),
      height: this.opts.height ?? 320,
      cursor: { drag: { x: true, y: false, setScale: true }, focus: { prox: 16 } },
      focus: { alpha: 0.35 },
      legend: { live: true },
      scales: { x: { time: true } },
      axes: [
        { stroke: '#475569', grid: { stroke: '#e2e8f0' } },
        {
          stroke: '#475569',
          grid: { stroke: '#e2e8f0' },
          values: (_u, ticks) => ticks.map((t) => formatValue(t, unit)),
          // Bytes are labelled in KiB/MiB/GiB: ticks on round binary steps read as round numbers.
          ...(unit.startsWith('B') ? { incrs: BINARY_INCRS } : {}),
          // As wide as the longest label (about 7 px a character at 12 px), so none is cut.
          size: (_u, values) => 18 + 7 * Math.max(3, ...(values ?? []).map((v) => String(v).length)),
        },
      ],
      series: [
        { label: 'Time' },
        ...data.series.map((s, i) => ({ label: s.name, stroke: colorOf(i), width: 1.5, spanGaps: false, points: { show: data.timestamps.length < 60 }, value: (_u: uPlot, v: number | null) => fmt(v) })),
      ],
    };
    const columns: uPlot.AlignedData = [data.timestamps, ...data.series.map((s) => s.values)];
    const plot = new uPlot(options, columns, this.el);
    const fullRange = () => {
      plot.setData(plot.data, true);
      if (xRange) plot.setScale('x', { min: xRange[0], max: xRange[1] });
    };
    fullRange();
    plot.over.addEventListener('dblclick', fullRange);
    this.plot = plot;
    (window.ampuleCharts ??= {})[this.opts.name] = this.plot;
  }

  /** Removes what is drawn (the "no data" state shows instead). */
  clear(): void {
    this.plot?.destroy();
    this.plot = null;
    if (window.ampuleCharts) delete window.ampuleCharts[this.opts.name];
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
