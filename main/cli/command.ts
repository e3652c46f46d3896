// The CLI's command model. Each command declares its options (node:util parseArgs) and runs against
// a context, so the same handler serves a local invocation and one forwarded over the admin socket
// to a running `ampule serve` (which then supplies its already-open appliance).
import type { ParseArgsConfig } from 'node:util';
import type { Appliance } from '../core/appliance';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

export interface CliContext {
  out(line: string): void;
  err(line: string): void;
  /** Opens (once) or returns the appliance for the --data-dir / --master-key-file given. */
  appliance(): Promise<Appliance>;
  /** True when the command runs inside `ampule serve` (forwarded over the admin socket). */
  readonly inServer: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface Command {
  /** Words that select it, e.g. ['workspace', 'create']. */
  readonly path: readonly string[];
  readonly summary: string;
  /** Shown after `ampule <path>` in help, e.g. '--alias A [--tag k=v]… [--json]'. */
  readonly usage: string;
  readonly options?: OptionSpec;
  /** Whether this command may be forwarded to a running server (state-changing control-plane commands). */
  readonly forwardToServer?: boolean;
  run(args: ParsedArgs, ctx: CliContext): Promise<number>;
}

/** Bad command-line input: printed with the command's usage, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function requireString(args: ParsedArgs, name: string): string {
  const v = args.values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

export function requirePositional(args: ParsedArgs, index: number, what: string): string {
  const v = args.positionals[index];
  if (!v) throw new UsageError(`missing ${what}`);
  return v;
}
