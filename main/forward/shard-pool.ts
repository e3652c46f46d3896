// N shards sending concurrently, as Prometheus's queue manager runs them: a series always goes to
// the same shard (by a hash of its labels), each shard sends one batch at a time, so every series
// arrives in order. A batch leaves when it holds max_samples_per_send samples or its oldest sample
// has waited batch_send_deadline. Every sample carries the position of the log record it came
// from; `resumePosition` is where reading must restart after a crash so that nothing unacknowledged
// is lost (only batches in flight are sent twice).
import type { Labels } from '../../shared/labels';
import type { FloatHistogram } from '../tsdb/histogram';
import { Batch, type BatchSeries } from './batch';
import { RemoteWriteEncoder, type ProtobufMessage } from './encode';
import type { RemoteWriteSender } from './sender';
import { desiredShards, EwmaRate } from './shards';

export interface ShardPoolOptions {
  readonly shards: number;
  readonly maxSamplesPerSend: number;
  readonly batchSendDeadlineMs: number;
  /** Samples a shard may hold (filling plus waiting) before `append` refuses. */
  readonly capacity: number;
  readonly message: ProtobufMessage;
  /** Called after each batch is acknowledged (or dropped): the resume position may have moved. */
  readonly onAcked?: () => void;
  /** Called just before a batch is sent (sentFrontiers moved): persisted, so a restart knows what the receiver may already hold. */
  readonly onSending?: () => void;
}

class Shard {
  filling = new Batch();
  filled: Batch[] = [];
  /** Sent batches kept for reuse, so their sample arrays are not allocated again. */
  free: Batch[] = [];
  index = new Map<Labels, BatchSeries>();
  /** Per batch in `filled` order: [position, samples] runs (positions only grow, so a run list, not a map). */
  positions: number[][] = [];
  /** The same for `filling`: position, samples, position, samples… */
  fillingPositions: number[] = [];
  /** [position, ordinal] of the last sample of each batch in `filled`. */
  lasts: [number, number][] = [];
  /** Position and ordinal of the last sample of `filling` (two numbers: no array per sample). */
  fillingLastPosition = -1;
  fillingLastOrdinal = -1;
  /** [position, ordinal] of the last sample the receiver acknowledged (or dropped) from this shard. */
  acked: [number, number] = [-1, -1];
  /** [position, ordinal] of the last sample sent (acknowledged or not). */
  sent: [number, number] = [-1, -1];
  held = 0;
  sending: Promise<void> | null = null;
  timer: NodeJS.Timeout | null = null;
  readonly encoder = new RemoteWriteEncoder();
}

export class ShardPool {
  private shards: Shard[] = [];
  /** Samples not yet acknowledged or dropped, by position, in increasing position order. */
  private readonly outstanding = new Map<number, number>();
  /** Samples appended at `lastPosition` not yet added to `outstanding` (added on a new position, a cut or a look). */
  private unrecorded = 0;
  private lastPosition = -1;
  private readonly abort = new AbortController();
  private roomWaiters: (() => void)[] = [];
  readonly outSamples = new EwmaRate();
  readonly outDuration = new EwmaRate();
  lastSendAt = 0;

  constructor(
    private readonly sender: RemoteWriteSender,
    private opts: ShardPoolOptions,
  ) {
    this.start(opts.shards);
  }

  get shardCount(): number {
    return this.shards.length;
  }

  /**
   * Queues one sample — a float `v`, or the native histogram `h` when given — and false when its
   * shard is full (wait with `room()` and try again).
   */
  append(labels: Labels, hash: number, t: number, v: number, position: number, ordinal = 0, h?: FloatHistogram): boolean {
    if (position < this.lastPosition) throw new Error(`positions must not go back (${position} after ${this.lastPosition})`);
    const shard = this.shards[hash % this.shards.length]!;
    if (shard.held >= this.opts.capacity) return false;
    let s = shard.index.get(labels);
    if (s === undefined) {
      s = shard.filling.add(labels);
      shard.index.set(labels, s);
    }
    if (h === undefined) shard.filling.sample(s, t, v);
    else shard.filling.histogram(s, t, h);
    shard.held++;
    const fp = shard.fillingPositions;
    if (fp.length > 0 && fp[fp.length - 2] === position) fp[fp.length - 1]!++;
    else fp.push(position, 1);
    shard.fillingLastPosition = position;
    shard.fillingLastOrdinal = ordinal;
    if (position !== this.lastPosition) this.record();
    this.unrecorded++;
    this.lastPosition = position;
    if (shard.filling.samples >= this.opts.maxSamplesPerSend) this.cut(shard);
    else if (shard.timer === null) shard.timer = setTimeout(() => this.cut(shard), this.opts.batchSendDeadlineMs);
    return true;
  }

  /** Resolves when some shard has made room. */
  room(): Promise<void> {
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** The smallest position with a sample not yet acknowledged or dropped; past the last one when none. */
  resumePosition(): number {
    this.record();
    for (const [p, n] of this.outstanding) if (n > 0) return p;
    return this.lastPosition + 1;
  }

  /**
   * Per shard, [position, ordinal] of the last sample acknowledged. A series always goes to the
   * same shard and a shard's batches are acknowledged in order, so after a restart with the same
   * shard count a sample at or before its shard's frontier is known to be at the receiver: skipping
   * those leaves only batches in flight to be sent twice (and no out-of-order resend to refuse).
   */
  ackedFrontiers(): [number, number][] {
    return this.shards.map((s) => [...s.acked]);
  }

  /** Per shard, [position, ordinal] of the last sample sent: past the acked frontier only while a batch is in flight. */
  sentFrontiers(): [number, number][] {
    return this.shards.map((s) => [...s.sent]);
  }

  /** Ends shard `k`'s filling batch now (shard k takes the series whose hash is k modulo the shard count). */
  cutShard(k: number): void {
    this.cut(this.shards[k]!);
  }

  /** Sends everything queued and waits for it. */
  async flush(): Promise<void> {
    for (const s of this.shards) if (s.filling.samples > 0) this.cut(s);
    while (this.shards.some((s) => s.sending !== null)) await Promise.all(this.shards.map((s) => s.sending));
  }

  /** Flushes, then runs `n` shards (the old ones stop first, so order per series holds). */
  async reshard(n: number): Promise<void> {
    await this.flush();
    this.start(n);
  }

  /**
   * Called every SHARD_UPDATE_SECONDS: updates the send rates and returns how many shards the
   * queue manager's formula wants, given what only the reader knows (samples per second written to
   * the log and dropped by relabelling, and how far behind the newest written sample it is).
   */
  desiredShards(inRate: number, droppedRate: number, delaySeconds: number, minShards: number, maxShards: number): number {
    this.outSamples.tick();
    this.outDuration.tick();
    return desiredShards({
      inRate,
      outRate: this.outSamples.rate(),
      droppedRate,
      outDurationRate: this.outDuration.rate(),
      delaySeconds,
      current: this.shards.length,
      minShards,
      maxShards,
      secondsSinceLastSend: (Date.now() - this.lastSendAt) / 1000,
      batchSendDeadlineSeconds: this.opts.batchSendDeadlineMs / 1000,
    });
  }

  /** Ends sending at once; what was not acknowledged stays outstanding (it is read again after restart). */
  stop(): void {
    this.abort.abort();
    for (const s of this.shards) if (s.timer) clearTimeout(s.timer);
  }

  private start(n: number): void {
    const frontier = this.shards.reduce<[number, number]>((m, s) => (s.acked[0] > m[0] || (s.acked[0] === m[0] && s.acked[1] > m[1]) ? s.acked : m), [-1, -1]);
    this.shards = Array.from({ length: Math.max(1, n) }, () => new Shard());
    // After a flush every shard's samples are acknowledged: the newest frontier holds for all.
    for (const s of this.shards) {
      s.acked = [...frontier];
      s.sent = [...frontier];
    }
  }

  /** Adds the samples counted at the last position to `outstanding`. */
  private record(): void {
    if (this.unrecorded === 0) return;
    this.outstanding.set(this.lastPosition, (this.outstanding.get(this.lastPosition) ?? 0) + this.unrecorded);
    this.unrecorded = 0;
  }

  private cut(shard: Shard): void {
    if (shard.timer) {
      clearTimeout(shard.timer);
      shard.timer = null;
    }
    if (shard.filling.samples === 0) return;
    shard.filled.push(shard.filling);
    this.record(); // the batch's samples are outstanding before it can be acknowledged
    shard.positions.push(shard.fillingPositions);
    shard.lasts.push([shard.fillingLastPosition, shard.fillingLastOrdinal]);
    shard.filling = shard.free.pop() ?? new Batch();
    shard.fillingPositions = [];
    shard.index = new Map();
    if (shard.sending === null) shard.sending = this.drain(shard);
  }

  private async drain(shard: Shard): Promise<void> {
    try {
      while (shard.filled.length > 0 && !this.abort.signal.aborted) {
        const batch = shard.filled[0]!;
        const body = shard.encoder.encode(batch, this.opts.message);
        shard.sent = shard.lasts[0]!;
        this.opts.onSending?.();
        const began = performance.now();
        try {
          await this.sender.send(body, batch.samples, this.abort.signal);
        } catch {
          return; // aborted: the samples stay outstanding
        }
        this.outSamples.incr(batch.samples);
        this.outDuration.incr((performance.now() - began) / 1000);
        this.lastSendAt = Date.now();
        shard.filled.shift();
        shard.acked = shard.lasts.shift()!;
        const runs = shard.positions.shift()!;
        for (let k = 0; k < runs.length; k += 2) {
          const p = runs[k]!;
          const n = runs[k + 1]!;
          const left = this.outstanding.get(p)! - n;
          if (left === 0) this.outstanding.delete(p);
          else this.outstanding.set(p, left);
        }
        shard.held -= batch.samples;
        batch.clear();
        if (shard.free.length < 2) shard.free.push(batch);
        this.opts.onAcked?.();
        const waiters = this.roomWaiters;
        this.roomWaiters = [];
        for (const w of waiters) w();
      }
    } finally {
      shard.sending = null;
    }
  }
}
