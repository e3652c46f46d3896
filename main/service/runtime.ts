// What a process serving the window needs once per open appliance: the ingest monitor (rates,
// series and rejections per workspace), the protection checks, and API service instances per
// caller kind.
import type { AmpuleApi, ForwardDestinationStatus, Settings } from '../../shared/api';
import type { Appliance } from '../core/appliance';
import { createApiService } from './api-service';
import { IngestMonitor } from './ingest-monitor';
import { ProtectionChecks } from './protection';
import type { QueryThreads } from './query';
import type { RulesOf } from './rules';

export interface ServiceRuntime {
  readonly monitor: IngestMonitor;
  /** A service whose changes are recorded as done by `actor`. */
  api(actor: string, listenUrl: () => string | null): AmpuleApi;
  close(): void;
}

export interface ServiceRuntimeOptions {
  /** Whether the web console has a password and MFA (main/console owns its credentials). */
  readonly consoleStatus: () => Settings['console'];
  readonly version?: string;
  /** A workspace's running rule evaluation, for the Rules page. */
  readonly rules?: RulesOf;
  /** Forwarding status per workspace (the host's queues). */
  readonly forwardStatus?: (workspaceId: string) => ForwardDestinationStatus[];
  /** The host's query threads: the window's queries run there too. */
  readonly queryThreads?: QueryThreads;
}

export function createServiceRuntime(appliance: Appliance, { consoleStatus, version, rules, forwardStatus, queryThreads }: ServiceRuntimeOptions): ServiceRuntime {
  const monitor = new IngestMonitor();
  const protection = new ProtectionChecks(appliance, consoleStatus);
  monitor.start(appliance, () => appliance.control.listWorkspaces().map((w) => w.workspaceId));
  return {
    monitor,
    api: (actor, listenUrl) => createApiService(appliance, { actor, listenUrl, monitor, protection, consoleStatus, ...(version ? { version } : {}), ...(rules ? { rules } : {}), ...(forwardStatus ? { forwardStatus } : {}), ...(queryThreads ? { queryThreads } : {}) }),
    close: () => {
      monitor.stop();
      protection.stop();
    },
  };
}
