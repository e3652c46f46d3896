// How many concurrent sends a destination needs, as Prometheus's queue manager decides it
// (storage/remote/queue_manager.go, calculateDesiredShards): enough shards to carry the incoming
// rate plus 5% of the backlog per second, at the measured time each sample takes to send; changes
// within ±30% of the current count are ignored; never fewer while more than 10 s behind; clamped
// to [min, max]. Rates are exponentially weighted moving averages updated every 10 s.

/** Prometheus's ewmaRate: alpha 0.2, ticked every shardUpdateDuration (10 s). */
export class EwmaRate {
  private pending = 0;
  private value = 0;
  private started = false;

  constructor(
    private readonly alpha = 0.2,
    private readonly intervalSeconds = 10,
  ) {}

  incr(n: number): void {
    this.pending += n;
  }

  tick(): void {
    const instant = this.pending / this.intervalSeconds;
    this.pending = 0;
    if (this.started) this.value += this.alpha * (instant - this.value);
    else {
      this.value = instant;
      this.started = true;
    }
  }

  rate(): number {
    return this.value;
  }
}

export const SHARD_UPDATE_SECONDS = 10;
const SHARD_TOLERANCE = 0.3;
const BACKLOG_CATCHUP = 0.05;
const NO_DOWNSHARD_DELAY_SECONDS = 10;

export interface ShardInputs {
  /** Samples per second arriving (written to the workspace's log). */
  readonly inRate: number;
  /** Samples per second sent (acknowledged or failed). */
  readonly outRate: number;
  /** Samples per second dropped before sending (relabelled away). */
  readonly droppedRate: number;
  /** Seconds spent sending per second (summed over shards). */
  readonly outDurationRate: number;
  /** Newest timestamp written minus newest sent, in seconds. */
  readonly delaySeconds: number;
  readonly current: number;
  readonly minShards: number;
  readonly maxShards: number;
  /** Seconds since the last successful send, and the batch deadline: no resharding while sends fail. */
  readonly secondsSinceLastSend: number;
  readonly batchSendDeadlineSeconds: number;
}

export function desiredShards(x: ShardInputs): number {
  if (x.secondsSinceLastSend > 2 * x.batchSendDeadlineSeconds) return x.current;
  if (x.outRate <= 0) return x.current;
  const keptRatio = x.outRate / (x.droppedRate + x.outRate);
  const pending = x.delaySeconds * x.inRate * keptRatio;
  const timePerSample = x.outDurationRate / x.outRate;
  let desired = timePerSample * (x.inRate * keptRatio + BACKLOG_CATCHUP * pending);
  const lower = x.current * (1 - SHARD_TOLERANCE);
  const upper = x.current * (1 + SHARD_TOLERANCE);
  desired = Math.ceil(desired);
  if (lower <= desired && desired <= upper) return x.current;
  let n = desired;
  if (n < x.current && x.delaySeconds > NO_DOWNSHARD_DELAY_SECONDS) return x.current;
  if (n > x.maxShards) n = x.maxShards;
  else if (n < x.minShards) n = x.minShards;
  return n;
}
