// The appliance core off the Electron main thread: runs in an Electron utility process (desktop)
// or a worker_threads Worker (plain Node, tests). It opens the appliance, starts the HTTPS
// listener for remote write and the admin channel for the CLI, and answers the window's API
// calls over one MessagePort with the protocol of ./protocol. SQLite, crypto and
// ingestion all run here, so nothing blocks the UI.
import { isMainThread, parentPort as threadPort, workerData } from 'node:worker_threads';
import type { ParentPort } from 'electron';
import { ApiError, type AmpuleApi, type ApiResult } from '../../shared/api';
import { main as runCommand } from '../cli/index';
import type { Appliance } from '../core/appliance';
import { openAppliance } from '../core/open-appliance';
import { startHost, type Host } from '../host/host';
import { dispatch, toApiErrorData } from '../service/dispatch';
import { isCoreRequest, type CoreEvent, type CoreOpened, type CoreOptions, type CoreRequest, type CoreStatus, type MessageLink } from './protocol';

/** Everything open while the core runs. */
interface Running {
  readonly appliance: Appliance;
  readonly host: Host;
  readonly api: AmpuleApi;
}

async function closeAll(r: Running): Promise<void> {
  await r.host.close();
  r.appliance.close();
}

async function openCore(options: CoreOptions, emit: (e: CoreEvent) => void): Promise<Running> {
  const appliance = await openAppliance({
    dataDir: options.dataDir,
    ...(options.masterKeyFile ? { masterKeyFile: options.masterKeyFile } : {}),
    ...(options.keychainService ? { keychainService: options.keychainService } : {}),
  });
  try {
    // `ampule workspace create …` typed while the desktop runs is forwarded here, not run against the same files.
    // Alerts that fire are announced to the main process, which shows them as desktop notifications.
    const rules = { onFiring: (notices: CoreEvent['notices']) => emit({ event: 'alerts-firing', notices }) };
    const host = await startHost(appliance, { listen: options.listen, commands: options.adminChannel === false ? null : runCommand, rules });
    return { appliance, host, api: host.api('desktop') };
  } catch (e) {
    appliance.close();
    throw e;
  }
}

/** A native addon built for another runtime (Node's build loaded by Electron, or the reverse). */
function nativeAbiMismatch(e: unknown): ApiError | null {
  if (!(e instanceof Error) || ((e as { code?: unknown }).code !== 'ERR_DLOPEN_FAILED' && !/NODE_MODULE_VERSION/.test(e.message))) return null;
  const runtime = process.versions.electron ? `Electron ${process.versions.electron}` : `Node ${process.versions.node}`;
  return new ApiError(
    'unavailable',
    `a native module (better-sqlite3) was built for another runtime than ${runtime}`,
    undefined,
    process.versions.electron
      ? 'start the desktop app with `npm start` (it runs out/electron-app, whose modules are built for Electron) or from an installer, not with `electron .`'
      : 'reinstall the dependencies for Node: npm rebuild better-sqlite3',
  );
}

/** The error's name and where it happened, never its message: messages may quote stored data. */
function describeError(e: unknown): string {
  if (!(e instanceof Error)) return typeof e;
  return `${e.name} ${(e.stack ?? '').split('\n').slice(1, 6).map((l) => l.trim()).join(' | ')}`.trim();
}

/** Answers requests arriving on `link` until a shutdown request has been served. */
export function serveCore(link: MessageLink): void {
  let running: Running | null = null;
  let opening = false;
  // One request at a time, in order: a shutdown never overtakes a write the window already sent.
  let queue: Promise<void> = Promise.resolve();

  async function open(options: CoreOptions): Promise<CoreOpened> {
    if (running || opening) throw new ApiError('conflict', 'the core is already open');
    opening = true;
    try {
      running = await openCore(options, (e) => link.post(e)).catch((e: unknown) => {
        throw nativeAbiMismatch(e) ?? e;
      });
    } finally {
      opening = false;
    }
    return { listenUrl: running.host.server?.url ?? null };
  }

  function need(): Running {
    if (!running) throw new ApiError('unavailable', 'the appliance is not open', undefined, 'wait for Ampule to finish starting, or restart it');
    return running;
  }

  async function status(): Promise<CoreStatus> {
    const r = need();
    const list = await r.api.listWorkspaces();
    return { workspaces: list.length, samplesPerSecond: list.reduce((sum, w) => sum + w.samplesPerSecond, 0), listenUrl: r.host.server?.url ?? null };
  }

  async function shutdown(): Promise<null> {
    const r = running;
    running = null;
    if (r) await closeAll(r);
    return null;
  }

  async function answer(req: CoreRequest): Promise<ApiResult<unknown>> {
    try {
      switch (req.op) {
        case 'open': return { ok: true, value: await open(req.options) };
        // dispatch validates the arguments again: the core does not rely on its caller having done so.
        case 'call': return await dispatch(need().api, req.method, req.args);
        case 'status': return { ok: true, value: await status() };
        case 'shutdown': return { ok: true, value: await shutdown() };
      }
    } catch (e) {
      const error = toApiErrorData(e);
      if (error.kind === 'internal') process.stderr.write(`ampule core: ${req.op === 'call' ? req.method : req.op} failed: ${describeError(e)}\n`);
      return { ok: false, error };
    }
  }

  link.onMessage((message) => {
    if (!isCoreRequest(message)) return; // nothing to answer to
    queue = queue.then(async () => {
      const result = await answer(message);
      link.post({ id: message.id, result });
      if (message.op === 'shutdown') link.close();
    });
  });
}

/** The link this process or thread was started with, when it was started as the Ampule core. */
function startupLink(): MessageLink | null {
  const electronPort = (process as { parentPort?: ParentPort }).parentPort;
  // Only the process's own thread: the query pool's threads (main/http/query-pool) run this bundle too.
  if (electronPort && isMainThread) {
    return {
      post: (m) => electronPort.postMessage(m),
      onMessage: (l) => electronPort.on('message', (e) => l(e.data)),
      // The stores are closed: nothing is left for this process to do.
      close: () => setImmediate(() => process.exit(0)),
    };
  }
  if (threadPort && (workerData as { ampuleCore?: unknown } | null)?.ampuleCore === true) {
    const port = threadPort;
    return { post: (m) => port.postMessage(m), onMessage: (l) => port.on('message', l), close: () => port.close() };
  }
  return null;
}

const link = startupLink();
if (link) serveCore(link);
