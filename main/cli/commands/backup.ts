// `ampule backup --workspace ID --out FILE`: an encrypted, passphrase-protected copy of a workspace.
import { requireString, type Command } from '../command';
import { backupWorkspace } from '../../backup/workspace-backup';
import { PASSPHRASE_OPTIONS, readPassphrase } from './passphrase';
import { JSON_OPTION, progressPrinter, reply } from './output';

export const backup: Command = {
  path: ['backup'],
  summary: 'Write an encrypted backup of a workspace (passphrase from --passphrase-file, AMPULE_BACKUP_PASSPHRASE, or a prompt).',
  usage: '--workspace ID --out FILE [--passphrase-file F] [--json]',
  options: { workspace: { type: 'string' }, out: { type: 'string' }, ...PASSPHRASE_OPTIONS, ...JSON_OPTION },
  async run(args, ctx) {
    const workspaceId = requireString(args, 'workspace');
    const out = ctx.path(requireString(args, 'out'));
    const passphrase = await readPassphrase(args, ctx, true);
    const appliance = await ctx.appliance();
    const progress = progressPrinter(ctx, 'backup');
    const started = Date.now();
    const r = await backupWorkspace(appliance, workspaceId, out, passphrase, {
      onProgress: (p) => progress.update(`${p.series} series, ${p.samples} samples, ${(p.bytes / 1e6).toFixed(1)} MB written`),
    });
    const secs = (Date.now() - started) / 1000;
    progress.done(`${r.series} series, ${r.samples} samples, ${(r.bytes / 1e6).toFixed(1)} MB in ${secs.toFixed(1)} s`);
    reply(args, ctx, { ...r, file: out }, `Backup of ${workspaceId} written to ${out}. Keep the passphrase safe: without it the backup cannot be read.`);
    return 0;
  },
};
