// The CLI's command model. Each command declares its options (node:util parseArgs) and runs against
// a context, so the same handler serves a local invocation and one forwarded over the admin socket
// to a running `ampule serve` (which then supplies its already-open appliance, and the caller's
// working directory for the paths on the command line).
import type { ParseArgsConfig } from 'node:util';
import type { CommandRunner } from '../admin/server';
import type { Appliance } from '../core/appliance';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

export interface ApplianceRequest {
  /** Make the data directory when there is none (workspace create, restore, serve, console mfa enable). Reads never do. */
  readonly create?: boolean;
}

/** What a running server (`ampule serve` or the desktop app's core) tells the commands it runs about itself. */
export interface ServerInfo {
  /** e.g. https://localhost:9443, or null while there is no HTTPS listener (not up yet, or the desktop runs without one). */
  url(): string | null;
}

/** Bytes out with backpressure: write() resolves once the sink can take more. */
export interface DataOut {
  write(chunk: string): Promise<void>;
}

/** The caller's stderr when it is a terminal: a progress bar may redraw its one line there. */
export interface Terminal {
  readonly columns: number;
  /** Replaces the current line with `text` (no newline); '' clears it. */
  redraw(text: string): void;
}

export interface CliContext {
  out(line: string): void;
  err(line: string): void;
  /** The caller's standard output as a byte stream (a command's data, e.g. `ampule export`); absent when not reachable. */
  readonly stdout?: DataOut;
  /** Set when the caller's stderr is a terminal. */
  readonly terminal?: Terminal;
  /** A streamed command run by the server: aborted when its caller goes away. */
  readonly signal?: AbortSignal;
  /** Opens (once) or returns the appliance for the --data-dir / --master-key-file given. */
  appliance(request?: ApplianceRequest): Promise<Appliance>;
  /** True when the command runs inside `ampule serve` (forwarded over the admin socket). */
  readonly inServer: boolean;
  /** Set when the command runs inside a server. */
  readonly server?: ServerInfo;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The data directory, absolute: --data-dir, else AMPULE_DATA_DIR, else the platform default (the server's own when inServer). */
  readonly dataDir: string;
  /** A path from the command line, made absolute against the caller's working directory. */
  path(p: string): string;
  /** Runs a command line as this CLI does: `serve` runs the commands forwarded to it with it. */
  readonly runCommand: CommandRunner;
}

export interface Command {
  /** Words that select it, e.g. ['workspace', 'create']. */
  readonly path: readonly string[];
  readonly summary: string;
  /** Shown after `ampule <path>` in help, e.g. '--alias A [--tag k=v]… [--json]'. */
  readonly usage: string;
  readonly options?: OptionSpec;
  /**
   * While `ampule serve` runs on the data directory, every command is run by it (it holds the keys
   * and the open stores), reads and changes alike. false only for a command that must run in the
   * caller's process: the server itself, or one that never opens the keys and reads the caller's
   * terminal or files (promqltest, console set-password). Default true.
   */
  readonly forwardToServer?: boolean;
  /** Its output is streamed while it runs when the server runs it (stdout data, progress), not sent at the end. */
  readonly streams?: boolean;
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

/** A problem the user can put right, said in full: printed as is, exit status 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}
