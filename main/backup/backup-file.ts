// Writing and reading a backup file: payload → frames → file (written beside the target, then
// renamed, so a failed backup leaves no half file), and file → frames → payload items.
import { createReadStream, createWriteStream, renameSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { decryptFrames, encryptFrames, type KdfParams } from './frames';
import { readPayload, type PayloadItem } from './payload';

export interface WriteOptions {
  readonly kdf?: KdfParams;
  readonly frameBytes?: number;
  /** Called as encrypted bytes are written. */
  readonly onBytes?: (bytes: number) => void;
}

/** Encrypts `payload` into `outPath` (mode 0600); returns the bytes written. */
export async function writeBackupFile(payload: AsyncIterable<Buffer>, outPath: string, passphrase: string, opts: WriteOptions = {}): Promise<number> {
  const partial = `${outPath}.partial`;
  let bytes = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const b of encryptFrames(payload, passphrase, { ...(opts.kdf ? { kdf: opts.kdf } : {}), ...(opts.frameBytes ? { frameBytes: opts.frameBytes } : {}) })) {
      bytes += b.length;
      opts.onBytes?.(bytes);
      yield b;
    }
  }
  try {
    await pipeline(Readable.from(counted()), createWriteStream(partial, { mode: 0o600, flags: 'wx' }));
    renameSync(partial, outPath);
  } catch (e) {
    rmSync(partial, { force: true });
    throw e;
  }
  return bytes;
}

/** Decrypts and parses a backup file; every item is yielded only after its frame authenticated. */
export async function* readBackupFile(inPath: string, passphrase: string, onBytes?: (bytes: number) => void): AsyncGenerator<PayloadItem> {
  const stream = createReadStream(inPath, { highWaterMark: 1 << 20 });
  let bytes = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const b of stream as AsyncIterable<Buffer>) {
      bytes += b.length;
      onBytes?.(bytes);
      yield b;
    }
  }
  try {
    yield* readPayload(decryptFrames(counted(), passphrase));
  } finally {
    stream.destroy();
  }
}
