// Each workspace's own ingestion figures over time, kept in memory in 15-second buckets for the
// last two hours: accepted samples/s and series (sampled from the store's counters, so it works
// whoever ingests) and rejected samples by reason (as each workspace's ingester reports them).
import type { StatsRange, IngestStats } from '../../shared/api';
import type { WorkspaceStore } from '../core/workspace-store';

export const BUCKET_MS = 15_000;
const KEEP_BUCKETS = (2 * 3600_000) / BUCKET_MS;

interface Bucket {
  /** Bucket start, ms. */
  readonly t: number;
  samplesPerSecond: number | null;
  series: number | null;
  rejected: Map<string, number>;
}

interface WorkspaceTrack {
  buckets: Bucket[];
  lastSamples: number | null;
  lastAt: number;
}

interface StoreSource {
  store(workspaceId: string): Pick<WorkspaceStore, 'stats'>;
  onIngestRejected(listener: (workspaceId: string, reason: string, count: number) => void): () => void;
}

export class IngestMonitor {
  private readonly tracks = new Map<string, WorkspaceTrack>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  /** Samples the stores of `workspaces()` every bucket and counts their ingesters' rejections, until stop(). */
  start(source: StoreSource, workspaces: () => readonly string[]): void {
    this.stop();
    this.unsubscribe = source.onIngestRejected((id, reason, count) => this.reject(id, reason, count));
    const tick = () => {
      for (const id of workspaces()) {
        try {
          this.observe(id, source.store(id).stats());
        } catch {
          /* a workspace being deleted: nothing to sample */
        }
      }
    };
    tick();
    this.timer = setInterval(tick, BUCKET_MS);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Records the store's counters now; the rate is the sample count's growth since the last call. */
  observe(workspaceId: string, stats: { series: number; samples: number }): void {
    const now = this.now();
    const track = this.track(workspaceId);
    const b = this.bucket(track, now);
    if (track.lastSamples !== null && now > track.lastAt) {
      b.samplesPerSecond = (Math.max(0, stats.samples - track.lastSamples) * 1000) / (now - track.lastAt);
    }
    b.series = stats.series;
    track.lastSamples = stats.samples;
    track.lastAt = now;
  }

  reject(workspaceId: string, reason: string, count = 1): void {
    const b = this.bucket(this.track(workspaceId), this.now());
    b.rejected.set(reason, (b.rejected.get(reason) ?? 0) + count);
  }

  /** Latest accepted rate (samples/s), 0 when unknown. */
  currentRate(workspaceId: string): number {
    const buckets = this.tracks.get(workspaceId)?.buckets ?? [];
    for (let i = buckets.length - 1; i >= 0 && i >= buckets.length - 5; i--) {
      const v = buckets[i]!.samplesPerSecond;
      if (v !== null) return v;
    }
    return 0;
  }

  forget(workspaceId: string): void {
    this.tracks.delete(workspaceId);
  }

  series(workspaceId: string, range: StatsRange): IngestStats {
    const step = Math.max(BUCKET_MS, Math.round(range.step * 1000 / BUCKET_MS) * BUCKET_MS);
    const start = Math.floor((range.start * 1000) / step) * step;
    const end = range.end * 1000;
    const buckets = this.tracks.get(workspaceId)?.buckets ?? [];
    const timestamps: number[] = [];
    const rate: (number | null)[] = [];
    const series: (number | null)[] = [];
    const reasons = new Set<string>();
    for (const b of buckets) for (const r of b.rejected.keys()) reasons.add(r);
    const rejected = new Map([...reasons].map((r) => [r, [] as (number | null)[]]));
    let i = 0;
    for (let t = start; t <= end; t += step) {
      while (i < buckets.length && buckets[i]!.t < t) i++;
      let j = i, rateSum = 0, rateN = 0, lastSeries: number | null = null;
      const rej = new Map<string, number>();
      for (; j < buckets.length && buckets[j]!.t < t + step; j++) {
        const b = buckets[j]!;
        if (b.samplesPerSecond !== null) (rateSum += b.samplesPerSecond), rateN++;
        if (b.series !== null) lastSeries = b.series;
        for (const [r, n] of b.rejected) rej.set(r, (rej.get(r) ?? 0) + n);
      }
      timestamps.push(t / 1000);
      rate.push(rateN ? rateSum / rateN : null);
      series.push(lastSeries);
      for (const [r, values] of rejected) values.push(j > i ? (rej.get(r) ?? 0) / (step / 1000) : null);
    }
    return { timestamps, samplesPerSecond: rate, activeSeries: series, rejected: [...rejected].map(([reason, values]) => ({ reason, values })) };
  }

  private track(workspaceId: string): WorkspaceTrack {
    let t = this.tracks.get(workspaceId);
    if (!t) this.tracks.set(workspaceId, (t = { buckets: [], lastSamples: null, lastAt: 0 }));
    return t;
  }

  private bucket(track: WorkspaceTrack, now: number): Bucket {
    const t = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    const last = track.buckets.at(-1);
    if (last && last.t === t) return last;
    const b: Bucket = { t, samplesPerSecond: null, series: null, rejected: new Map() };
    track.buckets.push(b);
    if (track.buckets.length > KEEP_BUCKETS) track.buckets.splice(0, track.buckets.length - KEEP_BUCKETS);
    return b;
  }
}
