// `ampule retention set|show --workspace ID`: how long a workspace keeps samples (AMP: 1–1095 days, default 150).
import { UsageError, requireString, type Command } from '../command';
import { DEFAULT_RETENTION_DAYS } from '../../control/workspace-settings';
import { JSON_OPTION, reply } from './output';
import { existingWorkspace } from './workspace-option';

export const retentionSet: Command = {
  path: ['retention', 'set'],
  summary: 'Set how many days a workspace keeps samples (1–1095; older data is deleted).',
  usage: '--workspace ID --days N [--json]',
  options: { workspace: { type: 'string' }, days: { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const workspaceId = requireString(args, 'workspace');
    const raw = requireString(args, 'days');
    if (!/^\d+$/.test(raw)) throw new UsageError(`--days must be a whole number of days, got "${raw}"`);
    const appliance = await ctx.appliance();
    appliance.control.describeWorkspace(workspaceId);
    const days = appliance.settings.setRetentionDays(workspaceId, Number(raw));
    appliance.closeStore(workspaceId); // reopened with the new retention on next use
    appliance.activity.append({ action: 'workspace.retention', outcome: 'ok', actor: 'cli', workspaceId, detail: `retention ${days} days` });
    reply(args, ctx, { workspaceId, retentionDays: days }, `Workspace ${workspaceId} keeps samples for ${days} days; older data is deleted at the next maintenance pass.`);
    return 0;
  },
};

export const retentionShow: Command = {
  path: ['retention', 'show'],
  summary: 'Show a workspace\'s retention.',
  usage: '--workspace ID [--json]',
  options: { workspace: { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    const set = appliance.settings.retentionDays(workspaceId);
    reply(args, ctx, { workspaceId, retentionDays: set ?? DEFAULT_RETENTION_DAYS, default: set === null }, `${workspaceId}: ${set ?? DEFAULT_RETENTION_DAYS} days${set === null ? ' (default)' : ''}`);
    return 0;
  },
};

export const retentionCommands: Command[] = [retentionSet, retentionShow];
