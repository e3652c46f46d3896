// A workspace's notification half in one object, for its rule scheduler: after each group
// evaluation `afterEval` hands the due alerts to the notifier built from the workspace's stored
// definition. `reload` picks up a changed or deleted definition: the old notifier stops and a
// fresh sender resends every current firing and recently resolved alert to the new targets, so a
// change loses nothing.
import type { GroupEvaluator } from '../rules/evaluator';
import type { AlertManagerDefinition } from './definition';
import { Notifier, type NotifierOptions, type TargetStatus } from './notifier';
import { RuleAlertSender, evaluatorAlerts } from './rule-alerts';

export interface DefinitionSource {
  definition(workspaceId: string): AlertManagerDefinition | null;
}

export class WorkspaceNotifications {
  private notifier: Notifier | null = null;
  private sender: RuleAlertSender | null = null;

  constructor(
    readonly workspaceId: string,
    private readonly definitions: DefinitionSource,
    private readonly opts: NotifierOptions & { defaultIntervalMs: number },
  ) {
    this.reload();
  }

  /** Rebuilds from the stored definition (call after alert-manager put or delete). */
  reload(): void {
    this.notifier?.stop();
    this.notifier = null;
    this.sender = null;
    const def = this.definitions.definition(this.workspaceId);
    if (!def) return;
    this.notifier = new Notifier(def, this.opts);
    this.sender = new RuleAlertSender(this.notifier, { resendDelayMs: def.resendDelayMs, externalURL: this.opts.externalURL });
  }

  /** Sends the group's due alerts; a no-op when the workspace has no definition. */
  afterEval(ev: GroupEvaluator, ts: number): void {
    this.sender?.sendAlerts(evaluatorAlerts(ev, this.opts.defaultIntervalMs), ts);
  }

  /** Whether the workspace has an alert manager definition (else its alerts go nowhere). */
  configured(): boolean {
    return this.notifier !== null;
  }

  /** Per target: sent, failed, dropped, queued, last error (for the window and the API). */
  status(): TargetStatus[] {
    return this.notifier?.status() ?? [];
  }

  idle(): Promise<void> {
    return this.notifier?.idle() ?? Promise.resolve();
  }

  stop(): void {
    this.notifier?.stop();
    this.notifier = null;
    this.sender = null;
  }
}
