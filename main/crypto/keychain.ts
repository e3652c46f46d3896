// The master key in the OS keychain (@napi-rs/keyring). On Linux the entry is always pinned to the
// Secret Service: the library's default falls back to the kernel keyring, which forgets the key at
// reboot — and with it every workspace's data.
import { Entry, findCredentials } from '@napi-rs/keyring';
import { KEY_BYTES } from './cipher';
import { KeyStoreError } from './types';
import type { MasterKeySlots, RemovableSlot } from './rotation';

const PINNED = { linux: { store: 'secret-service' as const } };

export interface KeychainSlot extends RemovableSlot {
  readonly kind: 'keychain';
}

const HEADLESS_ADVICE =
  'run Ampule inside a desktop session, or for a headless server start it under `dbus-run-session` with an unlocked ' +
  'gnome-keyring (see the README), or seal the master key with a passphrase (--passphrase-file FILE, AMPULE_PASSPHRASE_FILE, ' +
  'the systemd credential ampule-passphrase, or typed on a terminal), or give the master key explicitly with --master-key-file PATH (a 0600 file)';

/** Turns the keyring library's failures into a KeyStoreError that says what is wrong and how to fix it. */
export function keychainError(e: unknown, location: string): KeyStoreError {
  const text = e instanceof Error ? e.message : String(e);
  if (/DBUS_SESSION_BUS_ADDRESS|Failed to connect to socket|Unable to autolaunch|Could not connect/i.test(text)) {
    return new KeyStoreError('no_session_bus', `No D-Bus session bus, so the OS keychain (${location}) cannot be reached (${text}).`, HEADLESS_ADVICE);
  }
  if (/org\.freedesktop\.secrets was not provided|ServiceUnknown|NameHasNoOwner/i.test(text)) {
    return new KeyStoreError(
      'no_secret_service',
      `No Secret Service (OS keychain) is running on the session bus, so the master key (${location}) cannot be reached (${text}).`,
      'install and start a Secret Service provider (GNOME Keyring: `apt-get install gnome-keyring`, or KeePassXC with Secret Service integration enabled), or ' +
        'give the master key explicitly with --master-key-file PATH (a 0600 file)',
    );
  }
  if (/IsLocked|locked|prompt was dismissed|no result found/i.test(text)) {
    return new KeyStoreError(
      'locked',
      `The OS keychain is locked, so the master key (${location}) cannot be read (${text}).`,
      'unlock the keyring (log in to the desktop session, open "Passwords and Keys", or run `gnome-keyring-daemon --unlock` with the password on stdin) and try again',
    );
  }
  return new KeyStoreError('unknown', `The OS keychain failed while reaching the master key (${location}): ${text}`, 'check that the keychain works (e.g. `secret-tool search service Ampule`) and try again');
}

export function keychainSlot(service: string, account: string): KeychainSlot {
  const location = `OS keychain, service "${service}", account "${account}"`;
  const entry = (): Entry => {
    try {
      return new Entry(service, account, PINNED);
    } catch (e) {
      throw keychainError(e, location);
    }
  };
  const call = <T>(f: (e: Entry) => T): T => {
    const en = entry();
    try {
      return f(en);
    } catch (e) {
      throw keychainError(e, location);
    }
  };
  return {
    kind: 'keychain',
    location,
    load() {
      const text = call((e) => e.getPassword());
      if (text === null) return null;
      const key = Buffer.from(text, 'base64');
      if (key.length !== KEY_BYTES) {
        throw new KeyStoreError('file_invalid', `The keychain entry (${location}) does not hold a ${KEY_BYTES}-byte master key.`, 'restore the entry from a backup; Ampule never overwrites it');
      }
      return key;
    },
    store(key) {
      call((e) => e.setPassword(key.toString('base64')));
    },
    remove() {
      call((e) => e.deleteCredential());
    },
  };
}

/**
 * Why an entry that should exist is absent: a locked keyring answers "no entry" to a get, but
 * refuses a search with IsLocked. Returns the error to report.
 */
export function missingKeyError(service: string, location: string): KeyStoreError {
  try {
    findCredentials(service);
  } catch (e) {
    const err = keychainError(e, location);
    if (err.kind !== 'unknown') return err;
  }
  return new KeyStoreError(
    'missing',
    `The master key for this data directory is not in the OS keychain (${location}): the keychain is locked or the entry is missing. ` +
      'Ampule will not create a new key, because the existing workspaces could not be read with it.',
    'unlock the keychain and try again; if the entry was deleted, restore it from a backup of the keyring (same service and account)',
  );
}

/** Why the keychain cannot be used here (no bus, no Secret Service, locked…), or null when it answers. */
export function keychainProblem(service: string): KeyStoreError | null {
  try {
    // A get on the pinned store (a search would ask the library's default, the kernel keyring).
    new Entry(service, 'ampule-probe', PINNED).getPassword();
    return null;
  } catch (e) {
    return keychainError(e, `OS keychain, service "${service}"`);
  }
}

/** The current and pending keychain entries of one data directory (`account` is its store id). */
export function keychainSlots(service: string, account: string): MasterKeySlots {
  const current = keychainSlot(service, account);
  return {
    current,
    pending: keychainSlot(service, `${account}.pending`),
    missing: () => missingKeyError(service, current.location),
  };
}
