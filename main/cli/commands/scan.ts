// `ampule scan [--workspace ID]` and `ampule rules set|show`: sensitive-data discovery and the
// ingest rules that keep such data out (drop a label, or store a keyed hash of its value).
import { UsageError, type Command } from '../command';
import type { ScanReport } from '../../discovery/scan';
import { SENSITIVE_KIND_TITLES } from '../../../shared/sensitive-data';
import { JSON_OPTION, listOption, printJson, progressPrinter, reply, table, wantsJson } from './output';
import { existingWorkspace } from './workspace-option';

export const scan: Command = {
  path: ['scan'],
  summary: 'Look for personal data and secrets in series labels, aliases and tags (shows masked examples only).',
  usage: '[--workspace ID] [--json]',
  options: { workspace: { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const appliance = await ctx.appliance();
    const only = args.values.workspace;
    const workspaces = appliance.control.listWorkspaces().filter((w) => typeof only !== 'string' || w.workspaceId === only);
    if (typeof only === 'string' && workspaces.length === 0) appliance.control.describeWorkspace(only);
    const progress = progressPrinter(ctx, 'scan');
    const reports: ScanReport[] = [];
    for (const w of workspaces) {
      const r = await appliance.discovery.rescan(w, appliance.store(w.workspaceId).querier(), (p) => progress.update(`${p.workspaceId}: ${p.seriesScanned}/${p.seriesTotal} series`));
      if (r) reports.push(r); // null: deleted or scanned anew meanwhile
    }
    appliance.activity.append({ action: 'discovery.scan', outcome: 'ok', actor: 'cli', workspaceId: typeof only === 'string' ? only : null, detail: `${reports.length} workspace(s), ${reports.reduce((s, r) => s + r.findings.length, 0)} finding(s)` });
    if (wantsJson(args)) {
      printJson(ctx, reports);
      return 0;
    }
    const rows = reports.flatMap((r) => r.findings.map((f) => [r.workspaceId, SENSITIVE_KIND_TITLES[f.kind], f.labelName + (f.inName ? ' (name)' : ''), f.example, String(f.series)]));
    if (rows.length === 0) ctx.out(`No sensitive data found (${reports.reduce((s, r) => s + r.seriesScanned, 0)} series in ${reports.length} workspace(s)).`);
    else {
      table(ctx, ['WORKSPACE', 'LOOKS LIKE', 'WHERE', 'EXAMPLE (MASKED)', 'SERIES'], rows);
      ctx.out('Keep it out: `ampule rules set --workspace ID --drop LABEL` or `--hash LABEL`, then delete what is stored with `ampule series delete`.');
    }
    return 0;
  },
};

export const rulesSet: Command = {
  path: ['rules', 'set'],
  summary: 'Set a workspace\'s ingest rules: labels dropped or replaced by a keyed hash before anything is stored.',
  usage: '--workspace ID [--drop LABEL]… [--hash LABEL]… [--json]   (replaces the rules; none given clears them)',
  options: { workspace: { type: 'string' }, drop: { type: 'string', multiple: true }, hash: { type: 'string', multiple: true }, ...JSON_OPTION },
  async run(args, ctx) {
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    let rules;
    try {
      rules = appliance.ingestRules.set(workspaceId, { drop: listOption(args, 'drop'), hash: listOption(args, 'hash') });
    } catch (e) {
      if (e instanceof Error && e.name === 'ControlError') throw new UsageError(e.message);
      throw e;
    }
    appliance.closeStore(workspaceId); // ingestion caches series with their rewritten labels: start afresh
    appliance.activity.append({ action: 'workspace.ingest_rules', outcome: 'ok', actor: 'cli', workspaceId, detail: `${rules.drop.length} dropped, ${rules.hash.length} hashed label(s)` });
    reply(args, ctx, { workspaceId, ...rules }, `Ingest rules of ${workspaceId}: drop [${rules.drop.join(', ')}], hash [${rules.hash.join(', ')}]. They apply to samples received from now on.`);
    return 0;
  },
};

export const rulesShow: Command = {
  path: ['rules', 'show'],
  summary: 'Show a workspace\'s ingest rules.',
  usage: '--workspace ID [--json]',
  options: { workspace: { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    const rules = appliance.ingestRules.get(workspaceId);
    reply(args, ctx, { workspaceId, ...rules }, `drop: ${rules.drop.join(', ') || '(none)'}\nhash: ${rules.hash.join(', ') || '(none)'}`);
    return 0;
  },
};

export const scanCommands: Command[] = [scan, rulesSet, rulesShow];
