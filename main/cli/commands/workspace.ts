// `ampule workspace create|list|describe|update|delete`: AMP's workspace operations, locally.
import { requirePositional, requireString, UsageError, type CliContext, type Command } from '../command';
import { detectInWorkspaceFields, SENSITIVE_KIND_TITLES } from '../../../shared/sensitive-data';
import type { Workspace } from '../../control/types';
import { JSON_OPTION, listOption, printJson, reply, table, tagOptions, wantsJson } from './output';

const ACTOR = 'cli';

/** AMP: never put sensitive data in free-form fields. The console warns as the user types; here on stderr. */
function warnIfSensitive(ctx: CliContext, alias: string, tags: Readonly<Record<string, string>>): void {
  const findings = detectInWorkspaceFields(alias, tags);
  if (findings.length === 0) return;
  ctx.err('Warning: this looks like sensitive data. Aliases and tags are shown wherever workspaces are listed; they should describe the data, not hold it:');
  for (const f of findings) ctx.err(`  ${SENSITIVE_KIND_TITLES[f.kind]} in ${f.labelName === 'alias' ? 'the alias' : f.labelName.replace(/^tag:/, 'tag ')}: ${f.example}`);
  ctx.err('Change it with: ampule workspace update WORKSPACE_ID --alias A / --tag k=v / --remove-tag k');
}

function describe(ctx: Parameters<Command['run']>[1], w: Workspace): void {
  ctx.out(`workspaceId  ${w.workspaceId}`);
  ctx.out(`alias        ${w.alias}`);
  ctx.out(`status       ${w.status}`);
  ctx.out(`createdAt    ${w.createdAt}`);
  const tags = Object.entries(w.tags);
  ctx.out(`tags         ${tags.length === 0 ? '(none)' : tags.map(([k, v]) => `${k}=${v}`).join(', ')}`);
}

export const workspaceCreate: Command = {
  path: ['workspace', 'create'],
  summary: 'Create a workspace (its own encrypted store, data key and tokens).',
  usage: '--alias A [--tag k=v]… [--json]',
  options: { alias: { type: 'string' }, tag: { type: 'string', multiple: true }, ...JSON_OPTION },
  async run(args, ctx) {
    const alias = requireString(args, 'alias');
    const tags = tagOptions(args);
    const w = (await ctx.appliance({ create: true })).control.createWorkspace({ alias, tags }, ACTOR);
    reply(args, ctx, w, `Created workspace ${w.workspaceId}`);
    warnIfSensitive(ctx, alias, tags);
    return 0;
  },
};

export const workspaceList: Command = {
  path: ['workspace', 'list'],
  summary: 'List workspaces.',
  usage: '[--json]',
  options: { ...JSON_OPTION },
  async run(args, ctx) {
    const list = (await ctx.appliance()).control.listWorkspaces();
    if (wantsJson(args)) printJson(ctx, list);
    else if (list.length === 0) ctx.out('No workspaces. Create one with: ampule workspace create --alias NAME');
    else table(ctx, ['WORKSPACE ID', 'STATUS', 'CREATED', 'ALIAS'], list.map((w) => [w.workspaceId, w.status, w.createdAt, w.alias]));
    return 0;
  },
};

export const workspaceDescribe: Command = {
  path: ['workspace', 'describe'],
  summary: 'Show one workspace.',
  usage: 'WORKSPACE_ID [--json]',
  options: { ...JSON_OPTION },
  async run(args, ctx) {
    const id = requirePositional(args, 0, 'WORKSPACE_ID');
    const w = (await ctx.appliance()).control.describeWorkspace(id);
    if (wantsJson(args)) printJson(ctx, w);
    else describe(ctx, w);
    return 0;
  },
};

export const workspaceUpdate: Command = {
  path: ['workspace', 'update'],
  summary: "Change a workspace's alias or tags.",
  usage: 'WORKSPACE_ID [--alias A] [--tag k=v]… [--remove-tag k]… [--json]',
  options: { alias: { type: 'string' }, tag: { type: 'string', multiple: true }, 'remove-tag': { type: 'string', multiple: true }, ...JSON_OPTION },
  async run(args, ctx) {
    const id = requirePositional(args, 0, 'WORKSPACE_ID');
    const alias = args.values.alias;
    const tags = tagOptions(args);
    const removeTags = listOption(args, 'remove-tag');
    if (alias === undefined && Object.keys(tags).length === 0 && removeTags.length === 0) {
      throw new UsageError('nothing to change: give --alias, --tag or --remove-tag');
    }
    const w = (await ctx.appliance()).control.updateWorkspace(id, { ...(typeof alias === 'string' ? { alias } : {}), tags, removeTags }, ACTOR);
    reply(args, ctx, w, `Updated workspace ${w.workspaceId}`);
    warnIfSensitive(ctx, typeof alias === 'string' ? alias : '', tags);
    return 0;
  },
};

export const workspaceDelete: Command = {
  path: ['workspace', 'delete'],
  summary: "Delete a workspace: destroys its data key (its data becomes unreadable at once), then its files and tokens.",
  usage: 'WORKSPACE_ID --yes [--json]',
  options: { yes: { type: 'boolean' }, ...JSON_OPTION },
  async run(args, ctx) {
    const id = requirePositional(args, 0, 'WORKSPACE_ID');
    if (args.values.yes !== true) throw new UsageError(`deleting ${id} destroys its data for good; add --yes to confirm`);
    (await ctx.appliance()).control.deleteWorkspace(id, ACTOR);
    reply(args, ctx, { workspaceId: id, status: 'DELETED' }, `Deleted workspace ${id}: its data key is destroyed and its files removed.`);
    return 0;
  },
};

export const workspaceCommands: Command[] = [workspaceCreate, workspaceList, workspaceDescribe, workspaceUpdate, workspaceDelete];
