// Forwarding for an open appliance: one durable queue per destination of every workspace, started
// with the host and restarted when its destination is added, changed or removed (from the CLI, the
// API or the window: every DestinationStore over the same control.db announces it).
import type { Appliance } from '../core/appliance';
import { controlDatabase } from '../retention/key-lifecycle';
import { DestinationStore, onDestinationChange } from '../forward/destination-store';
import { DestinationQueue } from '../forward/queue';
import type { ForwardDestinationStatus } from '../../shared/api';
import { senderFor } from '../forward/sender-for';

export interface Forwarding {
  /** Status of each destination of the workspace (those that could not start say why). */
  status(workspaceId: string): ForwardDestinationStatus[];
  /** Every running queue, for /metrics. */
  all(): { workspaceId: string; status: ForwardDestinationStatus }[];
  close(): Promise<void>;
}

const running = new WeakMap<object, Forwarding>();

/** The forwarding this process runs over the appliance's control.db (the server's), or null. */
export function runningForwarding(appliance: Pick<Appliance, 'control'>): Forwarding | null {
  return running.get(controlDatabase(appliance).db) ?? null;
}

export function destinationStoreOf(appliance: Pick<Appliance, 'control'>): DestinationStore {
  const control = controlDatabase(appliance);
  return new DestinationStore(control.db, (id) => control.dataKeys(id));
}

export function startForwarding(appliance: Pick<Appliance, 'control' | 'tenant'>): Forwarding {
  const store = destinationStoreOf(appliance);
  const queues = new Map<string, { workspaceId: string; queue: DestinationQueue | null; failure?: ForwardDestinationStatus }>();
  const source = (ws: string) => ({ log: () => appliance.tenant(ws).store.committed(), querier: () => appliance.tenant(ws).store.querier() });

  const start = (ws: string, id: string) => {
    try {
      const destination = store.definition(ws, id);
      const queue = new DestinationQueue({ workspaceId: ws, id, destination, sender: senderFor(destination), source: source(ws), store });
      queues.set(id, { workspaceId: ws, queue });
    } catch (e) {
      // No AWS credentials found, the workspace cannot open…: shown in the status, retried on the next change.
      queues.set(id, {
        workspaceId: ws,
        queue: null,
        failure: {
          id,
          name: id,
          url: '',
          protocol: 'unknown',
          state: 'failed',
          lagSeconds: 0,
          backlogRecords: 0,
          shards: 0,
          samples: { sent: 0, failed: 0, retried: 0, dropped: 0, droppedByReason: {}, relabelledAway: 0 },
          lastError: { at: new Date().toISOString(), message: (e as Error).message },
          tls: { customCa: false },
        },
      });
    }
  };

  for (const ws of store.workspaces()) {
    try {
      for (const d of store.list(ws)) start(ws, d.id);
    } catch {
      /* a workspace whose keys cannot be opened: its own API calls say why */
    }
  }

  let chain = Promise.resolve();
  const off = onDestinationChange(controlDatabase(appliance).db, (ws, id) => {
    // One change at a time: a queue stops (its position persisted) before its successor reads it.
    chain = chain.then(async () => {
      const old = queues.get(id);
      queues.delete(id);
      await old?.queue?.stop();
      if (store.list(ws).some((d) => d.id === id)) start(ws, id);
    });
  });

  const forwarding: Forwarding = {
    status: (ws) => [...queues.values()].filter((q) => q.workspaceId === ws).map((q) => q.queue?.status() ?? q.failure!),
    all: () => [...queues.values()].map((q) => ({ workspaceId: q.workspaceId, status: q.queue?.status() ?? q.failure! })),
    async close() {
      running.delete(controlDatabase(appliance).db);
      off();
      await chain;
      await Promise.all([...queues.values()].map((q) => q.queue?.stop()));
      queues.clear();
    },
  };
  running.set(controlDatabase(appliance).db, forwarding);
  return forwarding;
}
