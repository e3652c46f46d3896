// Group commit: every request appended through the same Appender in one event-loop turn shares a
// single appender.commit() (one log row, one fsync) scheduled with setImmediate, so requests that
// queued up during the previous fsync are made durable together instead of one fsync each. With
// an appender that offers commitAsync the fsync runs off the event loop: the next requests are
// decoded and appended while it runs, and their answers wait for the fsync that covers them.
// While that fsync runs, no new commit is made: the requests appended meanwhile are committed
// together as soon as it ends. They could not be answered sooner anyway (their own fsync could
// only start after it), and one commit for all of them costs the ingest thread one transaction,
// one sealed log row and one fsync request instead of one each.
import type { Appender } from '../tsdb/types';

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

export class GroupCommitter {
  private waiters: Waiter[] = [];
  private scheduled = false;
  /** The last commit's fsync is still running: the next flush waits for it. */
  private syncing = false;
  /** A flush came while it ran: made when it ends. */
  private deferred = false;

  constructor(readonly appender: Appender) {}

  /**
   * Resolves once everything appended so far is durable, together with every other caller of
   * this turn; rejects all of them with the store's error (after a rollback) when the commit fails.
   */
  commitShared(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return done;
  }

  /**
   * For a request that failed while appending: its partial samples cannot be told apart from the
   * others', so the whole pending group is rolled back and everyone waiting in it gets `err`.
   */
  abandon(err: unknown): void {
    this.appender.rollback();
    this.settle((w) => w.reject(err));
  }

  private flush(): void {
    this.scheduled = false;
    if (this.waiters.length === 0) return; // abandoned meanwhile
    if (this.syncing) {
      this.deferred = true;
      return;
    }
    let durable: Promise<void> | undefined;
    try {
      if (this.appender.commitAsync) durable = this.appender.commitAsync();
      else this.appender.commit();
    } catch (err) {
      this.abandon(err);
      return;
    }
    const waiters = this.take();
    if (!durable) for (const w of waiters) w.resolve();
    // The samples are committed (and in the head); only their fsync can still fail: the
    // senders get an error and resend, and a resent sample with the same value is accepted.
    else {
      durable.then(() => waiters.forEach((w) => w.resolve()), (err: unknown) => waiters.forEach((w) => w.reject(err)));
      this.syncing = true;
      const next = () => {
        this.syncing = false;
        if (!this.deferred) return;
        this.deferred = false;
        this.flush();
      };
      durable.then(next, next);
    }
  }

  private settle(each: (w: Waiter) => void): void {
    for (const w of this.take()) each(w);
  }

  private take(): Waiter[] {
    const waiters = this.waiters;
    this.waiters = [];
    return waiters;
  }
}
