// A workspace's rule scheduler, as Prometheus's rules manager runs groups: every group of every
// namespace on its own timer at its interval, at timestamps aligned as Prometheus's
// Group.EvalTimestamp aligns them (an offset within the interval taken from a hash of the group's
// name and file, so groups spread over the interval and a restart keeps the same times). A group
// runs rule by rule, in order: with a query runner (the query pool's worker threads) each rule's
// query runs there while this thread goes on ingesting, and only the rule's output is appended
// here; without one, rules run on this thread with a setImmediate between them, so ingestion is
// held for at most one rule's query. An evaluation still running when the next is due is not
// stacked: the skipped ones are counted as missed (Prometheus's iterations missed). reload()
// rebuilds the groups from the stored namespaces; an unchanged group keeps its evaluator (and its
// alerts' state), as Prometheus copies state into a reloaded group. Groups present at start get
// their pending alerts' activeAt back from ALERTS_FOR_STATE after their first evaluation.
import { createHash } from 'node:crypto';
import { GroupEvaluator, type EvaluatorOptions, type RuleQueryRunner, type RuleStorage } from './evaluator';
import { restoreForState, type RestoreOptions } from './restore';
import { parseRuleFile, type RuleGroupDef } from './rule-file';

/** Prometheus's global evaluation_interval default. */
export const DEFAULT_EVALUATION_INTERVAL_MS = 60_000;

export interface ScheduledNamespace {
  readonly name: string;
  /** The rule file text. */
  readonly data: string;
}

export interface SchedulerOptions {
  readonly evaluator?: EvaluatorOptions;
  /** Where rule queries run (the query pool); absent: on this thread. */
  readonly queryRunner?: RuleQueryRunner | null;
  /** The interval of a group that sets none. */
  readonly defaultIntervalMs?: number;
  /** Called after each group evaluation with its evaluation timestamp (notifications). */
  readonly afterEval?: (group: ScheduledGroup, ts: number) => void;
  readonly now?: () => number;
  /** False: no timers, groups run only through evaluate() (the benchmark drives them). */
  readonly timers?: boolean;
  /** Outage tolerance and grace period of the alert state restored at start. */
  readonly restore?: RestoreOptions;
}

/** One group as it runs: its evaluator and Prometheus's per-group figures. */
export class ScheduledGroup {
  /** Evaluations started, evaluations with at least one failed rule, intervals skipped. */
  evaluations = 0;
  failed = 0;
  missed = 0;
  /** Wall-clock start (ms) and duration of the last evaluation. */
  lastEvaluation: number | null = null;
  evaluationTimeMs = 0;
  timer: NodeJS.Timeout | null = null;
  running = false;
  /** The evaluation timestamp (ms) of the next run. */
  next = 0;
  /** Loaded at start: its alerts' state is restored from ALERTS_FOR_STATE after its first evaluation. */
  restoring = false;

  constructor(
    /** The namespace the group came from (Prometheus's `file`). */
    readonly file: string,
    readonly evaluator: GroupEvaluator,
    readonly intervalMs: number,
    /** JSON of the definition: an unchanged group survives a reload. */
    readonly fingerprint: string,
  ) {}

  get name(): string {
    return this.evaluator.group.name;
  }
}

/**
 * The offset of a group's evaluations within its interval, from a hash of its name and file
 * (Prometheus hashes the same two labels; the hash function differs, the spreading is the same).
 */
export function groupOffsetMs(name: string, file: string, intervalMs: number): number {
  const h = createHash('sha256').update(`name\xff${name}\xfffile\xff${file}\xff`).digest();
  return Number(h.readBigUInt64BE(0) % BigInt(intervalMs));
}

/** Prometheus's EvalTimestamp: the latest aligned evaluation time at or before `now`. */
export function evalTimestamp(now: number, intervalMs: number, offsetMs: number): number {
  const adj = now - offsetMs;
  return adj - (((adj % intervalMs) + intervalMs) % intervalMs) + offsetMs;
}

export class RuleScheduler {
  private groupsNow: ScheduledGroup[] = [];
  private closed = false;
  /** Only groups present at start restore state, as Prometheus (a group added later starts fresh). */
  private started = false;
  /** Problems of the last reload (a stored file a later version refuses), by namespace. */
  readonly loadErrors = new Map<string, string>();

  constructor(
    private readonly storage: RuleStorage,
    private readonly load: () => readonly ScheduledNamespace[],
    private readonly opts: SchedulerOptions = {},
  ) {
    this.reload();
  }

  private get now(): number {
    return (this.opts.now ?? Date.now)();
  }

  groups(): readonly ScheduledGroup[] {
    return this.groupsNow;
  }

  /** Re-reads the namespaces (call after a namespace was put or deleted). */
  reload(): void {
    if (this.closed) return;
    const old = new Map(this.groupsNow.map((g) => [`${g.file}\x00${g.name}`, g]));
    const next: ScheduledGroup[] = [];
    this.loadErrors.clear();
    for (const ns of this.load()) {
      let groups: readonly RuleGroupDef[];
      try {
        groups = parseRuleFile(ns.data).groups;
      } catch (e) {
        this.loadErrors.set(ns.name, (e as Error).message);
        continue;
      }
      for (const def of groups) {
        const key = `${ns.name}\x00${def.name}`;
        const fingerprint = JSON.stringify(def);
        const prev = old.get(key);
        if (prev && prev.fingerprint === fingerprint) {
          old.delete(key);
          next.push(prev);
          continue;
        }
        const g = new ScheduledGroup(ns.name, new GroupEvaluator(def, this.opts.evaluator), def.intervalMs || (this.opts.defaultIntervalMs ?? DEFAULT_EVALUATION_INTERVAL_MS), fingerprint);
        if (!this.started) {
          g.restoring = true;
          for (const r of g.evaluator.rules) if (r.def.kind === 'alerting') r.restored = false;
        }
        next.push(g);
        this.schedule(g, true);
      }
    }
    for (const g of old.values()) this.stop(g);
    this.groupsNow = next;
    this.started = true;
  }

  private schedule(g: ScheduledGroup, first: boolean): void {
    if (this.closed || this.opts.timers === false) return;
    const now = this.now;
    if (first) g.next = evalTimestamp(now, g.intervalMs, groupOffsetMs(g.name, g.file, g.intervalMs)) + g.intervalMs;
    g.timer = setTimeout(() => void this.tick(g), Math.max(0, g.next - now));
    g.timer.unref();
  }

  private async tick(g: ScheduledGroup): Promise<void> {
    g.timer = null;
    if (this.closed || !this.groupsNow.includes(g)) return;
    const ts = g.next;
    // Intervals that passed while this process was busy are skipped and counted, never run late in a burst.
    const late = Math.floor((this.now - ts) / g.intervalMs);
    if (late > 0) g.missed += late;
    g.next = ts + (Math.max(0, late) + 1) * g.intervalMs;
    try {
      await this.evaluate(g, ts + Math.max(0, late) * g.intervalMs);
    } finally {
      this.schedule(g, false);
    }
  }

  /** Evaluates a group now at `ts`, yielding to the event loop between rules. */
  async evaluate(g: ScheduledGroup, ts: number): Promise<void> {
    if (g.running) {
      g.missed++;
      return;
    }
    g.running = true;
    const started = performance.now();
    g.lastEvaluation = this.now;
    g.evaluations++;
    try {
      const ev = g.evaluator;
      const t = ts - ev.queryOffsetMs;
      for (const rule of ev.rules) {
        if (this.closed) return;
        const runner = this.opts.queryRunner;
        if (runner && !runner.unavailable) await ev.evalRuleOffThread(rule, this.storage, t, runner);
        else {
          ev.evalRule(rule, this.storage, t);
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      if (g.restoring) {
        g.restoring = false;
        try {
          restoreForState(ev, this.storage, ts, this.opts.restore);
        } catch {
          // An unreadable store: the alerts start over, as after an outage longer than the tolerance.
        } finally {
          for (const r of ev.rules) r.restored = true;
        }
      }
      if (ev.rules.some((r) => r.health.health === 'err')) g.failed++;
      g.evaluationTimeMs = performance.now() - started;
      try {
        if (!this.closed) this.opts.afterEval?.(g, ts);
      } catch {
        // Notification trouble is the notifier's to report (its status); evaluation goes on.
      }
    } finally {
      g.running = false;
    }
  }

  private stop(g: ScheduledGroup): void {
    if (g.timer) clearTimeout(g.timer);
    g.timer = null;
  }

  close(): void {
    this.closed = true;
    for (const g of this.groupsNow) this.stop(g);
  }
}
