// `ampule alert-manager put|describe|delete`: a workspace's alert manager definition (AMP's noun) —
// the external Alertmanagers and webhook receivers its firing alerts go to. Stored sealed;
// describe and the activity log never show a credential.
import { readFileSync } from 'node:fs';
import { type Command, type ParsedArgs, UsageError, requireString } from '../command';
import { AlertManagerStore } from '../../alerting/definition-store';
import { DefinitionError, MAX_DEFINITION_BYTES } from '../../alerting/definition';
import { controlDatabase } from '../../retention/key-lifecycle';
import type { Appliance } from '../../core/appliance';
import { JSON_OPTION, printJson, reply, wantsJson } from './output';
import { existingWorkspace } from './workspace-option';

function storeOf(appliance: Appliance): AlertManagerStore {
  const control = controlDatabase(appliance);
  return new AlertManagerStore(control.db, (id) => control.dataKeys(id));
}

function readDefinition(path: string): string {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read --file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (buf.length > MAX_DEFINITION_BYTES) throw new UsageError(`--file ${path} is larger than ${MAX_DEFINITION_BYTES} bytes`);
  return buf.toString('utf8');
}

export const alertManagerPut: Command = {
  path: ['alert-manager', 'put'],
  summary: 'Create or replace a workspace\'s alert manager definition (Alertmanagers and webhooks, YAML or JSON).',
  usage: '--workspace ID --file DEF.yaml|DEF.json [--json]',
  options: { workspace: { type: 'string' }, file: { type: 'string' }, ...JSON_OPTION },
  forwardToServer: true,
  async run(args: ParsedArgs, ctx) {
    const text = readDefinition(ctx.path(requireString(args, 'file')));
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    try {
      const info = storeOf(appliance).put(workspaceId, text);
      appliance.activity.append({ action: 'alert_manager.put', outcome: 'ok', actor: 'cli', workspaceId, detail: `${info.alertmanagers} alertmanager(s), ${info.webhooks} webhook(s)` });
      reply(args, ctx, info, `Alert manager definition of ${workspaceId}: ${info.alertmanagers} alertmanager(s), ${info.webhooks} webhook(s).`);
      return 0;
    } catch (e) {
      // Only the field name goes to the log: a refused file may hold a credential anywhere.
      const detail = e instanceof DefinitionError ? `definition refused (field ${e.field})` : (e as Error).name;
      appliance.activity.append({ action: 'alert_manager.put', outcome: 'error', actor: 'cli', workspaceId, detail });
      if (!(e instanceof DefinitionError)) throw e;
      ctx.err(`Alert manager definition not stored: ${e.message}`);
      return 1;
    }
  },
};

export const alertManagerDescribe: Command = {
  path: ['alert-manager', 'describe'],
  summary: 'Show a workspace\'s alert manager definition (credentials shown as <secret>).',
  usage: '--workspace ID [--json]',
  options: { workspace: { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    const d = storeOf(appliance).describe(workspaceId);
    if (wantsJson(args)) printJson(ctx, d);
    else {
      ctx.out(`# alert manager of ${workspaceId}: ${d.status}; ${d.alertmanagers} alertmanager(s), ${d.webhooks} webhook(s); created ${d.createdAt}, modified ${d.modifiedAt}`);
      ctx.out(JSON.stringify(d.definition, null, 2));
    }
    return 0;
  },
};

export const alertManagerDelete: Command = {
  path: ['alert-manager', 'delete'],
  summary: 'Delete a workspace\'s alert manager definition (its alerts are no longer sent).',
  usage: '--workspace ID [--json]',
  options: { workspace: { type: 'string' }, ...JSON_OPTION },
  forwardToServer: true,
  async run(args, ctx) {
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    try {
      storeOf(appliance).delete(workspaceId);
    } catch (e) {
      appliance.activity.append({ action: 'alert_manager.delete', outcome: 'error', actor: 'cli', workspaceId, detail: (e as Error).name });
      throw e;
    }
    appliance.activity.append({ action: 'alert_manager.delete', outcome: 'ok', actor: 'cli', workspaceId, detail: 'definition deleted' });
    reply(args, ctx, { workspaceId, deleted: true }, `Alert manager definition of ${workspaceId} deleted.`);
    return 0;
  },
};

export const alertManagerCommands: Command[] = [alertManagerPut, alertManagerDescribe, alertManagerDelete];
