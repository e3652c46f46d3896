// The one composition root: everything that serves an open appliance, assembled the same way for
// `ampule serve`, the desktop app's utility process (main/worker) and the tests. In start order:
// the admin channel (the CLI's way in; it is also what tells that another server already runs on
// this data directory), the service runtime (ingest figures, protection checks, the API), the
// query pool (PromQL on worker threads, shared by the HTTP API and rule evaluation, with or
// without a listener), rule evaluation, the HTTPS listener, the web console on it, and a full
// garbage collection whenever this thread goes quiet after a burst. close() stops
// them in reverse and leaves the appliance open: whoever opened it closes it (flushing every store).
import type { AmpuleApi } from '../../shared/api';
import { startAdminChannel, type AdminChannel, type CommandRunner } from '../admin/server';
import { consoleStatus } from '../console/credentials';
import { mountConsole } from '../console/mount';
import type { Appliance } from '../core/appliance';
import { QueryPool } from '../http/query-pool';
import { otherThreadsYieldToIngest } from '../http/thread-priority';
import { startServer, type ServerOptions } from '../http/server';
import type { ServerHandle } from '../http/types';
import { createServiceRuntime, type ServiceRuntime } from '../service/runtime';
import { startForwarding, type Forwarding } from './forwarding';
import { startIdleCollection, type IdleCollection } from './idle-collection';
import { startRuleEvaluation, type RuleEvaluation, type RuleEvaluationOptions } from './rule-evaluation';

export interface HostOptions {
  /** The HTTPS listener (remote write, the Prometheus API); null keeps it off. */
  readonly listen: ServerOptions | null;
  /** Serve the web console under /console/ on the listener (`ampule serve`). */
  readonly webConsole?: boolean;
  /**
   * Runs CLI commands forwarded by `ampule …` while this process holds the data directory (the
   * CLI's main); null keeps the admin channel off (a worker thread must: the channel sets the
   * process umask, which only a process's main thread may).
   */
  readonly commands: CommandRunner | null;
  readonly version?: string;
  /**
   * Worker threads for PromQL (API queries and rule queries); 0 evaluates on this thread. Default:
   * listen.queryThreads, else the cores beside this one.
   */
  readonly queryThreads?: number;
  /** Rule-groups evaluation and notifications for every workspace with namespaces; false keeps it off (tests that need none). Default on. */
  readonly rules?: RuleEvaluationOptions | false;
  /** Forwarding to every workspace's destinations (main/forward); false keeps it off. Default on. */
  readonly forward?: false;
}

export interface Host {
  readonly appliance: Appliance;
  readonly runtime: ServiceRuntime;
  readonly server: ServerHandle | null;
  readonly admin: AdminChannel | null;
  readonly rules: RuleEvaluation | null;
  readonly forwarding: Forwarding | null;
  /** The window's API, its changes recorded as done by `actor`. */
  api(actor: string): AmpuleApi;
  close(): Promise<void>;
}

export async function startHost(appliance: Appliance, opts: HostOptions): Promise<Host> {
  let admin: AdminChannel | null = null;
  let runtime: ServiceRuntime | null = null;
  let server: ServerHandle | null = null;
  let rules: RuleEvaluation | null = null;
  let queryPool: QueryPool | null = null;
  let forwarding: Forwarding | null = null;
  let idle: IdleCollection | null = null;
  const close = async () => {
    idle?.close();
    await forwarding?.close();
    rules?.close();
    await server?.close();
    await admin?.close();
    runtime?.close();
    await queryPool?.close();
  };
  try {
    const run = opts.commands;
    // The commands it runs may ask where the server listens (`ampule status`, `console set-password`).
    if (run) admin = await startAdminChannel(appliance, (argv, io) => run(argv, { ...io, server: { url: () => server?.url ?? null } }));
    // Workers load their code while this thread opens the stores (a restart answers sooner).
    const threads = opts.queryThreads ?? opts.listen?.queryThreads;
    if (threads !== 0 && (opts.listen || opts.rules !== false)) {
      otherThreadsYieldToIngest();
      queryPool = new QueryPool(threads);
    }
    runtime = createServiceRuntime(appliance, {
      consoleStatus: () => consoleStatus(appliance.dataDir),
      ...(opts.version ? { version: opts.version } : {}),
      rules: (ws) => rules?.workspace(ws) ?? null,
      forwardStatus: (ws) => forwarding?.status(ws) ?? [],
      queryThreads: queryPool,
    });
    // Rule queries run under the same samples limit and timeout as the API's (Prometheus does the
    // same) and on the same pool, so a slow rule does not hold remote write.
    if (opts.rules !== false) rules = startRuleEvaluation(appliance, { evaluator: { engine: { ...opts.listen?.queryLimits } }, queryRunner: queryPool, ...opts.rules });
    if (opts.forward !== false) forwarding = startForwarding(appliance);
    const evaluation = rules;
    if (opts.listen) {
      server = await startServer(appliance, {
        ...opts.listen,
        queryPool,
        ruleGroups: (ws) => evaluation?.workspace(ws)?.scheduler.groups() ?? [],
        notifierTargets: (ws) => evaluation?.workspace(ws)?.notifications.status() ?? [],
        forwardStatus: (ws) => forwarding?.status(ws) ?? [],
      });
    }
    if (server && opts.webConsole) mountConsole(server, appliance, runtime);
    idle = startIdleCollection();
  } catch (e) {
    await close();
    throw e;
  }
  const listenUrl = () => server?.url ?? null;
  const served = runtime;
  return { appliance, runtime, server, admin, rules, forwarding, api: (actor) => served.api(actor, listenUrl), close };
}
