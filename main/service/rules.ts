// A workspace's running rules as the window's contract shows them (shared/api WorkspaceRules): the
// groups with health, last evaluation and Prometheus's per-group counts, the pending and firing
// alerts, and each notification target's delivery status (an Alertmanager that is down shows its
// last error, failed count and queue here).
import type { AlertInfo, NotifierTargetInfo, RuleGroupInfo, RuleInfo, RuleNamespaceInfo, WorkspaceRules } from '../../shared/api';
import { labelsToRecord } from '../../shared/labels';
import type { TargetStatus } from '../alerting/notifier';
import type { RuleState } from '../rules/evaluator';
import type { RuleScheduler } from '../rules/scheduler';

/** What the service reads of a workspace's rule evaluation (main/host/rule-evaluation's WorkspaceRules). */
export interface RunningRules {
  readonly scheduler: Pick<RuleScheduler, 'groups' | 'loadErrors'>;
  readonly notifications: { status(): TargetStatus[]; configured(): boolean };
}

/** The workspace's running rules, or null when it has none. */
export type RulesOf = (workspaceId: string) => RunningRules | null;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A JSON-safe alert value: NaN and ±Inf as Prometheus spells them. */
function alertValue(v: number): number | string {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}

function ruleInfo(r: RuleState): RuleInfo {
  const alerts = r.def.kind === 'alerting' ? r.alerts() : [];
  const state = r.def.kind !== 'alerting' ? null : alerts.some((a) => a.state === 'firing') ? 'firing' : alerts.length ? 'pending' : 'inactive';
  return {
    name: r.def.name,
    kind: r.def.kind,
    query: r.def.expr,
    health: r.health.health,
    lastError: r.health.lastError,
    lastEvaluation: iso(r.health.lastEvaluation),
    evaluationTimeMs: r.health.lastDurationMs,
    state,
    activeAlerts: alerts.length,
  };
}

function targetInfo(t: TargetStatus): NotifierTargetInfo {
  return { kind: t.kind, url: t.url, sent: t.sent, failed: t.failed, dropped: t.dropped, queued: t.queued, lastError: t.lastError, lastErrorAt: iso(t.lastErrorAt), lastSuccessAt: iso(t.lastSuccessAt), retryAt: iso(t.retryAt) };
}

export function describeRules(running: RunningRules | null, namespaces: readonly RuleNamespaceInfo[]): WorkspaceRules {
  if (!running) return { namespaces, evaluating: false, groups: [], loadErrors: [], alerts: [], notifications: null };
  const groups: RuleGroupInfo[] = [];
  const alerts: AlertInfo[] = [];
  for (const g of running.scheduler.groups()) {
    groups.push({
      namespace: g.file,
      name: g.name,
      intervalSeconds: g.intervalMs / 1000,
      lastEvaluation: iso(g.lastEvaluation),
      evaluationTimeMs: g.evaluationTimeMs,
      evaluations: g.evaluations,
      failed: g.failed,
      missed: g.missed,
      rules: g.evaluator.rules.map(ruleInfo),
    });
    for (const r of g.evaluator.rules) {
      if (r.def.kind !== 'alerting') continue;
      for (const a of r.alerts()) {
        alerts.push({ namespace: g.file, group: g.name, labels: labelsToRecord(a.labels), annotations: { ...a.annotations }, state: a.state as AlertInfo['state'], activeAt: new Date(a.activeAt).toISOString(), value: alertValue(a.value) });
      }
    }
  }
  alerts.sort((a, b) => (a.state === b.state ? a.activeAt.localeCompare(b.activeAt) : a.state === 'firing' ? -1 : 1));
  return {
    namespaces,
    evaluating: true,
    groups,
    loadErrors: [...running.scheduler.loadErrors].map(([namespace, message]) => ({ namespace, message })),
    alerts,
    notifications: running.notifications.configured() ? { targets: running.notifications.status().map(targetInfo) } : null,
  };
}
