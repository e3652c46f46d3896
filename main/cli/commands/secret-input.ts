// Reading a secret (password, passphrase) without it ever being a command-line argument: from a
// file the user made readable only to themselves, or typed on the terminal without echo.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { UsageError } from '../command';

/** Drops one trailing newline: the one `echo` and editors add is not part of the secret. */
export function trimFinalNewline(s: string): string {
  return s.replace(/\r?\n$/, '');
}

export function readSecretFile(path: string): string {
  return trimFinalNewline(readFileSync(path, 'utf8'));
}

/** Asks on the terminal (stdin must be a TTY), echoing nothing while the secret is typed. */
export async function promptHidden(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s) => {
    if (s.startsWith(question)) process.stderr.write(question);
  };
  // Ctrl-C at the prompt stops the command (readline would otherwise only pause, leaving an unsettled await).
  rl.on('SIGINT', () => {
    process.stderr.write('\n');
    process.exit(130);
  });
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    process.stderr.write('\n');
    rl.close();
  }
}

/** Asks twice (a typo in an unechoed secret would lock the user out); `mismatch` is the error. */
export async function promptHiddenTwice(question: string, repeat: string, mismatch: string): Promise<string> {
  const first = await promptHidden(question);
  if ((await promptHidden(repeat)) !== first) throw new UsageError(mismatch);
  return first;
}
