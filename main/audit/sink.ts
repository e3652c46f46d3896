// The ActivitySink the appliance hands to the control plane before the activity log can exist
// (the log needs control.db and the unlocked master key, which the control plane provides).
// Events from that short window are held in memory and written once the log opens.
import type Database from 'better-sqlite3';
import type { ActivityEvent, ActivitySink } from '../control/types';
import type { MasterKey } from '../crypto/master-key';
import { openActivityLog, type ActivityLog } from './activity-log';
import { activityKeys } from './log-key';

const MAX_EARLY = 1000;

export class ActivityLogSink implements ActivitySink {
  private log: ActivityLog | null = null;
  private early: ActivityEvent[] = [];

  /** `also` receives every event too (a caller-supplied sink, e.g. a test's). */
  constructor(private readonly also?: ActivitySink) {}

  record(e: ActivityEvent): void {
    this.also?.record(e);
    if (this.log) this.log.record(e);
    else if (this.early.length < MAX_EARLY) this.early.push(e);
  }

  /** Opens the log in control.db under keys the master key unwraps, and writes the held events. */
  open(db: Database.Database, master: MasterKey): ActivityLog {
    const log = openActivityLog(db, activityKeys(db, master));
    this.log = log;
    for (const e of this.early) log.record(e);
    this.early = [];
    return log;
  }
}
