// The durable queue of one destination: it follows the workspace's committed log (CommittedLog)
// from its persisted position, relabels, hands samples to the shard pool, and persists the
// position each time the receiver acknowledges a batch — the first log sequence with a sample not
// yet acknowledged, so after kill -9 reading resumes there and only batches in flight are sent
// twice. Nothing is held only in memory: what is not acknowledged is read again from the log.
// Records compaction deleted before they were read, and a backfill ("everything since T"), are
// read by time range through the Querier, in time order, one window at a time.
import type { ForwardDestinationStatus } from '../../shared/api';
import type { Labels } from '../../shared/labels';
import type { CommittedLog } from '../tsdb/committed-reader';
import type { FloatHistogram } from '../tsdb/histogram';
import type { Querier } from '../tsdb/types';
import type { Destination } from './destination';
import type { DestinationStore, QueuePosition } from './destination-store';
import { relabel } from './relabel';
import type { RemoteWriteSender } from './sender';
import { ShardPool } from './shard-pool';
import { EwmaRate, SHARD_UPDATE_SECONDS } from './shards';

/** Records read from the log at a time. */
const READ_RECORDS = 64;
/** How often an idle queue looks for new commits. */
const POLL_MS = 200;
/** Time range read per step of a backfill. */
const BACKFILL_WINDOW_MS = 15 * 60_000;
const ALL_SERIES = [{ type: '=~' as const, name: '__name__', value: '^(?:.+)$' }];

export interface QueueSource {
  log(): CommittedLog;
  querier(): Querier;
}

export interface QueueOptions {
  readonly workspaceId: string;
  readonly id: string;
  readonly destination: Destination;
  readonly sender: RemoteWriteSender;
  readonly source: QueueSource;
  readonly store: DestinationStore;
  readonly now?: () => number;
}

export class DestinationQueue {
  private stopped = false;
  private readonly stopSignal: Promise<void>;
  private wake: () => void = () => {};
  private pool: ShardPool;
  private pos: QueuePosition;
  private next: number;
  /** Highest log sequence whose samples went to the pool, and each read record's newest timestamp. */
  private lastAppendedSeq = -1;
  private readonly pendingMaxT: [number, number][] = [];
  private relabelledAway = 0;
  /**
   * Per shard, from before a restart: the last [sequence, index] the receiver acknowledged, the last
   * one sent (the receiver may hold the batch in flight then), and whether that shard's batch now
   * fills with such resent samples. Null once reading is past them all.
   */
  private resume: { acked: Frontier[]; sent: Frontier[]; resending: boolean[] } | null;
  private readonly cache = new Map<number, { labels: Labels; hash: number } | null>();
  private readonly inRate = new EwmaRate();
  private readonly droppedRate = new EwmaRate();
  private fatal: string | null = null;
  private backfilling = false;
  private readonly loopDone: Promise<void>;
  private reshardTimer: NodeJS.Timeout;

  constructor(private readonly o: QueueOptions) {
    this.stopSignal = new Promise((resolve) => (this.wake = resolve));
    this.pos = o.store.position(o.workspaceId, o.id);
    this.next = this.pos.seq;
    const q = o.destination.queue;
    // Resume with the shard count the frontiers were recorded for (when the queue config still allows it).
    const saved = this.pos.shards;
    const resumeShards = saved && saved.frontiers.length === saved.count && saved.count >= q.minShards && saved.count <= q.maxShards ? saved : null;
    this.resume = resumeShards
      ? {
          acked: resumeShards.frontiers.map((f) => [f[0], f[1]]),
          sent: (resumeShards.sent?.length === resumeShards.count ? resumeShards.sent : resumeShards.frontiers).map((f) => [f[0], f[1]]),
          resending: resumeShards.frontiers.map(() => false),
        }
      : null;
    this.pool = new ShardPool(o.sender, {
      shards: resumeShards ? resumeShards.count : q.minShards,
      maxSamplesPerSend: q.maxSamplesPerSend,
      batchSendDeadlineMs: q.batchSendDeadlineMs,
      capacity: q.capacity,
      message: o.destination.protobufMessage,
      onAcked: () => this.persist(),
      onSending: () => this.persist(),
    });
    this.reshardTimer = setInterval(() => void this.reshard(), SHARD_UPDATE_SECONDS * 1000);
    this.reshardTimer.unref();
    this.loopDone = this.loop().catch((e: unknown) => {
      this.fatal = (e as Error).message;
    });
  }

  private get now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Stops sending; the position stays where the receiver's last acknowledgement put it. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.reshardTimer);
    this.wake();
    this.pool.stop();
    await this.loopDone;
    this.persist();
  }

  /** Sends everything read so far and waits for the acknowledgements (tests, shutdown with a reachable receiver). */
  async drain(): Promise<void> {
    await this.pool.flush();
    this.persist();
  }

  status(): ForwardDestinationStatus {
    const log = this.o.source.log();
    const backlog = Math.max(0, log.nextSeq() - this.next);
    const caughtUp = backlog === 0 && this.resumeSeq() >= this.next && !this.backfilling;
    const acked = this.pos.ackedMaxT;
    const err = this.fatal ? { at: this.now, message: this.fatal } : this.o.sender.lastError;
    const d = this.o.destination;
    return {
      id: this.o.id,
      name: d.name ?? this.o.id,
      url: d.url.href,
      protocol: d.protobufMessage === 'prometheus.WriteRequest' ? '1.0' : '2.0',
      state: this.fatal ? 'failed' : this.stopped ? 'stopped' : this.backfilling ? 'backfilling' : 'running',
      lagSeconds: caughtUp || acked === null ? 0 : Math.max(0, (this.now - acked) / 1000),
      backlogRecords: backlog,
      shards: this.pool.shardCount,
      samples: { ...this.o.sender.counters, droppedByReason: { ...this.o.sender.counters.droppedByReason }, relabelledAway: this.relabelledAway },
      lastError: err ? { at: new Date(err.at).toISOString(), message: err.message } : null,
      tls: { customCa: d.ca !== undefined },
    };
  }

  /** The first log sequence with a sample not yet acknowledged. */
  private resumeSeq(): number {
    const r = this.pool.resumePosition();
    return r <= this.lastAppendedSeq ? r : this.next;
  }

  /** Whether `pos` is what control.db holds: a failed write is retried even when nothing moved since. */
  private saved = true;

  private persist(): void {
    const seq = this.resumeSeq();
    let acked = this.pos.ackedMaxT;
    while (this.pendingMaxT.length > 0 && this.pendingMaxT[0]![0] < seq) {
      const t = this.pendingMaxT.shift()![1];
      if (acked === null || t > acked) acked = t;
    }
    if (this.saved && seq <= this.pos.seq && acked === this.pos.ackedMaxT && !this.frontiersMoved()) return;
    this.pos = { ...this.pos, seq: Math.max(seq, this.pos.seq), ackedMaxT: acked, shards: { count: this.pool.shardCount, frontiers: this.merged(this.pool.ackedFrontiers(), this.resume?.acked), sent: this.merged(this.pool.sentFrontiers(), this.resume?.sent) } };
    this.saved = false;
    try {
      this.o.store.setPosition(this.o.workspaceId, this.o.id, this.pos);
      this.saved = true;
    } catch {
      /* control.db busy or closing: the next acknowledgement, or the stop, writes it (a crash meanwhile only resends) */
    }
  }

  private async loop(): Promise<void> {
    if (this.pos.backfill) await this.backfill();
    while (!this.stopped) {
      await this.applyReshard();
      const log = this.o.source.log();
      const read = log.read(this.next, READ_RECORDS);
      if (read.truncatedBefore !== undefined) {
        // Records we had not read were compacted: their samples are in chunk rows, before that time.
        const from = read.truncatedFrom ?? -Infinity;
        const to = Math.min(read.truncatedBefore, this.now + 1);
        const resumeAt = read.records[0]?.seq ?? log.nextSeq();
        if (Number.isFinite(from) && to > from) {
          this.pos = { ...this.pos, backfill: { from, to, next: from } };
          await this.backfill();
        }
        this.next = resumeAt;
        this.persist();
        continue;
      }
      if (read.records.length === 0) {
        // Sequences up to the next commit's hold no log record (head states): nothing to read there.
        // (Commits run on this thread, so none happened between the read and this look.)
        this.next = Math.max(this.next, log.nextSeq());
        if (this.resumeSeq() > this.pos.seq) this.persist();
        await this.idle(POLL_MS);
        continue;
      }
      for (const rec of read.records) {
        const { ids, timestamps, values, count } = rec.samples;
        let maxT = -Infinity;
        for (let i = 0; i < count; i++) {
          const s = this.series(log, ids[i]!);
          this.inRate.incr(1);
          if (s === null) {
            this.relabelledAway++;
            this.droppedRate.incr(1);
            continue;
          }
          const t = timestamps[i]!;
          if (t > maxT) maxT = t;
          if (this.resume && this.atReceiver(s.hash, rec.seq, i)) continue;
          if (!(await this.append(s.labels, s.hash, t, values[i]!, rec.seq, i))) return;
        }
        // Native histograms follow the record's floats; their ordinals continue after them.
        const hs = rec.histograms;
        for (let j = 0; hs !== undefined && j < hs.count; j++) {
          const s = this.series(log, hs.ids[j]!);
          this.inRate.incr(1);
          if (s === null) {
            this.relabelledAway++;
            this.droppedRate.incr(1);
            continue;
          }
          const t = hs.timestamps[j]!;
          if (t > maxT) maxT = t;
          if (this.resume && this.atReceiver(s.hash, rec.seq, count + j)) continue;
          if (!(await this.append(s.labels, s.hash, t, 0, rec.seq, count + j, hs.values[j]!))) return;
        }
        if (maxT > -Infinity) {
          this.lastAppendedSeq = rec.seq;
          this.pendingMaxT.push([rec.seq, maxT]);
        }
        this.next = rec.seq + 1;
      }
      if (this.resumeSeq() > this.pos.seq) this.persist(); // records relabelled away entirely move the position too
    }
  }

  /** Sends [from, to) through the Querier in windows, each acknowledged before the next is read. */
  private async backfill(): Promise<void> {
    this.backfilling = true;
    try {
      while (!this.stopped && this.pos.backfill && this.pos.backfill.next < this.pos.backfill.to) {
        const b = this.pos.backfill;
        const end = Math.min(b.to, b.next + BACKFILL_WINDOW_MS);
        for (const s of this.o.source.querier().select(ALL_SERIES, b.next, end - 1)) {
          const out = relabel(s.labels, this.o.destination.relabel);
          if (out === null) {
            this.relabelledAway += s.timestamps.length + (s.histograms?.timestamps.length ?? 0);
            continue;
          }
          const hash = hashLabels(out);
          for (let i = 0; i < s.timestamps.length; i++) {
            if (!(await this.append(out, hash, s.timestamps[i]!, s.values[i]!, this.next))) return;
          }
          const hs = s.histograms;
          for (let i = 0; hs !== undefined && i < hs.timestamps.length; i++) {
            if (!(await this.append(out, hash, hs.timestamps[i]!, 0, this.next, 0, hs.values[i]!))) return;
          }
        }
        await Promise.race([this.pool.flush(), this.stopSignal]);
        if (this.stopped) return;
        const done = end >= b.to;
        this.pos = { ...this.pos, backfill: done ? undefined : { ...b, next: end }, ackedMaxT: Math.max(this.pos.ackedMaxT ?? -Infinity, end - 1) };
        if (done) delete (this.pos as { backfill?: unknown }).backfill;
        this.o.store.setPosition(this.o.workspaceId, this.o.id, this.pos);
      }
    } finally {
      this.backfilling = false;
    }
  }

  /**
   * Whether a sample was acknowledged before the restart (at or before its shard's frontier: skipped).
   * Samples after it up to the last one sent then may be at the receiver already: they fill a batch
   * of their own. A receiver that holds them refuses that batch as out of order (Prometheus rejects a
   * whole request for one such sample), which drops only them, not new samples batched with them.
   */
  private atReceiver(hash: number, seq: number, i: number): boolean {
    const r = this.resume!;
    const n = r.acked.length;
    if (r.sent.every((x) => seq > x[0])) {
      for (let k = 0; k < n; k++) if (r.resending[k]) this.pool.cutShard(k);
      this.resume = null; // past every frontier: nothing more to skip or keep apart
      return false;
    }
    const k = hash % n;
    if (atOrBefore(seq, i, r.acked[k]!)) return true;
    const resent = atOrBefore(seq, i, r.sent[k]!);
    if (r.resending[k] && !resent) this.pool.cutShard(k);
    r.resending[k] = resent;
    return false;
  }

  /** The pool's frontiers, never behind the ones restored (a shard with nothing sent yet keeps its old one). */
  private merged(now: Frontier[], old: Frontier[] | undefined): Frontier[] {
    if (!old || old.length !== now.length) return now;
    return now.map((x, k) => (atOrBefore(x[0], x[1], old[k]!) ? old[k]! : x));
  }

  private frontiersMoved(): boolean {
    const same = (a: readonly (readonly [number, number])[] | undefined, b: Frontier[]) => a !== undefined && a.length === b.length && a.every((x, k) => x[0] === b[k]![0] && x[1] === b[k]![1]);
    const saved = this.pos.shards;
    return !same(saved?.frontiers, this.pool.ackedFrontiers()) || !same(saved?.sent, this.pool.sentFrontiers());
  }

  private series(log: CommittedLog, id: number): { labels: Labels; hash: number } | null {
    let s = this.cache.get(id);
    if (s !== undefined) return s;
    const labels = log.labels(id);
    const out = labels === undefined ? null : relabel(labels, this.o.destination.relabel);
    s = out === null ? null : { labels: out, hash: hashLabels(out) };
    this.cache.set(id, s);
    return s;
  }

  /** Appends, waiting for room; false when stopped meanwhile. */
  private async append(labels: Labels, hash: number, t: number, v: number, seq: number, ordinal = 0, h?: FloatHistogram): Promise<boolean> {
    while (!this.pool.append(labels, hash, t, v, seq, ordinal, h)) {
      await Promise.race([this.pool.room(), this.stopSignal]);
      if (this.stopped) return false;
    }
    return true;
  }

  private idle(ms: number): Promise<void> {
    return Promise.race([new Promise<void>((r) => setTimeout(r, ms).unref()), this.stopSignal]);
  }

  private async reshard(): Promise<void> {
    if (this.stopped || this.backfilling || this.resume) return; // frontiers are per the restored shard count
    this.inRate.tick();
    this.droppedRate.tick();
    const q = this.o.destination.queue;
    const delay = this.pos.ackedMaxT === null ? 0 : Math.max(0, (this.now - this.pos.ackedMaxT) / 1000);
    const n = this.pool.desiredShards(this.inRate.rate(), this.droppedRate.rate(), delay, q.minShards, q.maxShards);
    // The new count takes effect at the next resharding point: the loop owns appends, so it is applied between reads.
    if (n !== this.pool.shardCount) this.wantShards = n;
  }

  private wantShards: number | null = null;

  /** Applies a pending shard count (the old shards finish first, so each series stays in order). */
  private async applyReshard(): Promise<void> {
    const n = this.wantShards;
    if (n === null) return;
    this.wantShards = null;
    await this.pool.reshard(n);
  }
}

type Frontier = [number, number];

/** Whether sample `i` of log record `seq` is at or before `f` ([sequence, index]). */
function atOrBefore(seq: number, i: number, f: Frontier): boolean {
  return seq < f[0] || (seq === f[0] && i <= f[1]);
}

/**
 * FNV-1a over the label set: a series always goes to the same shard. Its input stays
 * name þ value ÿ … (not labelsKey, whose separators changed): persisted frontiers are per shard,
 * so the shard of a series must not change between versions.
 */
export function hashLabels(labels: Labels): number {
  let h = 0x811c9dc5;
  const mix = (s: string) => {
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  };
  for (const l of labels) {
    mix(l.name);
    mix('\xfe');
    mix(l.value);
    mix('\xff');
  }
  return h >>> 0;
}
