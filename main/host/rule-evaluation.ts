// Rule evaluation for an open appliance: per workspace that has rule-groups namespaces, a rule
// scheduler over the workspace's own store (recording rules and ALERTS series committed through
// its appender, as durable as remote write) and the workspace's notifications (its alert manager
// definition), called after each group evaluation. A namespace or alert manager change reloads
// that workspace only; a workspace whose last namespace is deleted stops evaluating.
import { AlertManagerStore } from '../alerting/definition-store';
import { FiringNotices, type DesktopNotice } from '../alerting/desktop-notices';
import { WorkspaceNotifications } from '../alerting/workspace-notifications';
import type { Appliance } from '../core/appliance';
import { ControlError } from '../control/types';
import { controlDatabase } from '../retention/key-lifecycle';
import { onRuleConfigChange } from '../rules/changes';
import type { EvaluatorOptions, RuleQueryRunner } from '../rules/evaluator';
import { DEFAULT_EVALUATION_INTERVAL_MS, RuleScheduler } from '../rules/scheduler';

export interface RuleEvaluationOptions {
  readonly evaluator?: EvaluatorOptions;
  /** Where rule queries run (the host's query pool); absent or null: on this thread. */
  readonly queryRunner?: RuleQueryRunner | null;
  readonly defaultIntervalMs?: number;
  /** Where alert links point (the console's URL when it is served). */
  readonly externalURL?: string;
  /** Alerts that just fired, as desktop notices (the desktop app shows them; serve has none). */
  readonly onFiring?: (notices: DesktopNotice[]) => void;
}

export interface WorkspaceRules {
  readonly scheduler: RuleScheduler;
  readonly notifications: WorkspaceNotifications;
}

export interface RuleEvaluation {
  /** The workspace's running rules, or null when it has no namespaces. */
  workspace(workspaceId: string): WorkspaceRules | null;
  close(): void;
}

export function startRuleEvaluation(appliance: Pick<Appliance, 'control' | 'ruleNamespaces' | 'tenant'>, opts: RuleEvaluationOptions = {}): RuleEvaluation {
  const control = controlDatabase(appliance);
  const db = control.db;
  const definitions = new AlertManagerStore(db, (id) => control.dataKeys(id));
  const running = new Map<string, WorkspaceRules>();
  const defaultIntervalMs = opts.defaultIntervalMs ?? DEFAULT_EVALUATION_INTERVAL_MS;

  const namespaces = (ws: string) => appliance.ruleNamespaces.list(ws).map((n) => ({ name: n.name, data: appliance.ruleNamespaces.describe(ws, n.name).data }));

  const stop = (ws: string) => {
    const r = running.get(ws);
    r?.scheduler.close();
    r?.notifications.stop();
    running.delete(ws);
  };

  const start = (ws: string) => {
    if (appliance.ruleNamespaces.list(ws).length === 0) return;
    appliance.tenant(ws); // opens the store now: a workspace that cannot open is not scheduled
    // Looked up at each use: the appliance reopens a store whose settings changed; a deleted workspace stops.
    const tenant = () => {
      try {
        return appliance.tenant(ws);
      } catch (e) {
        if (e instanceof ControlError && e.kind === 'not_found') setImmediate(() => stop(ws));
        throw e;
      }
    };
    const store = { querier: () => tenant().querier(), appender: () => tenant().store.appender(), queries: () => tenant().queries };
    const notifications = new WorkspaceNotifications(ws, definitions, { defaultIntervalMs, ...(opts.externalURL ? { externalURL: opts.externalURL } : {}) });
    const onFiring = opts.onFiring;
    const notices = onFiring ? new FiringNotices(ws, () => appliance.control.describeWorkspace(ws).alias) : null;
    const scheduler = new RuleScheduler(store, () => namespaces(ws), {
      defaultIntervalMs,
      ...(opts.evaluator ? { evaluator: opts.evaluator } : {}),
      queryRunner: opts.queryRunner ?? null,
      afterEval: (g, ts) => {
        const fired = notices?.collect(g.evaluator);
        if (fired?.length) onFiring!(fired);
        notifications.afterEval(g.evaluator, ts);
      },
    });
    running.set(ws, { scheduler, notifications });
  };

  for (const w of appliance.control.listWorkspaces()) {
    try {
      start(w.workspaceId);
    } catch {
      /* a workspace that cannot open (deleted meanwhile, damaged store) is not evaluated; its API calls say why */
    }
  }

  const off = onRuleConfigChange(db, (change, ws) => {
    const r = running.get(ws);
    if (change === 'alert-manager') {
      r?.notifications.reload();
      return;
    }
    if (!r) start(ws);
    else if (appliance.ruleNamespaces.list(ws).length === 0) stop(ws);
    else r.scheduler.reload();
  });

  return {
    workspace: (ws) => running.get(ws) ?? null,
    close() {
      off();
      for (const ws of [...running.keys()]) stop(ws);
    },
  };
}
