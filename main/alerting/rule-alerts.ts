// Which of a rule group's alerts to send after an evaluation, and with which times, as Prometheus's
// rules/alerting.go sendAlerts does: pending alerts are never sent; a firing alert is sent when it
// was not sent within the resend delay; a resolved alert is sent when it resolved after its last
// send (and again each resend delay while the evaluator keeps it, 15 minutes). startsAt is when
// it fired; endsAt is its resolved time, or for a firing alert now + 4 × max(resend delay, group
// interval), so Alertmanager resolves it by itself if Ampule stops sending.
import { labelsToRecord } from '../../shared/labels';
import type { ActiveAlert, GroupEvaluator } from '../rules/evaluator';
import { DEFAULT_RESEND_DELAY_MS } from './definition';
import type { NotifierAlert } from './webhook';

/** An alerting rule as the sender sees it: its query (for the generator URL) and its alerts. */
export interface AlertingRuleView {
  readonly expr: string;
  readonly alerts: Iterable<ActiveAlert>;
}

/** What the sender reads from a rule group. */
export interface AlertSource {
  readonly intervalMs: number;
  alertingRules(): Iterable<AlertingRuleView>;
}

/** A GroupEvaluator as an AlertSource; `defaultIntervalMs` stands in for a group without `interval`. */
export function evaluatorAlerts(ev: GroupEvaluator, defaultIntervalMs: number): AlertSource {
  return {
    intervalMs: ev.group.intervalMs || defaultIntervalMs,
    *alertingRules() {
      for (const r of ev.rules) if (r.def.kind === 'alerting') yield { expr: r.def.expr, alerts: r.active.values() };
    },
  };
}

/** Prometheus's generator link: the expression in the graph page's table tab. */
export function generatorURL(externalURL: string, expr: string): string {
  return `${externalURL.replace(/\/+$/, '')}/graph?${new URLSearchParams({ 'g0.expr': expr, 'g0.tab': '1' }).toString()}`;
}

export class RuleAlertSender {
  /** When each alert was last sent; keyed by the evaluator's alert object, as Prometheus keeps LastSentAt on it. */
  private readonly lastSentAt = new WeakMap<ActiveAlert, number>();

  constructor(
    private readonly notifier: { send(alerts: readonly NotifierAlert[]): void },
    private readonly opts: { resendDelayMs?: number; externalURL?: string } = {},
  ) {}

  private get resendDelayMs(): number {
    return this.opts.resendDelayMs ?? DEFAULT_RESEND_DELAY_MS;
  }

  /** Sends what is due at `ts` (ms, the evaluation time); returns the alerts handed to the notifier. */
  sendAlerts(source: AlertSource, ts: number): NotifierAlert[] {
    const delta = Math.max(this.resendDelayMs, source.intervalMs);
    const validUntil = ts + 4 * delta;
    const out: NotifierAlert[] = [];
    for (const rule of source.alertingRules()) {
      for (const a of rule.alerts) {
        if (!this.needsSending(a, ts)) continue;
        this.lastSentAt.set(a, ts);
        out.push({
          labels: labelsToRecord(a.labels),
          annotations: { ...a.annotations },
          startsAt: a.firedAt ?? a.activeAt,
          endsAt: a.resolvedAt ?? validUntil,
          generatorURL: generatorURL(this.opts.externalURL ?? '', rule.expr),
        });
      }
    }
    this.notifier.send(out);
    return out;
  }

  private needsSending(a: ActiveAlert, ts: number): boolean {
    if (a.state === 'pending') return false;
    if (a.state === 'inactive' && a.firedAt === null) return false; // never fired: nothing to resolve
    const last = this.lastSentAt.get(a);
    if (last === undefined) return true;
    if (a.resolvedAt !== null && a.resolvedAt > last) return true;
    return last + this.resendDelayMs < ts;
  }
}
