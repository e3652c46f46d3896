// Mounts the web console on a running HTTPS listener at /console/ (ampule serve).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Appliance } from '../core/appliance';
import type { Mountable } from '../http/types';
import type { ServiceRuntime } from '../service/runtime';
import { createConsoleHandler, type ConsoleEvent } from './handler';
import { setSecurityHeaders } from './headers';

export const CONSOLE_PREFIX = '/console';

/** dist/renderer beside the bundled CLI (dist/cli.mjs), or the repo's dist/ when run from source. */
export function defaultStaticDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'renderer'), join(here, '..', '..', 'dist', 'renderer')];
  return candidates.find((d) => existsSync(join(d, 'index.html'))) ?? candidates[0]!;
}

export function mountConsole(
  server: Mountable & { readonly url: string },
  appliance: Appliance,
  runtime: ServiceRuntime,
  opts: { staticDir?: string; now?: () => number } = {},
): void {
  const record = (e: ConsoleEvent) => {
    const entry = { action: e.action, outcome: e.outcome, actor: e.outcome === 'ok' ? 'console:admin' : `console:${e.client}`, detail: e.detail } as const;
    // Failures come from the network: aggregated per minute so a flood cannot fill the disk.
    if (e.outcome === 'ok') appliance.activity.append(entry);
    else appliance.activity.appendAggregated(entry);
  };
  const handler = createConsoleHandler({
    dataDir: appliance.dataDir,
    api: runtime.api('console:admin', () => server.url),
    cipher: () => appliance.tlsKeys,
    staticDir: opts.staticDir ?? defaultStaticDir(),
    record,
    ...(opts.now ? { now: opts.now } : {}),
  });
  server.mount(CONSOLE_PREFIX, handler);
  // A person who opens https://localhost:9443/ wants the console, not the API's JSON 404.
  server.mount('/', (req, res, subpath) => {
    setSecurityHeaders(res);
    if (subpath !== '/' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: 'error', errorType: 'not_found', error: 'not found' }));
      return;
    }
    res.writeHead(302, { Location: `${CONSOLE_PREFIX}/` }).end();
  });
}
