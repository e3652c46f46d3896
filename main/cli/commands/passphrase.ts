// Where a backup passphrase comes from: --passphrase-file F, AMPULE_BACKUP_PASSPHRASE, or a prompt
// on the terminal (never a command-line argument, which other users can see in `ps`).
import { UsageError, type CliContext, type ParsedArgs } from '../command';
import { promptHidden, promptHiddenTwice, readSecretFile } from './secret-input';

export const PASSPHRASE_OPTIONS = { 'passphrase-file': { type: 'string' } } as const;
const MIN_LENGTH = 12;

/** `confirm`: ask twice and enforce a minimum length (when making a backup). */
export async function readPassphrase(args: ParsedArgs, ctx: CliContext, confirm: boolean): Promise<string> {
  const file = args.values['passphrase-file'];
  let p: string;
  if (typeof file === 'string') p = readSecretFile(ctx.path(file));
  else if (ctx.env.AMPULE_BACKUP_PASSPHRASE) p = ctx.env.AMPULE_BACKUP_PASSPHRASE;
  else {
    if (ctx.inServer) throw new UsageError('`ampule serve` is running and does this for you, but it cannot read your environment or ask you: give --passphrase-file FILE (readable only by you)');
    if (!process.stdin.isTTY) throw new UsageError('no passphrase: give --passphrase-file FILE or set AMPULE_BACKUP_PASSPHRASE (stdin is not a terminal to ask on)');
    p = confirm
      ? await promptHiddenTwice('Backup passphrase: ', 'Repeat passphrase: ', 'the two passphrases differ')
      : await promptHidden('Backup passphrase: ');
  }
  if (!p) throw new UsageError('the backup passphrase is empty');
  if (confirm && p.length < MIN_LENGTH) throw new UsageError(`the backup passphrase must be at least ${MIN_LENGTH} characters`);
  return p;
}
