// `ampule key rotate-data --workspace ID`: a new data key for the workspace; every stored row is re-sealed (resumable).
import { requireString, type Command } from '../command';
import { rotateDataKey } from '../../retention/key-lifecycle';
import { JSON_OPTION, progressPrinter, reply } from './output';

export const keyRotateData: Command = {
  path: ['key', 'rotate-data'],
  summary: 'Rotate a workspace\'s data key and re-encrypt its stored data (an interrupted run resumes).',
  usage: '--workspace ID [--json]',
  options: { workspace: { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const workspaceId = requireString(args, 'workspace');
    const appliance = await ctx.appliance();
    const progress = progressPrinter(ctx, 'rotate-data');
    const r = await rotateDataKey(appliance, workspaceId, { actor: 'cli', onProgress: (done, total) => progress.update(`${done}/${total} rows re-sealed`) });
    reply(args, ctx, r, `Workspace ${workspaceId} now uses data key generation ${r.generation}${r.resumed ? ' (finished an interrupted rotation)' : ''}; ${r.rowsResealed} rows re-sealed.`);
    return 0;
  },
};
