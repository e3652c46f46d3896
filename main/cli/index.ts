// `ampule` command line: dispatches to the commands in ./commands. Exported `main` is what
// bin/ampule.mjs calls; it returns the exit status instead of exiting, so tests can call it too.
//
// While `ampule serve` runs on the data directory, a command is run by the server (over the admin
// socket), which holds the keys and the open stores; otherwise here. The user sees no difference.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { CliError, UsageError, type CliContext, type Command, type DataOut, type OptionSpec, type ServerInfo, type Terminal } from './command';
import { commands } from './commands';
import { KeyStoreError } from '../crypto/types';
import { ControlError } from '../control/types';
import { defaultDataDir } from '../core/data-dir';
import type { Appliance } from '../core/appliance';
import { adminChannelAnswers, forwardStreaming, forwardToRunningServer } from '../admin/client';
import { checkDataDir } from './data-dir-check';
import { explainSystemError } from './system-errors';

const GLOBAL_OPTIONS: OptionSpec = {
  'data-dir': { type: 'string' },
  'master-key-file': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};
const GLOBAL_USAGE = '(every command also takes --data-dir DIR and --master-key-file FILE)';

export interface MainIo {
  out?: (line: string) => void;
  err?: (line: string) => void;
  env?: Record<string, string | undefined>;
  /** Set by the server when it runs a forwarded command with its own open appliance. */
  appliance?: Appliance;
  /** The caller's working directory, for a forwarded command (relative paths are the caller's). */
  cwd?: string;
  /** Set by the server: what the commands it runs may ask about it. */
  server?: ServerInfo;
  /** Standard output as bytes (default: this process's, unless `out` is given). */
  stdout?: DataOut;
  /** The caller's stderr as a terminal (default: this process's, when it is one and `err` is not given). */
  terminal?: Terminal;
  /** Set by the server for a streamed command: its caller went away. */
  signal?: AbortSignal;
}

/** process.stdout with backpressure; a closed pipe (`| head`) fails the next write with EPIPE. */
function processStdout(): DataOut {
  let failed: Error | null = null;
  process.stdout.on('error', (e) => (failed = e));
  return {
    write: (chunk) =>
      new Promise<void>((resolve, reject) => {
        if (failed) return reject(failed);
        const onError = (e: Error): void => {
          failed = e;
          reject(e);
        };
        process.stdout.once('error', onError);
        if (process.stdout.write(chunk)) {
          process.stdout.off('error', onError);
          resolve();
        } else
          process.stdout.once('drain', () => {
            process.stdout.off('error', onError);
            resolve();
          });
      }),
  };
}

function processTerminal(): Terminal | undefined {
  if (!process.stderr.isTTY) return undefined;
  return { columns: process.stderr.columns || 80, redraw: (text) => process.stderr.write(`\r\x1b[2K${text}`) };
}

function findCommand(argv: readonly string[]): Command | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    if (c.path.every((w, i) => argv[i] === w) && (!best || c.path.length > best.path.length)) best = c;
  }
  return best;
}

function dataDirOf(values: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): string {
  const d = values['data-dir'];
  return typeof d === 'string' ? d : (env.AMPULE_DATA_DIR ?? defaultDataDir(env));
}

function help(out: (l: string) => void, env: Readonly<Record<string, string | undefined>>): void {
  out('Usage: ampule <command> [options]');
  out('');
  out('Every command takes:');
  out(`  --data-dir DIR          where the data lives: default $AMPULE_DATA_DIR${env.AMPULE_DATA_DIR ? ` (now ${env.AMPULE_DATA_DIR})` : ''}, else ${defaultDataDir(env)}`);
  out('  --master-key-file FILE  the master key from a file (mode 0600, 32 random bytes) instead of the OS keychain,');
  out('                          for a headless machine without one; `ampule serve --help` lists its other key options');
  out('  AMPULE_PASSPHRASE_FILE  the passphrase of a passphrase-sealed master key (also $CREDENTIALS_DIRECTORY/ampule-passphrase)');
  out('  -h, --help              the command\'s usage');
  out('While `ampule serve` runs on the data directory, every command is run by it (over a socket only you can open).');
  out('');
  out('Commands:');
  for (const c of commands) out(`  ampule ${c.path.join(' ')} ${c.usage}`.trimEnd() + `\n      ${c.summary}`);
}

/** Hook set by the admin-channel module: forwards a command to a running server, or returns null. */
export type Forwarder = (argv: readonly string[], dataDir: string) => Promise<{ status: number; out: string[]; err: string[] } | null>;
let forwarder: Forwarder | null = forwardToRunningServer;
/** A command that streams (`ampule export`) is forwarded frame by frame; off with the forwarder. */
const streamForwarder = forwardStreaming;
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
      help(out, env);
      return argv.length === 0 ? 2 : 0;
    }
    err(`ampule: unknown command '${argv.join(' ')}'. Run 'ampule help' for the list.`);
    return 2;
  }
  const rest = argv.slice(cmd.path.length);
  let opened: Appliance | undefined;
  let dataDir = env.AMPULE_DATA_DIR ?? defaultDataDir(env);
  try {
    const parsed = parseArgs({ args: [...rest], options: { ...GLOBAL_OPTIONS, ...cmd.options }, allowPositionals: true, strict: true });
    if (parsed.values.help) {
      out(`Usage: ampule ${cmd.path.join(' ')} ${cmd.usage}\n  ${cmd.summary}\n  ${GLOBAL_USAGE}`);
      return 0;
    }
    dataDir = io.appliance ? io.appliance.dataDir : dataDirOf(parsed.values, env);
    const stdout = io.stdout ?? (io.out || io.appliance ? undefined : processStdout());
    const terminal = io.terminal ?? (io.err || io.appliance ? undefined : processTerminal());
    if (cmd.streams && !io.appliance && forwarder) {
      const status = await streamForwarder(argv, dataDir, { out, err, ...(stdout ? { stdout } : {}), ...(terminal ? { terminal } : {}) }, io.cwd);
      if (status !== null) return status;
    } else if (cmd.forwardToServer !== false && !io.appliance && forwarder) {
      const forwarded = await forwarder(argv, dataDir);
      if (forwarded) {
        forwarded.out.forEach(out);
        forwarded.err.forEach(err);
        return forwarded.status;
      }
    }
    const cwd = io.cwd ?? process.cwd();
    const ctx: CliContext = {
      out,
      err,
      ...(stdout ? { stdout } : {}),
      ...(terminal ? { terminal } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
      env,
      dataDir: io.appliance ? io.appliance.dataDir : resolve(dataDir),
      inServer: !!io.appliance,
      ...(io.server ? { server: io.server } : {}),
      path: (p) => resolve(cwd, p),
      runCommand: main,
      async appliance(request = {}) {
        if (io.appliance) return io.appliance;
        if (!opened) {
          checkDataDir(dataDir, request.create === true ? 'new' : 'store');
          // Two processes must never hold the same stores (a command that stays here: serve).
          if (await adminChannelAnswers(dataDir)) throw new CliError(`Ampule already runs on ${resolve(dataDir)} (ampule serve or the desktop app) and holds its stores; stop it first (\`ampule status\` shows it)`);
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
    return reportError(e, cmd, dataDir, err);
  } finally {
    opened?.close();
  }
}

type ParsedValues = Record<string, string | boolean | string[] | undefined>;

/** parseArgs's own texts are long and name its internals; the user needs the option and the usage. */
function parseArgsMessage(e: Error & { code: string }): string {
  const option = /'(-{1,2}[^' ]+)/.exec(e.message)?.[1] ?? '';
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(e.message) ? `${option} needs a value` : /does not take an argument/.test(e.message) ? `${option} takes no value` : e.message;
    default:
      return e.message;
  }
}

/** A workspace id the control plane did not find: say so, and where the ids are. */
function notFoundMessage(e: ControlError): string {
  const id = /^workspace (\S+) does not exist/.exec(e.message)?.[1];
  return e.field === 'workspaceId' && id ? `no workspace ${id} (ampule workspace list shows them)` : e.message;
}

function reportError(e: unknown, cmd: Command, dataDir: string, err: (l: string) => void): number {
  const name = `ampule ${cmd.path.join(' ')}`;
  const isParseArgs = e instanceof Error && 'code' in e && String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS');
  if (e instanceof UsageError || isParseArgs) {
    err(`${name}: ${isParseArgs ? parseArgsMessage(e as Error & { code: string }) : (e as Error).message}`);
    err(`Usage: ${name} ${cmd.usage}`.trimEnd() + `   ${GLOBAL_USAGE}`);
    return 2;
  }
  if (e instanceof ControlError) {
    err(`${name}: ${e.kind === 'not_found' ? notFoundMessage(e) : e.message}`);
    return 1;
  }
  if (e instanceof KeyStoreError || e instanceof CliError) {
    err(`${name}: ${e.message}`);
    return 1;
  }
  const explained = explainSystemError(e, resolve(dataDir));
  err(`${name}: ${explained ?? (e instanceof Error ? e.message : String(e))}`);
  return 1;
}
