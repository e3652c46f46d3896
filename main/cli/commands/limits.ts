// `ampule limits show|set --workspace ID`: a workspace's limits, as AMP's service quotas are set per
// workspace: ingestion rate and burst, active series, label counts and lengths, request sizes,
// the out-of-order window. A running server applies a change at once (the tenant refreshes its
// cached limits); every change is recorded in the activity log.
import { UsageError, type Command, type ParsedArgs } from '../command';
import { LIMIT_NAMES, type LimitName, type WorkspaceLimitsInfo } from '../../../shared/api';
import { describeLimits } from '../../ingest/limits';
import { JSON_OPTION, reply } from './output';
import { existingWorkspace } from './workspace-option';

/** ingestionRate → ingestion-rate */
const optionName = (n: LimitName) => n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const LIMIT_OPTIONS = Object.fromEntries(LIMIT_NAMES.map((n) => [optionName(n), { type: 'string' as const }]));

function table(info: WorkspaceLimitsInfo): string {
  const width = Math.max(...LIMIT_NAMES.map((n) => optionName(n).length));
  return LIMIT_NAMES.map((n) => `  ${optionName(n).padEnd(width)}  ${String(info.limits[n]).padStart(12)}${info.overridden.includes(n) ? '' : '  (default)'}`).join('\n');
}

function changes(args: ParsedArgs): Partial<Record<LimitName, number>> {
  const out: Partial<Record<LimitName, number>> = {};
  for (const n of LIMIT_NAMES) {
    const raw = args.values[optionName(n)];
    if (raw === undefined) continue;
    if (typeof raw !== 'string' || !/^\d+$/.test(raw)) throw new UsageError(`--${optionName(n)} must be a whole number, got "${String(raw)}"`);
    out[n] = Number(raw);
  }
  if (Object.keys(out).length === 0) throw new UsageError(`give at least one limit: ${LIMIT_NAMES.map((n) => `--${optionName(n)} N`).join(', ')}`);
  return out;
}

export const limitsShow: Command = {
  path: ['limits', 'show'],
  summary: "Show a workspace's limits (ingestion rate and burst, active series, label and request sizes).",
  usage: '--workspace ID [--json]',
  options: { workspace: { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    const info = describeLimits(appliance.control.getLimits(workspaceId));
    reply(args, ctx, { workspaceId, ...info }, `${workspaceId}:\n${table(info)}`);
    return 0;
  },
};

export const limitsSet: Command = {
  path: ['limits', 'set'],
  summary: "Set some of a workspace's limits, e.g. --ingestion-rate 500000 --ingestion-burst 5000000 (others unchanged).",
  usage: `--workspace ID ${LIMIT_NAMES.map((n) => `[--${optionName(n)} N]`).join(' ')} [--json]`,
  options: { workspace: { type: 'string' }, ...LIMIT_OPTIONS, ...JSON_OPTION },
  forwardToServer: true,
  async run(args, ctx) {
    const wanted = changes(args);
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    const info = describeLimits(appliance.control.setLimits(workspaceId, wanted, 'cli'));
    reply(args, ctx, { workspaceId, ...info }, `Workspace ${workspaceId} limits now:\n${table(info)}`);
    return 0;
  },
};

export const limitsCommands: Command[] = [limitsShow, limitsSet];
