// `ampule restore FILE [--as-new]`: verifies the whole backup first, then restores it into a new workspace.
import { requirePositional, type Command } from '../command';
import { BackupError } from '../../backup/frames';
import { restoreWorkspace } from '../../backup/workspace-backup';
import { PASSPHRASE_OPTIONS, readPassphrase } from './passphrase';
import { JSON_OPTION, progressPrinter, reply } from './output';

export const restore: Command = {
  path: ['restore'],
  summary: 'Restore a workspace backup (checked end to end before anything is written) into a new workspace.',
  usage: 'FILE [--as-new] [--passphrase-file F] [--json]',
  options: { 'as-new': { type: 'boolean' }, ...PASSPHRASE_OPTIONS, ...JSON_OPTION },
  async run(args, ctx) {
    const file = ctx.path(requirePositional(args, 0, 'the backup FILE'));
    const passphrase = await readPassphrase(args, ctx, false);
    const appliance = await ctx.appliance({ create: true }); // restoring onto a new machine starts its data directory
    const progress = progressPrinter(ctx, 'restore');
    try {
      const r = await restoreWorkspace(appliance, file, passphrase, {
        asNew: args.values['as-new'] === true,
        onProgress: (p) => progress.update(`${p.phase === 'verify' ? 'checking' : 'loading'}: ${p.samples} samples, ${(p.bytes / 1e6).toFixed(1)} MB read`),
      });
      progress.done(`${r.series} series, ${r.samples} samples restored`);
      for (const why of r.refused) ctx.err(`ampule restore: not restored: ${why}`);
      const rules = `${r.rules.namespaces} rule-groups namespace(s)${r.rules.alertManager ? ', the alert manager definition' : ''}`;
      reply(args, ctx, { workspaceId: r.workspaceId, originalWorkspaceId: r.originalWorkspaceId, series: r.series, samples: r.samples, ruleNamespaces: r.rules.namespaces, alertManager: r.rules.alertManager, refused: r.refused }, `Restored backup of ${r.originalWorkspaceId} as workspace ${r.workspaceId} (${r.series} series, ${r.samples} samples, ${rules}). Create tokens for it with \`ampule token create --workspace ${r.workspaceId}\`.`);
      return 0;
    } catch (e) {
      if (e instanceof BackupError) {
        ctx.err(`ampule restore: ${e.message}. Nothing was restored.`);
        return 1;
      }
      throw e;
    }
  },
};
