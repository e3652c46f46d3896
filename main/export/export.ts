// `ampule export`: a workspace's series streamed out, page by page, to an OpenMetrics text sink or
// a remote-write receiver. The store is only read; nothing is kept beyond the page in hand.
import { compareLabels, getLabel, labelsKey, METRIC_NAME, type Labels } from '../../shared/labels';
import type { MetricMetadata } from '../ingest/metadata';
import type { Matcher, Querier } from '../tsdb/types';
import { EOF_LINE, expressible, familyHeader, familyOf, seriesText, timestampText, valueText, type Family } from './openmetrics';
import { seriesRuns, type SeriesRun } from './series-pages';

/** Bytes out with backpressure: write() resolves once the sink can take more. */
export interface ByteSink {
  write(chunk: string): Promise<void>;
}

export interface ExportProgress {
  readonly seriesDone: number;
  readonly seriesTotal: number;
  readonly samples: number;
}

export interface ExportResult extends ExportProgress {
  /** Stale markers left out of OpenMetrics text (it cannot say "gone"); remote write sends them. */
  readonly staleMarkersSkipped: number;
  /** Native-histogram samples left out (neither OpenMetrics 1.0 text nor this exporter's remote write carries them yet). */
  readonly histogramSamplesSkipped: number;
  /** Series whose names OpenMetrics 1.0 cannot spell (UTF-8 names from remote write 2.0). */
  readonly seriesSkipped: number;
}

export interface ExportSource {
  readonly querier: Querier;
  /** The stored TYPE/HELP/UNIT of a metric (the newest entry), when known. */
  metadata(metric: string): MetricMetadata | undefined;
}

export interface ExportOptions {
  /** Series selectors, each a list of matchers; a series matching any is exported. */
  readonly selectors: readonly (readonly Matcher[])[];
  readonly mint: number;
  readonly maxt: number;
  readonly pageSamples?: number;
  onProgress?(p: ExportProgress): void;
  readonly signal?: AbortSignal;
}

/** Where the runs go; the OpenMetrics writer and the remote-write sender implement it. */
export interface ExportTarget {
  /** Orders the series (OpenMetrics: by family) and says which it can carry. */
  plan(series: Labels[]): { series: Labels[]; skipped: number };
  run(run: SeriesRun): Promise<void>;
  end(): Promise<void>;
  readonly staleMarkersSkipped: number;
}

export class ExportAborted extends Error {
  constructor() {
    super('export interrupted');
    this.name = 'ExportAborted';
  }
}

/** Every series matching any selector with a sample in [mint, maxt], each once. */
export function matchingSeries(querier: Querier, selectors: readonly (readonly Matcher[])[], mint: number, maxt: number): Labels[] {
  const seen = new Map<string, Labels>();
  for (const matchers of selectors) for (const l of querier.series(matchers, mint, maxt)) seen.set(labelsKey(l), l);
  return [...seen.values()];
}

export async function runExport(source: ExportSource, target: ExportTarget, opts: ExportOptions): Promise<ExportResult> {
  const { series, skipped } = target.plan(matchingSeries(source.querier, opts.selectors, opts.mint, opts.maxt));
  let seriesDone = 0;
  let samples = 0;
  let histogramSamplesSkipped = 0;
  const progress = (): ExportProgress => ({ seriesDone, seriesTotal: series.length, samples });
  opts.onProgress?.(progress());
  const between = async (): Promise<void> => {
    if (opts.signal?.aborted) throw new ExportAborted();
    opts.onProgress?.(progress());
    // Yield to the event loop: signals, sockets and the progress bar get their turn.
    await new Promise((r) => setImmediate(r));
  };
  for await (const run of seriesRuns(source.querier, series, { mint: opts.mint, maxt: opts.maxt, ...(opts.pageSamples ? { pageSamples: opts.pageSamples } : {}), between })) {
    await target.run(run);
    samples += run.timestamps.length;
    histogramSamplesSkipped += run.histogramSamples;
    if (run.last) seriesDone++;
  }
  await target.end();
  opts.onProgress?.(progress());
  return { ...progress(), staleMarkersSkipped: target.staleMarkersSkipped, histogramSamplesSkipped, seriesSkipped: skipped };
}

const bits = new BigUint64Array(1);
const floats = new Float64Array(bits.buffer);
const STALE = 0x7ff0000000000002n;
export function isStaleMarker(v: number): boolean {
  if (!Number.isNaN(v)) return false;
  floats[0] = v;
  return bits[0] === STALE;
}

/** Text flushed to the sink in pieces of about this size. */
const FLUSH_CHARS = 64 * 1024;

/** OpenMetrics 1.0 text: families together, each series' samples together and in time order, `# EOF` last. */
export class OpenMetricsTarget implements ExportTarget {
  staleMarkersSkipped = 0;
  private buf = '';
  private readonly families = new Map<string, Family>();
  private current: string | null = null;

  constructor(
    private readonly sink: ByteSink,
    private readonly metadata: (metric: string) => MetricMetadata | undefined,
  ) {}

  private familyFor(labels: Labels): Family {
    const name = getLabel(labels, METRIC_NAME);
    let f = this.families.get(name);
    if (!f) this.families.set(name, (f = familyOf(name, this.metadata)));
    return f;
  }

  plan(all: Labels[]): { series: Labels[]; skipped: number } {
    const ok = all.filter(expressible);
    const keyed = ok.map((labels) => ({ labels, family: this.familyFor(labels).name, name: getLabel(labels, METRIC_NAME) }));
    keyed.sort((a, b) => (a.family < b.family ? -1 : a.family > b.family ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : compareLabels(a.labels, b.labels)));
    return { series: keyed.map((k) => k.labels), skipped: all.length - ok.length };
  }

  async run(run: SeriesRun): Promise<void> {
    const f = this.familyFor(run.labels);
    if (f.name !== this.current) {
      this.current = f.name;
      this.buf += familyHeader(f);
    }
    const prefix = seriesText(run.labels) + ' ';
    const { timestamps: ts, values: vs } = run;
    for (let i = 0; i < ts.length; i++) {
      const v = vs[i]!;
      if (isStaleMarker(v)) {
        this.staleMarkersSkipped++;
        continue;
      }
      this.buf += `${prefix}${valueText(v)} ${timestampText(ts[i]!)}\n`;
      if (this.buf.length >= FLUSH_CHARS) await this.flush();
    }
  }

  async end(): Promise<void> {
    this.buf += EOF_LINE;
    await this.flush();
  }

  private async flush(): Promise<void> {
    const text = this.buf;
    this.buf = '';
    await this.sink.write(text);
  }
}
