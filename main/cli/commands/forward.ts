// `ampule forward add|list|describe|update|remove|status`: a workspace's forwarding destinations
// (remote write to AMP, Mimir, VictoriaMetrics, Thanos, Prometheus). Stored sealed; describe, the
// output and the activity log never show a credential or the URL's query.
import { readFileSync } from 'node:fs';
import { type Command, type ParsedArgs, UsageError, requireString } from '../command';
import { DestinationError } from '../../forward/destination';
import { MAX_DEFINITION_BYTES, type DestinationInfo } from '../../forward/destination-store';
import { destinationStoreOf, runningForwarding } from '../../host/forwarding';
import { parseTime } from '../../query/api';
import type { Appliance } from '../../core/appliance';
import { JSON_OPTION, printJson, reply, table, wantsJson } from './output';
import { existingWorkspace } from './workspace-option';

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

/** Where the data goes, for the activity log: scheme and host only (a path or query may carry a tenant or more). */
function where(info: DestinationInfo): string {
  const u = new URL(String(info.definition.url));
  return `${info.name} (${info.id}) → ${u.protocol}//${u.host}`;
}

/** Runs a change, recording it in the activity log; a refused definition logs only the field. */
async function change(appliance: Appliance, workspaceId: string, action: string, ctx: { err(l: string): void }, fn: () => DestinationInfo): Promise<DestinationInfo | null> {
  try {
    const info = fn();
    appliance.activity.append({ action, outcome: 'ok', actor: 'cli', workspaceId, detail: where(info) });
    return info;
  } catch (e) {
    const detail = e instanceof DestinationError ? `definition refused (field ${e.field})` : (e as Error).name;
    appliance.activity.append({ action, outcome: 'error', actor: 'cli', workspaceId, detail });
    if (!(e instanceof DestinationError)) throw e;
    ctx.err(`Destination not stored: ${e.message}`);
    return null;
  }
}

export const forwardAdd: Command = {
  path: ['forward', 'add'],
  summary: 'Forward a workspace to a remote-write receiver (Prometheus remote_write fields, YAML or JSON); --since sends history first.',
  usage: '--workspace ID --file DEST.yaml [--since RFC3339|UNIX_SECONDS] [--json]',
  options: { workspace: { type: 'string' }, file: { type: 'string' }, since: { type: 'string' }, ...JSON_OPTION },
  async run(args: ParsedArgs, ctx) {
    const text = readDefinition(ctx.path(requireString(args, 'file')));
    let since: number | undefined;
    if (typeof args.values.since === 'string') {
      try {
        since = parseTime(args.values.since, 'since');
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    const store = destinationStoreOf(appliance);
    const now = Date.now();
    // From now on: the next commit is the first sent. With --since, history [since, now) first.
    const seq = appliance.tenant(workspaceId).store.committed().nextSeq();
    const start = since === undefined ? { seq, ackedMaxT: now } : { seq, ackedMaxT: null, backfill: { from: since, to: now, next: since } };
    const info = await change(appliance, workspaceId, 'forward.add', ctx, () => store.add(workspaceId, text, start));
    if (!info) return 1;
    reply(args, ctx, info, `Forwarding ${workspaceId} to ${info.definition.url} as ${info.name} (${info.id})${since === undefined ? '' : `, history since ${new Date(since).toISOString()} first`}.`);
    return 0;
  },
};

export const forwardUpdate: Command = {
  path: ['forward', 'update'],
  summary: 'Replace a destination\'s definition; its queue position is kept (nothing skipped, nothing sent twice).',
  usage: '--workspace ID --destination NAME|ID --file DEST.yaml [--json]',
  options: { workspace: { type: 'string' }, destination: { type: 'string' }, file: { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const text = readDefinition(ctx.path(requireString(args, 'file')));
    const ref = requireString(args, 'destination');
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    const store = destinationStoreOf(appliance);
    const info = await change(appliance, workspaceId, 'forward.update', ctx, () => store.update(workspaceId, ref, text));
    if (!info) return 1;
    reply(args, ctx, info, `Destination ${info.name} (${info.id}) of ${workspaceId} changed.`);
    return 0;
  },
};

export const forwardRemove: Command = {
  path: ['forward', 'remove'],
  summary: 'Stop forwarding to a destination and forget it (and its queue position).',
  usage: '--workspace ID --destination NAME|ID [--json]',
  options: { workspace: { type: 'string' }, destination: { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const ref = requireString(args, 'destination');
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    const store = destinationStoreOf(appliance);
    const info = await change(appliance, workspaceId, 'forward.remove', ctx, () => store.remove(workspaceId, ref));
    reply(args, ctx, { ...info, removed: true }, `Destination ${info!.name} (${info!.id}) of ${workspaceId} removed.`);
    return 0;
  },
};

export const forwardList: Command = {
  path: ['forward', 'list'],
  summary: 'List a workspace\'s forwarding destinations (no credentials).',
  usage: '--workspace ID [--json]',
  options: { workspace: { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    const list = destinationStoreOf(appliance).list(workspaceId);
    if (wantsJson(args)) printJson(ctx, list);
    else if (list.length === 0) ctx.out(`${workspaceId} forwards nowhere.`);
    else table(ctx, ['ID', 'NAME', 'URL', 'PROTOCOL', 'AUTH', 'CUSTOM CA'], list.map((d) => [d.id, d.name, String(d.definition.url), String(d.definition.protobufMessage), String((d.definition.auth as { kind: string }).kind), d.definition.customCa ? 'yes' : 'no']));
    return 0;
  },
};

export const forwardDescribe: Command = {
  path: ['forward', 'describe'],
  summary: 'Show a destination (credentials never shown).',
  usage: '--workspace ID --destination NAME|ID [--json]',
  options: { workspace: { type: 'string' }, destination: { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const ref = requireString(args, 'destination');
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    const d = destinationStoreOf(appliance).describe(workspaceId, ref);
    if (wantsJson(args)) printJson(ctx, d);
    else {
      ctx.out(`# ${d.name} (${d.id}) of ${workspaceId}; created ${d.createdAt}, modified ${d.modifiedAt}`);
      ctx.out(JSON.stringify(d.definition, null, 2));
    }
    return 0;
  },
};

export const forwardStatus: Command = {
  path: ['forward', 'status'],
  summary: 'Per destination: lag, samples sent/failed/retried/dropped, last error (from the running server).',
  usage: '--workspace ID [--json]',
  options: { workspace: { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    const running = runningForwarding(appliance);
    if (!running) {
      const list = destinationStoreOf(appliance).list(workspaceId);
      reply(args, ctx, list.map((d) => ({ id: d.id, name: d.name, state: 'stopped' })), `No server is running on this data directory: ${list.length} destination(s), none sending (start \`ampule serve\`).`);
      return 0;
    }
    const st = running.status(workspaceId);
    if (wantsJson(args)) printJson(ctx, st);
    else if (st.length === 0) ctx.out(`${workspaceId} forwards nowhere.`);
    else {
      table(
        ctx,
        ['NAME', 'STATE', 'LAG S', 'SENT', 'FAILED', 'RETRIED', 'DROPPED', 'SHARDS', 'LAST ERROR'],
        st.map((s) => [s.name, s.state, s.lagSeconds.toFixed(1), String(s.samples.sent), String(s.samples.failed), String(s.samples.retried), String(s.samples.dropped), String(s.shards), s.lastError ? `${s.lastError.at} ${s.lastError.message}` : '-']),
      );
    }
    return 0;
  },
};

export const forwardCommands: Command[] = [forwardAdd, forwardList, forwardDescribe, forwardUpdate, forwardRemove, forwardStatus];
