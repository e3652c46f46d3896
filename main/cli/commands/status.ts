// `ampule status`: whether `ampule serve` runs on the data directory, and where. Like every command
// it is run by the server when one answers on the admin socket, so the answer comes from the server.
import type { Command } from '../command';
import { forwardToRunningServer } from '../../admin/client';
import { JSON_OPTION, reply } from './output';

/** The port `ampule serve` listens on without --port. */
export const DEFAULT_PORT = 9443;

export const status: Command = {
  path: ['status'],
  summary: 'Show whether `ampule serve` (or the desktop app) runs on the data directory, with its URL and web console.',
  usage: '[--json]',
  options: { ...JSON_OPTION },
  async run(args, ctx) {
    const url = ctx.server?.url() ?? null;
    if (!ctx.inServer) {
      reply(args, ctx, { running: false, dataDir: ctx.dataDir }, `No ampule serve (or desktop app) runs on ${ctx.dataDir}; start one with \`ampule serve\`.`);
      return 0;
    }
    reply(
      args,
      ctx,
      { running: true, dataDir: ctx.dataDir, url, consoleUrl: url && `${url}/console/` },
      `Ampule runs on ${ctx.dataDir}: ${url ? `${url} (web console ${url}/console/)` : 'without an HTTPS listener'}`,
    );
    return 0;
  },
};

/** The base URL of the server running on `dataDir` (asked over its admin socket), or null when none runs. */
export async function runningServerUrl(dataDir: string): Promise<string | null> {
  const r = await forwardToRunningServer(['status', '--json', '--data-dir', dataDir], dataDir).catch(() => null);
  if (!r || r.status !== 0) return null;
  try {
    const url = (JSON.parse(r.out.join('\n')) as { url?: unknown }).url;
    return typeof url === 'string' ? url : null;
  } catch {
    return null;
  }
}
