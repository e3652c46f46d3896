// `ampule` command line: dispatches to the commands in ./commands. Exported `main` is what
// bin/ampule.mjs calls; it returns the exit status instead of exiting, so tests can call it too.
import { parseArgs } from 'node:util';
import { UsageError, type CliContext, type Command, type OptionSpec } from './command';
import { commands } from './commands';
import { KeyStoreError } from '../crypto/types';
import { ControlError } from '../control/types';
import { defaultDataDir } from '../core/data-dir';
import type { Appliance } from '../core/appliance';
import { forwardToRunningServer } from '../admin/client';

const GLOBAL_OPTIONS: OptionSpec = {
  'data-dir': { type: 'string' },
  'master-key-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export interface MainIo {
  out?: (line: string) => void;
  err?: (line: string) => void;
  env?: Record<string, string | undefined>;
  /** Set by the server when it runs a forwarded command with its own open appliance. */
  appliance?: Appliance;
}

function findCommand(argv: readonly string[]): Command | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    if (c.path.every((w, i) => argv[i] === w) && (!best || c.path.length > best.path.length)) best = c;
  }
  return best;
}

function help(out: (l: string) => void): void {
  out('Usage: ampule <command> [options]   (every command takes --data-dir DIR, --master-key-file FILE; a passphrase-sealed key reads AMPULE_PASSPHRASE_FILE)');
  out('');
  for (const c of commands) out(`  ampule ${c.path.join(' ')} ${c.usage}`.trimEnd() + `\n      ${c.summary}`);
}

/** Hook set by the admin-channel module: forwards a command to a running server, or returns null. */
export type Forwarder = (argv: readonly string[], dataDir: string) => Promise<{ status: number; out: string[]; err: string[] } | null>;
let forwarder: Forwarder | null = forwardToRunningServer;
export function setForwarder(f: Forwarder | null): void {
  forwarder = f;
}

export async function main(argv: readonly string[], io: MainIo = {}): Promise<number> {
  const out = io.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const err = io.err ?? ((l: string) => process.stderr.write(l + '\n'));
  const env = io.env ?? process.env;
  const cmd = findCommand(argv);
  if (!cmd) {
    if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
      help(out);
      return argv.length === 0 ? 2 : 0;
    }
    err(`ampule: unknown command '${argv.join(' ')}'. Run 'ampule help' for the list.`);
    return 2;
  }
  const rest = argv.slice(cmd.path.length);
  let opened: Appliance | undefined;
  try {
    const parsed = parseArgs({ args: [...rest], options: { ...GLOBAL_OPTIONS, ...cmd.options }, allowPositionals: true, strict: true });
    if (parsed.values.help) {
      out(`Usage: ampule ${cmd.path.join(' ')} ${cmd.usage}\n  ${cmd.summary}`);
      return 0;
    }
    const dataDir = (parsed.values['data-dir'] as string | undefined) ?? env.AMPULE_DATA_DIR ?? defaultDataDir(env);
    if (cmd.forwardToServer && !io.appliance && forwarder) {
      const forwarded = await forwarder(argv, dataDir);
      if (forwarded) {
        forwarded.out.forEach(out);
        forwarded.err.forEach(err);
        return forwarded.status;
      }
    }
    const ctx: CliContext = {
      out,
      err,
      env,
      inServer: !!io.appliance,
      async appliance() {
        if (io.appliance) return io.appliance;
        if (!opened) {
          const { openAppliance, DEFAULT_KEYCHAIN_SERVICE } = await import('../core/open-appliance');
          const { chooseMasterKey } = await import('../crypto/master-key-choice');
          const { promptHidden } = await import('./commands/secret-input');
          const masterKeyFile = parsed.values['master-key-file'] as string | undefined;
          // `serve --passphrase-file`: every other command that has one means a backup passphrase.
          const passphraseFile = cmd.path[0] === 'serve' ? (parsed.values['passphrase-file'] as string | undefined) : undefined;
          const keyOptions = await chooseMasterKey({
            dataDir,
            ...(masterKeyFile ? { masterKeyFile } : {}),
            ...(passphraseFile ? { passphraseFile } : {}),
            env,
            keychainService: env.AMPULE_KEYCHAIN_SERVICE ?? DEFAULT_KEYCHAIN_SERVICE,
            ask: process.stdin.isTTY ? promptHidden : null,
            say: err,
          });
          opened = await openAppliance({ dataDir, ...keyOptions });
        }
        return opened!;
      },
    };
    return await cmd.run({ values: parsed.values as ParsedValues, positionals: parsed.positionals }, ctx);
  } catch (e) {
    return reportError(e, cmd, err);
  } finally {
    opened?.close();
  }
}

type ParsedValues = Record<string, string | boolean | string[] | undefined>;

function reportError(e: unknown, cmd: Command, err: (l: string) => void): number {
  const name = `ampule ${cmd.path.join(' ')}`;
  if (e instanceof UsageError || (e instanceof Error && 'code' in e && String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'))) {
    err(`${name}: ${(e as Error).message}`);
    err(`Usage: ${name} ${cmd.usage}`);
    return 2;
  }
  if (e instanceof KeyStoreError || e instanceof ControlError) {
    err(`${name}: ${e.message}`);
    return 1;
  }
  err(`${name}: ${e instanceof Error ? e.message : String(e)}`);
  return 1;
}
