// Per-workspace data-key rotation: a new key generation seals everything written from now on,
// then every stored row is re-sealed with it (tsdb.reencrypt, a few rows per transaction). The
// rotation is recorded first, so an interrupted re-encryption resumes on the next run instead of
// starting yet another generation.
import type { Appliance } from '../core/appliance';
import { ControlDatabase } from '../control/control-plane';
import { ControlError } from '../control/types';
import { AlertManagerStore } from '../alerting/definition-store';
import { DestinationStore } from '../forward/destination-store';

export interface DataKeyRotation {
  readonly workspaceId: string;
  readonly generation: number;
  /** True when this run finished an earlier, interrupted rotation. */
  readonly resumed: boolean;
  readonly rowsResealed: number;
}

export function controlDatabase(appliance: Pick<Appliance, 'control'>): ControlDatabase {
  if (!(appliance.control instanceof ControlDatabase)) throw new Error('this operation needs the appliance\'s own control database');
  return appliance.control;
}

/** Concurrent runs of one workspace's rotation would re-seal the same rows twice over: one at a time. */
const rotating = new WeakMap<Appliance, Set<string>>();

export async function rotateDataKey(appliance: Appliance, workspaceId: string, opts: { actor?: string; onProgress?: (done: number, total: number) => void } = {}): Promise<DataKeyRotation> {
  const control = controlDatabase(appliance);
  control.describeWorkspace(workspaceId); // not_found
  const actor = opts.actor ?? 'cli';
  const running = rotating.get(appliance) ?? new Set<string>();
  rotating.set(appliance, running);
  if (running.has(workspaceId)) throw new ControlError('conflict', `workspace ${workspaceId}: a data-key rotation is already running; wait for it to finish`);
  running.add(workspaceId);
  try {
    return await rotate(appliance, control, workspaceId, actor, opts.onProgress);
  } finally {
    running.delete(workspaceId);
  }
}

async function rotate(appliance: Appliance, control: ControlDatabase, workspaceId: string, actor: string, onProgress: ((done: number, total: number) => void) | undefined): Promise<DataKeyRotation> {
  const pending = appliance.settings.unfinishedRotation(workspaceId);
  let generation: number;
  if (pending) generation = pending.generation;
  else {
    appliance.closeStore(workspaceId); // the open store seals with the generation it was opened with
    generation = control.db.transaction(() => {
      const g = control.keys.rotate(workspaceId, new Date().toISOString());
      appliance.settings.beginRotation(workspaceId, g);
      return g;
    })();
  }
  let rows = 0;
  try {
    await appliance.store(workspaceId).reencrypt((done, total) => {
      rows = total;
      onProgress?.(done, total);
    });
  } catch (e) {
    appliance.activity.append({ action: 'key.rotate_data', outcome: 'error', actor, workspaceId, detail: `re-encryption to generation ${generation} interrupted (${e instanceof Error ? e.name : 'error'}); run it again to resume` });
    throw e;
  }
  appliance.ingestRules.reseal(workspaceId); // its ingest rules move to the new key too
  appliance.ruleNamespaces.reseal(workspaceId); // and its rule-groups namespaces
  new AlertManagerStore(control.db, (id) => control.dataKeys(id)).reseal(workspaceId); // and its alert manager definition
  new DestinationStore(control.db, (id) => control.dataKeys(id)).reseal(workspaceId); // and its forwarding destinations
  appliance.settings.finishRotation(workspaceId, generation);
  appliance.activity.append({ action: 'key.rotate_data', outcome: 'ok', actor, workspaceId, detail: `data key generation ${generation}; ${rows} rows re-sealed${pending ? ' (resumed)' : ''}` });
  return { workspaceId, generation, resumed: !!pending, rowsResealed: rows };
}

export interface DataKeyAge {
  readonly workspaceId: string;
  readonly generation: number;
  readonly createdAt: string;
  readonly ageDays: number;
}

/** The current data key of every workspace with its age. */
export function dataKeyAges(appliance: Pick<Appliance, 'control'>, now = Date.now()): DataKeyAge[] {
  const rows = controlDatabase(appliance)
    .db.prepare(`SELECT k.workspace_id, k.generation, k.created_at FROM data_keys k WHERE k.generation = (SELECT MAX(generation) FROM data_keys WHERE workspace_id = k.workspace_id)`)
    .all() as { workspace_id: string; generation: number; created_at: string }[];
  return rows.map((r) => ({ workspaceId: r.workspace_id, generation: r.generation, createdAt: r.created_at, ageDays: Math.floor((now - Date.parse(r.created_at)) / 86_400_000) }));
}
