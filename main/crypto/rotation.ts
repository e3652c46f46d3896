// Opening the master key and rotating it, crash-safe at every step.
//
// The control database records the key-check value of the master key every data key is wrapped
// with. Rotation: (1) park the new key in the keychain's pending slot, (2) re-wrap every data key
// and record the new check in ONE SQLite transaction, (3) promote the new key to the current slot,
// (4) drop the pending slot. Whatever step a crash interrupts, the recorded check says which of
// the two keychain slots holds the key that opens the data, and unlockMasterKey finishes the job.
import { keyCheck, masterKey, newKey, type MasterKey } from './master-key';
import { KeyStoreError, type MasterKeyProvider } from './types';

/** Where the control database keeps wrapped data keys; implemented by main/control. */
export interface WrappedKeyStore {
  /** Check value of the master key the data keys are wrapped with; null on a new data directory. */
  keyCheck(): string | null;
  setKeyCheck(check: string): void;
  /** In one transaction: replaces every wrapped data key with `rewrap(it)` and records `newCheck`. */
  rewrapAll(rewrap: (wrapped: Buffer, workspaceId: string, generation: number) => Buffer, newCheck: string): void;
}

/** A slot rotation can park a key in and clear again (a keychain entry, a sealed file). */
export interface RemovableSlot extends MasterKeyProvider {
  /** Deletes the entry; no-op when it is absent. */
  remove(): void;
}

export interface MasterKeySlots {
  readonly current: MasterKeyProvider;
  /** Where rotation parks the next key; null for a key file (rotation then needs a new file). */
  readonly pending: RemovableSlot | null;
  /** The error to raise when the current slot is empty although the store has data. */
  missing(): KeyStoreError;
}

/** Loads the master key (creating it on a new data directory) and completes an interrupted rotation. */
export function unlockMasterKey(slots: MasterKeySlots, store: WrappedKeyStore): MasterKey {
  const recorded = store.keyCheck();
  const current = slots.current.load();
  if (recorded === null) {
    let key = current;
    if (!key) {
      key = newKey();
      slots.current.store(key);
    }
    store.setKeyCheck(keyCheck(key));
    return masterKey(key);
  }
  if (current && keyCheck(current) === recorded) {
    // A rotation that crashed before its transaction committed left a key nobody uses.
    if (slots.pending?.load()) slots.pending.remove();
    return masterKey(current);
  }
  const pending = slots.pending?.load() ?? null;
  if (pending && keyCheck(pending) === recorded) {
    // The re-wrap committed but the promotion did not happen: finish it.
    slots.current.store(pending);
    slots.pending!.remove();
    return masterKey(pending);
  }
  if (!current) throw slots.missing();
  throw new KeyStoreError(
    'wrong_key',
    `The master key from ${slots.current.location} is not the key this data directory was encrypted with.`,
    slots.current.kind === 'file'
      ? 'pass the key file this data directory was created with (or last rotated to)'
      : slots.current.kind === 'passphrase'
        ? 'restore the sealed key file from a backup of this data directory; Ampule will not replace it'
        : 'restore the keychain entry from a backup; Ampule will not replace it',
  );
}

export type RotationStep = 'pending-stored' | 'rewrapped' | 'promoted' | 'done';

/**
 * Re-wraps every data key under a new master key. `newKeyBytes` is required when the key comes
 * from a file (the operator supplies the next file); with the keychain a random key is made.
 * `onStep` observes progress (tests use it to crash the process between steps).
 */
export function rotateMasterKey(
  slots: MasterKeySlots,
  store: WrappedKeyStore,
  old: MasterKey,
  opts: { newKeyBytes?: Buffer; onStep?: (step: RotationStep) => void; onRewrap?: (count: number) => void } = {},
): MasterKey {
  const step = opts.onStep ?? (() => {});
  if (!slots.pending && !opts.newKeyBytes) {
    throw new KeyStoreError('file_invalid', `A master key given as a file (${slots.current.location}) cannot be rotated in place.`, 'run `ampule key rotate --new-master-key-file NEW` and then start Ampule with --master-key-file NEW');
  }
  const key = opts.newKeyBytes ?? newKey();
  const next = masterKey(key);
  if (next.check === old.check) throw new KeyStoreError('wrong_key', 'The new master key is the same as the current one.', 'give a different key');
  if (slots.pending) {
    slots.pending.store(key);
    step('pending-stored');
  }
  let count = 0;
  store.rewrapAll((wrapped, ws, gen) => {
    const out = next.wrapDataKey(old.unwrapDataKey(wrapped, ws, gen), ws, gen);
    opts.onRewrap?.(++count);
    return out;
  }, next.check);
  step('rewrapped');
  if (slots.pending) {
    slots.current.store(key);
    step('promoted');
    slots.pending.remove();
  }
  step('done');
  return next;
}
