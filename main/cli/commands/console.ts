// `ampule console …`: the web console's admin credentials. The password comes from
// --password-file, AMPULE_CONSOLE_PASSWORD, piped stdin or a terminal prompt — never an argument.
import { mkdirSync } from 'node:fs';
import { UsageError, type CliContext, type Command, type ParsedArgs } from '../command';
import { base32Encode } from '../../console/totp';
import { consoleStatus, credentialsPath, disableMfa, enableMfa, PASSWORD_MIN, setPassword } from '../../console/credentials';
import { JSON_OPTION, printJson, reply, wantsJson } from './output';
import { checkDataDir } from '../data-dir-check';
import { DEFAULT_PORT, runningServerUrl } from './status';
import { promptHiddenTwice, readSecretFile, trimFinalNewline } from './secret-input';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function readPassword(args: ParsedArgs, ctx: CliContext): Promise<string> {
  const file = args.values['password-file'];
  if (typeof file === 'string') return readSecretFile(ctx.path(file));
  if (ctx.env.AMPULE_CONSOLE_PASSWORD) return ctx.env.AMPULE_CONSOLE_PASSWORD;
  if (!process.stdin.isTTY) return trimFinalNewline(await readStdin());
  return promptHiddenTwice('New console password: ', 'Repeat the password: ', 'the two passwords differ');
}

const setPasswordCommand: Command = {
  path: ['console', 'set-password'],
  summary: `Set the web console's admin password (at least ${PASSWORD_MIN} characters; stored as a scrypt hash).`,
  usage: '[--password-file FILE]   (or AMPULE_CONSOLE_PASSWORD, or piped on stdin, or asked on the terminal)',
  options: { 'password-file': { type: 'string' } },
  // Reads the password from the caller's terminal, stdin or environment, and needs no key.
  forwardToServer: false,
  async run(args, ctx) {
    const dataDir = ctx.dataDir;
    checkDataDir(dataDir, 'new'); // the password may be set before the first start
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const password = await readPassword(args, ctx);
    if (password.length < PASSWORD_MIN) throw new UsageError(`the password must be at least ${PASSWORD_MIN} characters`);
    await setPassword(dataDir, password);
    const running = await runningServerUrl(dataDir);
    ctx.out(
      `Console password set (${credentialsPath(dataDir)}). ` +
        (running ? `Sign in at ${running}/console/ (the running ampule serve).` : `Sign in at https://localhost:${DEFAULT_PORT}/console/ once \`ampule serve\` runs (with --port P: https://localhost:P/console/).`),
    );
    return 0;
  },
};

const mfaEnable: Command = {
  path: ['console', 'mfa', 'enable'],
  summary: 'Require a TOTP code (authenticator app) at console sign-in; shows the secret once.',
  usage: '[--json]',
  options: { ...JSON_OPTION },
  async run(args, ctx) {
    const appliance = await ctx.appliance({ create: true }); // may come before the first start, as set-password
    const { secret, uri } = enableMfa(appliance.dataDir, appliance.tlsKeys);
    if (wantsJson(args)) printJson(ctx, { secret: base32Encode(secret), otpauthUri: uri });
    else {
      ctx.out('TOTP second factor enabled. Add this to your authenticator app now; it is not shown again:');
      ctx.out(`  secret: ${base32Encode(secret)}`);
      ctx.out(`  uri:    ${uri}`);
    }
    return 0;
  },
};

const mfaDisable: Command = {
  path: ['console', 'mfa', 'disable'],
  summary: 'Stop requiring a TOTP code at console sign-in.',
  usage: '',
  async run(args, ctx) {
    checkDataDir(ctx.dataDir, 'folder');
    disableMfa(ctx.dataDir);
    ctx.out('TOTP second factor disabled: the console asks for the password only.');
    return 0;
  },
};

const status: Command = {
  path: ['console', 'status'],
  summary: 'Show whether a console password and the TOTP second factor are set.',
  usage: '[--json]',
  options: { ...JSON_OPTION },
  async run(args, ctx) {
    checkDataDir(ctx.dataDir, 'folder');
    const s = consoleStatus(ctx.dataDir);
    reply(args, ctx, s, `password: ${s.passwordSet ? 'set' : 'not set'}; TOTP: ${s.mfaEnabled ? 'on' : 'off'}`);
    return 0;
  },
};

export const consoleCommands: Command[] = [setPasswordCommand, mfaEnable, mfaDisable, status];
