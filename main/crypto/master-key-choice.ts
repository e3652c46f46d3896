// Which master-key protection a headless start uses, decided before the data directory is opened:
//   --master-key-file F                    → that key file (the operator's own secret)
//   a sealed key in the data directory     → the passphrase that opens it
//   a passphrase given (file, credential)  → passphrase-sealed (made on first start)
//   otherwise                              → the OS keychain; when there is none and the data
//     directory is new, the choices are explained and, on a terminal, a passphrase is asked for.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { keychainProblem } from './keychain';
import { sealedKeyPath } from './sealed-key';
import { KeyStoreError } from './types';

/** What openAppliance needs to pick the provider: nothing (keychain), a key file, or a passphrase. */
export interface MasterKeyOptions {
  readonly masterKeyFile?: string;
  readonly masterKeyPassphrase?: string;
}

export interface ChoiceInput {
  readonly dataDir: string;
  readonly masterKeyFile?: string;
  /** `ampule serve --passphrase-file F`. */
  readonly passphraseFile?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly keychainService: string;
  /** Asks on the terminal without echo; null when stdin is not a terminal. */
  readonly ask: ((question: string) => Promise<string>) | null;
  /** Prints an explanation line (stderr). */
  readonly say: (line: string) => void;
}

export const MIN_PASSPHRASE = 12;
/** The systemd credential name (LoadCredential=ampule-passphrase:/path) read from $CREDENTIALS_DIRECTORY. */
export const PASSPHRASE_CREDENTIAL = 'ampule-passphrase';

/** Where a passphrase was given without asking, in order: --passphrase-file, AMPULE_PASSPHRASE_FILE, systemd credential. */
export function givenPassphraseFile(flag: string | undefined, env: ChoiceInput['env']): { path: string; credential: boolean } | null {
  if (flag) return { path: flag, credential: false };
  if (env.AMPULE_PASSPHRASE_FILE) return { path: env.AMPULE_PASSPHRASE_FILE, credential: false };
  const cred = env.CREDENTIALS_DIRECTORY ? join(env.CREDENTIALS_DIRECTORY, PASSPHRASE_CREDENTIAL) : null;
  return cred && existsSync(cred) ? { path: cred, credential: true } : null;
}

/** Reads a passphrase file: one trailing newline dropped; refused when others may read it (systemd credentials are private by construction). */
export function readPassphraseFile(file: { path: string; credential: boolean }): string {
  let text: string;
  try {
    if (!file.credential && process.platform !== 'win32' && (statSync(file.path).mode & 0o077) !== 0) {
      throw new KeyStoreError('file_permissions', `The passphrase file ${file.path} is readable or writable by others; it must be 0600.`, `run \`chmod 600 ${file.path}\``);
    }
    text = readFileSync(file.path, 'utf8');
  } catch (e) {
    if (e instanceof KeyStoreError) throw e;
    throw new KeyStoreError('missing', `The passphrase file ${file.path} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}).`, 'check the path and its permissions');
  }
  const passphrase = text.replace(/\r?\n$/, '');
  if (!passphrase) throw new KeyStoreError('wrong_passphrase', `The passphrase file ${file.path} is empty.`, 'write the passphrase into it');
  return passphrase;
}

/** The few lines `npm start` / `ampule serve` print when there is no OS keychain. */
export function headlessChoices(dataDir: string): string[] {
  return [
    'The master key that encrypts every workspace can be kept in one of three ways:',
    '  1. the OS keychain: a desktop session, or on a server gnome-keyring in a D-Bus session (apt-get install gnome-keyring dbus; README "Headless")',
    `  2. sealed by a passphrase in ${sealedKeyPath(dataDir)}: typed on this terminal, or from --passphrase-file FILE,`,
    `     AMPULE_PASSPHRASE_FILE=FILE or the systemd credential ${PASSPHRASE_CREDENTIAL} (LoadCredential=)`,
    '  3. a key file you manage: --master-key-file FILE (32 bytes, 0600; the checklist warns about it)',
  ];
}

export async function chooseMasterKey(input: ChoiceInput): Promise<MasterKeyOptions> {
  if (input.masterKeyFile) return { masterKeyFile: input.masterKeyFile };
  const sealed = sealedKeyPath(input.dataDir);
  const given = givenPassphraseFile(input.passphraseFile, input.env);
  if (given) return { masterKeyPassphrase: readPassphraseFile(given) };
  if (existsSync(sealed)) {
    if (!input.ask) {
      throw new KeyStoreError(
        'missing',
        `The master key of ${input.dataDir} is sealed by a passphrase, and none was given (stdin is not a terminal to ask on).`,
        `give --passphrase-file FILE (ampule serve), AMPULE_PASSPHRASE_FILE=FILE, or the systemd credential ${PASSPHRASE_CREDENTIAL}`,
      );
    }
    return { masterKeyPassphrase: await input.ask(`Passphrase for the master key of ${input.dataDir}: `) };
  }
  const problem = keychainProblem(input.keychainService);
  if (!problem || !['no_session_bus', 'no_secret_service'].includes(problem.kind)) return {};
  // No keychain at all. A data directory that already has data keeps its protection: only say so.
  const isNew = !existsSync(join(input.dataDir, 'control.db'));
  input.say(`No OS keychain here (${problem.kind === 'no_session_bus' ? 'no D-Bus session bus' : 'no Secret Service on the session bus'}).`);
  for (const line of headlessChoices(input.dataDir)) input.say(line);
  if (!isNew) throw problem; // its data is keyed to a keychain (or a key file): only that opens it
  if (!input.ask) {
    throw new KeyStoreError(problem.kind, 'No OS keychain, and no passphrase or key file was given (stdin is not a terminal to ask for a passphrase on).', 'pick one of the three ways above');
  }
  input.say(`Choose a passphrase (at least ${MIN_PASSPHRASE} characters) to seal a new master key (option 2), or press Ctrl-C to stop.`);
  const passphrase = await input.ask('New passphrase: ');
  if (passphrase.length < MIN_PASSPHRASE) throw new KeyStoreError('wrong_passphrase', `The passphrase must be at least ${MIN_PASSPHRASE} characters.`, 'start again and choose a longer one');
  if ((await input.ask('Repeat passphrase: ')) !== passphrase) throw new KeyStoreError('wrong_passphrase', 'The two passphrases differ; nothing was created.', 'start again');
  return { masterKeyPassphrase: passphrase };
}
