// The data directory a command runs against (the same rule as the CLI dispatcher's).
import type { CliContext, ParsedArgs } from '../command';
import { defaultDataDir } from '../../core/data-dir';

export function dataDirOf(args: ParsedArgs, ctx: CliContext): string {
  const d = args.values['data-dir'];
  return typeof d === 'string' ? d : (ctx.env.AMPULE_DATA_DIR ?? defaultDataDir(ctx.env));
}
