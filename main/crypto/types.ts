// Keys and ciphers. The master key wraps data keys; a data key's Cipher encrypts one workspace's data.

/** AES-256-GCM under one key. `aad` binds a ciphertext to where it belongs (workspace, table, row). */
export interface Cipher {
  seal(plaintext: Uint8Array, aad: string): Buffer;
  /** Throws DecryptError when the ciphertext was altered or `aad` is not the one it was sealed with. */
  open(sealed: Uint8Array, aad: string): Buffer;
}

export class DecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptError';
  }
}

/** Where the 256-bit master key lives. Never writes it to disk in clear (the key-file provider only reads). */
export interface MasterKeyProvider {
  /** Shown in the checklist: the OS keychain, a passphrase-sealed file in the data directory, or a key file. */
  readonly kind: 'keychain' | 'passphrase' | 'file';
  /** Human description of the location, e.g. the keychain service/account or the file path. */
  readonly location: string;
  /** Returns the key, or null when no key exists yet. Throws KeyStoreError when it cannot tell. */
  load(): Buffer | null;
  /** Stores a new key (first start, rotation). */
  store(key: Buffer): void;
}

export type KeyStoreErrorKind =
  | 'no_session_bus'
  | 'no_secret_service'
  | 'locked'
  | 'missing'
  | 'file_permissions'
  | 'file_invalid'
  | 'wrong_key'
  | 'wrong_passphrase'
  | 'unknown';

/** A key-store failure, with advice on how to fix it. */
export class KeyStoreError extends Error {
  constructor(
    readonly kind: KeyStoreErrorKind,
    message: string,
    readonly advice: string,
  ) {
    super(`${message}\n  How to fix: ${advice}`);
    this.name = 'KeyStoreError';
  }
}
