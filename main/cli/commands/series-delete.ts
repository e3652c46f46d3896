// `ampule series delete --workspace ID --match SEL [--start T --end T] --yes`
import { UsageError, requireString, type Command } from '../command';
import { DeleteRequestError, deleteSeriesRequest } from '../../retention/delete-series';
import { JSON_OPTION, reply } from './output';

export const seriesDelete: Command = {
  path: ['series', 'delete'],
  summary: 'Delete the samples of matching series for good (rows rewritten, old ciphertext overwritten).',
  usage: '--workspace ID --match SELECTOR… [--start T] [--end T] --yes [--json]   (T: RFC 3339 or Unix seconds)',
  options: { workspace: { type: 'string' }, match: { type: 'string', multiple: true }, start: { type: 'string' }, end: { type: 'string' }, yes: { type: 'boolean' }, ...JSON_OPTION },
  async run(args, ctx) {
    const workspaceId = requireString(args, 'workspace');
    const v = args.values.match;
    const selectors = v === undefined ? [] : Array.isArray(v) ? v : [String(v)];
    if (selectors.length === 0) throw new UsageError('--match SELECTOR is required (e.g. --match \'http_requests_total{job="api"}\')');
    if (args.values.yes !== true) throw new UsageError('deleting data cannot be undone: add --yes to confirm');
    const params = new URLSearchParams();
    for (const s of selectors) params.append('match[]', s);
    for (const k of ['start', 'end'] as const) if (typeof args.values[k] === 'string') params.set(k, args.values[k] as string);
    const appliance = await ctx.appliance();
    try {
      const r = await deleteSeriesRequest(params, appliance.store(workspaceId), appliance.activity, 'cli');
      reply(args, ctx, { workspaceId, ...r }, `Deleted ${r.samplesDeleted} samples from workspace ${workspaceId}.`);
      return 0;
    } catch (e) {
      if (e instanceof DeleteRequestError) throw new UsageError(e.message);
      throw e;
    }
  },
};
