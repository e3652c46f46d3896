// Who hears that a workspace's rule namespaces or alert manager definition changed: the rule
// scheduler reloads on it. Keyed by the control database, so every store object over that database
// (the CLI makes its own for each command it runs in the server's process) reaches the listeners.
export type RuleConfigChange = 'rule-namespaces' | 'alert-manager';
export type RuleConfigListener = (change: RuleConfigChange, workspaceId: string) => void;

const listeners = new WeakMap<object, Set<RuleConfigListener>>();

/** Listens to changes stored through `db`; returns the remover. */
export function onRuleConfigChange(db: object, listener: RuleConfigListener): () => void {
  let set = listeners.get(db);
  if (!set) listeners.set(db, (set = new Set()));
  set.add(listener);
  return () => set.delete(listener);
}

export function announceRuleConfigChange(db: object, change: RuleConfigChange, workspaceId: string): void {
  for (const l of listeners.get(db) ?? []) l(change, workspaceId);
}
