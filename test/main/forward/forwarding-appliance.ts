// A real appliance (encrypted store, key file) with one workspace, for tests that forward what it
// commits to real receivers: add the destinations, start forwarding, close everything.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Appliance } from '../../../main/core/appliance';
import { openAppliance } from '../../../main/core/open-appliance';
import { destinationStoreOf, startForwarding, type Forwarding } from '../../../main/host/forwarding';
import { tempKeyFileDir } from '../core/key-file-dir';

export interface ForwardingAppliance {
  readonly app: Appliance;
  readonly ws: string;
  /** Adds a destination (its YAML definition) that starts at the next committed record. */
  add(definition: string): void;
  start(): Forwarding;
  /** Stops forwarding, closes the appliance and removes its directory. */
  close(): Promise<void>;
}

export async function openForwardingAppliance(prefix: string): Promise<ForwardingAppliance> {
  const made = tempKeyFileDir(prefix);
  const app = await openAppliance({ dataDir: join(made.dir, 'data'), masterKeyFile: made.keyFile });
  const ws = app.control.createWorkspace({ alias: 'edge' }).workspaceId;
  const store = destinationStoreOf(app);
  let fwd: Forwarding | null = null;
  return {
    app,
    ws,
    add: (definition) => void store.add(ws, definition, { seq: app.store(ws).committed().nextSeq(), ackedMaxT: Date.now() }),
    start: () => (fwd = startForwarding(app)),
    close: async () => {
      await fwd?.close();
      app.close();
      rmSync(made.dir, { recursive: true, force: true });
    },
  };
}
