// `ampule audit verify` and `ampule audit export`: the activity log from the command line.
import { UsageError, type Command, type ParsedArgs } from '../command';
import { JSON_OPTION, wantsJson } from './output';

const RELATIVE = /^(\d+)(s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A time option: RFC 3339, Unix seconds, or a duration ago ('15m', '24h', '7d'). Returns Unix ms. */
export function timeOption(args: ParsedArgs, name: string, now = Date.now()): number | undefined {
  const v = args.values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} needs a value`);
  const rel = RELATIVE.exec(v);
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]!]!;
  if (/^-?\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`--${name} "${v}" is not a time: use RFC 3339 (2026-11-28T12:00:00Z), Unix seconds, or a duration ago like 24h or 7d`);
  return t;
}

export const auditVerify: Command = {
  path: ['audit', 'verify'],
  summary: 'Check the activity log hash chain; names the first edited, deleted, reordered or inserted record and exits 1.',
  usage: '[--json]',
  options: { ...JSON_OPTION },
  async run(args, ctx) {
    const appliance = await ctx.appliance();
    appliance.activity.flush();
    const v = await appliance.activity.verifyInTurns(); // `ampule serve` runs this on its ingest thread
    if (wantsJson(args)) ctx.out(JSON.stringify(v));
    else if (v.ok) ctx.out(`Activity log verified: ${v.message}.`);
    else ctx.err(`Activity log BROKEN at record ${v.brokenAtSeq}: ${v.message} (${v.checked} records before it verified).`);
    return v.ok ? 0 : 1;
  },
};

export const auditExport: Command = {
  path: ['audit', 'export'],
  summary: 'Print activity log records, oldest first: one JSON object per line with --json.',
  usage: '[--since TIME] [--until TIME] [--json]',
  options: { since: { type: 'string' }, until: { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const since = timeOption(args, 'since');
    const until = timeOption(args, 'until');
    const appliance = await ctx.appliance();
    appliance.activity.flush();
    for (const r of appliance.activity.exportRecords({ ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) })) {
      if (wantsJson(args)) ctx.out(JSON.stringify(r));
      else ctx.out(`${r.seq}\t${r.time}\t${r.action}\t${r.outcome}\t${r.workspaceId ?? '-'}\t${r.actor}\t${r.detail}${r.count > 1 ? `\t×${r.count}` : ''}`);
    }
    return 0;
  },
};

export const auditCommands: Command[] = [auditVerify, auditExport];
