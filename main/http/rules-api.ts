// GET /api/v1/rules, /api/v1/alerts and /api/v1/alertmanagers of a workspace in Prometheus's JSON
// shapes (web/api/v1/api.go: RuleDiscovery, RuleGroup, AlertingRule, RecordingRule, Alert,
// AlertmanagerDiscovery), so Grafana's alerting views read Ampule's rule groups as they read a
// Prometheus server's.
import type { ActiveAlert, RuleState } from '../rules/evaluator';
import type { ScheduledGroup } from '../rules/scheduler';
import { labelsToRecord } from '../../shared/labels';
import type { TargetStatus } from '../alerting/notifier';
import { HttpError } from './errors';

/** A workspace's running rule groups (none when it has no namespaces). */
export type RuleGroupsOf = (workspaceId: string) => readonly ScheduledGroup[];
/** A workspace's notification targets with their delivery status (none without a definition). */
export type NotifierTargetsOf = (workspaceId: string) => readonly TargetStatus[];

const ZERO_TIME = '0001-01-01T00:00:00Z';
const iso = (ms: number | null) => (ms === null ? ZERO_TIME : new Date(ms).toISOString());

/** Go's strconv.FormatFloat(v, 'e', -1, 64), which Prometheus uses for an alert's value. */
export function goExponent(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
}

function apiAlert(a: ActiveAlert): Record<string, unknown> {
  return {
    labels: labelsToRecord(a.labels),
    annotations: a.annotations,
    state: a.state,
    activeAt: iso(a.activeAt),
    ...(a.keepFiringSince !== null ? { keepFiringSince: iso(a.keepFiringSince) } : {}),
    value: goExponent(a.value),
  };
}

function ruleState(r: RuleState): string {
  const alerts = r.alerts();
  if (alerts.some((a) => a.state === 'firing')) return 'firing';
  if (alerts.some((a) => a.state === 'pending')) return 'pending';
  return 'inactive';
}

function apiRule(r: RuleState): Record<string, unknown> {
  const common = {
    name: r.def.name,
    query: r.def.expr,
    health: r.health.health,
    lastError: r.health.lastError ?? '',
    evaluationTime: r.health.lastDurationMs / 1000,
    lastEvaluation: iso(r.health.lastEvaluation),
  };
  if (r.def.kind === 'recording') return { ...common, labels: r.def.labels, type: 'recording' };
  return {
    state: ruleState(r),
    ...common,
    duration: r.def.forMs / 1000,
    keepFiringFor: r.def.keepFiringForMs / 1000,
    labels: r.def.labels,
    annotations: r.def.annotations,
    alerts: r.alerts().map(apiAlert),
    type: 'alerting',
  };
}

/** The `data` of GET /api/v1/rules; throws HttpError 400 on a bad `type`. */
export function rulesData(groups: readonly ScheduledGroup[], params: URLSearchParams): { groups: unknown[] } {
  const type = params.get('type') ?? '';
  if (type !== '' && type !== 'alert' && type !== 'record') throw new HttpError(400, `invalid query parameter type: not supported value ${JSON.stringify(type.slice(0, 40))} (use alert or record)`);
  const names = new Set(params.getAll('rule_name[]'));
  const groupNames = new Set(params.getAll('rule_group[]'));
  const files = new Set(params.getAll('file[]'));
  const filtered = type !== '' || names.size > 0 || groupNames.size > 0 || files.size > 0;
  const out: unknown[] = [];
  for (const g of groups) {
    if (groupNames.size > 0 && !groupNames.has(g.name)) continue;
    if (files.size > 0 && !files.has(g.file)) continue;
    const rules = g.evaluator.rules
      .filter((r) => (type === '' || (type === 'alert') === (r.def.kind === 'alerting')) && (names.size === 0 || names.has(r.def.name)))
      .map(apiRule);
    if (filtered && rules.length === 0) continue;
    out.push({
      name: g.name,
      file: g.file,
      rules,
      interval: g.intervalMs / 1000,
      limit: g.evaluator.group.limit,
      evaluationTime: g.evaluationTimeMs / 1000,
      lastEvaluation: iso(g.lastEvaluation),
      // Ampule's own figures beside Prometheus's fields: its metrics, per group.
      evaluations: g.evaluations,
      evaluationFailures: g.failed,
      iterationsMissed: g.missed,
    });
  }
  return { groups: out };
}

/** The `data` of GET /api/v1/alerts: every pending and firing alert. */
export function alertsData(groups: readonly ScheduledGroup[]): { alerts: unknown[] } {
  const alerts: unknown[] = [];
  for (const g of groups) for (const r of g.evaluator.rules) if (r.def.kind === 'alerting') for (const a of r.alerts()) alerts.push(apiAlert(a));
  return { alerts };
}

/**
 * The `data` of GET /api/v1/alertmanagers: Prometheus's activeAlertmanagers (each an API v2 alerts
 * URL) and droppedAlertmanagers (none: Ampule has no discovery), with Ampule's delivery figures
 * beside the url — so an Alertmanager that is down shows its error here too — and the webhook
 * receivers, which Prometheus does not have, under their own key.
 */
export function alertmanagersData(targets: readonly TargetStatus[]): Record<string, unknown[]> {
  const entry = (t: TargetStatus) => ({
    url: t.url,
    sent: t.sent,
    failed: t.failed,
    dropped: t.dropped,
    queued: t.queued,
    lastError: t.lastError ?? '',
    lastErrorAt: iso(t.lastErrorAt),
    lastSuccessAt: iso(t.lastSuccessAt),
  });
  return {
    activeAlertmanagers: targets.filter((t) => t.kind === 'alertmanager').map(entry),
    droppedAlertmanagers: [],
    webhooks: targets.filter((t) => t.kind === 'webhook').map(entry),
  };
}
