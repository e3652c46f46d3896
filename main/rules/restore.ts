// Alert state after a restart, as Prometheus's Group.RestoreForState: after a group's first
// evaluation, each pending alert of a rule with a `for` gets back the activeAt it had before the
// restart, read from the last ALERTS_FOR_STATE sample within the outage tolerance. The time the
// server was down does not count toward `for` (activeAt moves forward by the downtime), and an
// alert whose `for` would end within the grace period is given that grace period, so a restart
// never makes an alert fire at once on partial data.
import { labelsKey, labelsToRecord, labelsFromRecord, METRIC_NAME } from '../../shared/labels';
import type { GroupEvaluator, RuleStorage } from './evaluator';
import { STALE_NAN_BITS } from '../tsdb/types';

/** Prometheus's --rules.alert.for-outage-tolerance and --rules.alert.for-grace-period defaults. */
export const OUTAGE_TOLERANCE_MS = 3_600_000;
export const FOR_GRACE_PERIOD_MS = 600_000;

export interface RestoreOptions {
  readonly outageToleranceMs?: number;
  readonly forGracePeriodMs?: number;
}

const bits = new Float64Array(1);
const asBits = new BigUint64Array(bits.buffer);
function isStale(v: number): boolean {
  bits[0] = v;
  return asBits[0] === STALE_NAN_BITS;
}

/** Restores activeAt of the group's alerts at `ts` (ms, the group's first evaluation) and marks its rules restored. */
export function restoreForState(ev: GroupEvaluator, storage: RuleStorage, ts: number, opts: RestoreOptions = {}): void {
  const tolerance = opts.outageToleranceMs ?? OUTAGE_TOLERANCE_MS;
  const grace = opts.forGracePeriodMs ?? FOR_GRACE_PERIOD_MS;
  const maxt = ts - ev.queryOffsetMs;
  const mint = ts - tolerance;
  for (const rule of ev.rules) {
    if (rule.def.kind !== 'alerting' || rule.restored) continue;
    rule.restored = true;
    // A `for` shorter than the grace period is not restored: the alert simply starts over.
    if (rule.def.forMs < grace || rule.active.size === 0) continue;
    const last = new Map<string, { t: number; v: number }>();
    const q = storage.querier();
    for (const s of q.select([{ type: '=', name: METRIC_NAME, value: 'ALERTS_FOR_STATE' }, { type: '=', name: 'alertname', value: rule.def.name }], mint, maxt)) {
      const n = s.timestamps.length;
      if (n === 0) continue;
      const v = s.values[n - 1]!;
      if (isStale(v)) continue; // the alert had resolved before the restart
      const rec = labelsToRecord(s.labels);
      delete rec[METRIC_NAME];
      last.set(labelsKey(labelsFromRecord(rec)), { t: s.timestamps[n - 1]!, v });
    }
    for (const [k, a] of rule.active) {
      const found = last.get(k);
      if (!found || a.state === 'inactive') continue;
      const downAt = Math.floor(found.t / 1000) * 1000;
      let activeAt = found.v * 1000;
      const remaining = rule.def.forMs - (downAt - activeAt);
      if (remaining <= 0) {
        // It was firing when the server stopped: the next evaluation fires it again if still true.
      } else if (remaining < grace) {
        activeAt = ts + grace - rule.def.forMs;
      } else {
        activeAt += ts - downAt;
      }
      a.activeAt = activeAt;
    }
  }
}
