// The backup file's encryption: a passphrase-derived key (scrypt) and AES-256-GCM over frames.
//
//   "AMPULEBK" | u32 header length | header JSON (kdf parameters, salt, key check)
//   frame*:    u32 ciphertext length | ciphertext | 16-byte tag
//
// Frame i's nonce is its index; its AAD is SHA-256(header) ‖ index ‖ final flag. So a flipped byte
// is caught at the frame that holds it, frames cannot be reordered, dropped or moved to another
// file, and a file cut short is caught at the end (no frame marked final). The key check in the
// header tells a wrong passphrase apart from a damaged file.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const MAGIC = Buffer.from('AMPULEBK', 'latin1');
const TAG = 16;
const MAX_HEADER = 4096;
export const DEFAULT_FRAME_BYTES = 1 << 20;

export interface KdfParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}
/** scrypt at 2^17 × 8: about 128 MiB and a few hundred ms per guess. */
export const DEFAULT_KDF: KdfParams = { N: 1 << 17, r: 8, p: 1 };

interface Header {
  readonly format: 'ampule-backup';
  readonly version: 1;
  readonly kdf: 'scrypt';
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: string;
  readonly frameBytes: number;
  readonly check: string;
}

/** A backup that cannot be opened; `kind` says why, the message how to proceed. */
export class BackupError extends Error {
  constructor(
    readonly kind: 'wrong_passphrase' | 'damaged' | 'truncated' | 'not_a_backup' | 'invalid',
    message: string,
  ) {
    super(message);
    this.name = 'BackupError';
  }
}

function deriveKeys(passphrase: string, salt: Buffer, kdf: KdfParams): Promise<{ enc: Buffer; check: Buffer }> {
  if (!passphrase) throw new BackupError('invalid', 'the backup passphrase is empty');
  return new Promise((resolve, reject) => {
    scrypt(passphrase.normalize('NFC'), salt, 64, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r + (16 << 20) }, (err, out) => {
      if (err) reject(err);
      else resolve({ enc: out.subarray(0, 32), check: createHmac('sha256', out.subarray(32)).update('ampule/backup/key-check/v1').digest() });
    });
  });
}

function nonce(i: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeUIntBE(i, 6, 6);
  return n;
}

function aad(headerHash: Buffer, i: number, final: boolean): Buffer {
  const a = Buffer.alloc(headerHash.length + 9);
  headerHash.copy(a);
  a.writeUIntBE(i, headerHash.length + 2, 6);
  a[a.length - 1] = final ? 1 : 0;
  return a;
}

/** Encrypts a byte stream into backup frames. */
export async function* encryptFrames(source: AsyncIterable<Uint8Array>, passphrase: string, opts: { kdf?: KdfParams; frameBytes?: number } = {}): AsyncGenerator<Buffer> {
  const kdf = opts.kdf ?? DEFAULT_KDF;
  const frameBytes = opts.frameBytes ?? DEFAULT_FRAME_BYTES;
  const salt = randomBytes(16);
  const keys = await deriveKeys(passphrase, salt, kdf);
  const header: Header = { format: 'ampule-backup', version: 1, kdf: 'scrypt', ...kdf, salt: salt.toString('base64'), frameBytes, check: keys.check.toString('base64') };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const headerHash = createHash('sha256').update(headerBytes).digest();
  const len = Buffer.alloc(4);
  len.writeUInt32BE(headerBytes.length);
  yield Buffer.concat([MAGIC, len, headerBytes]);

  let index = 0;
  const seal = (plain: Buffer, final: boolean): Buffer => {
    const c = createCipheriv('aes-256-gcm', keys.enc, nonce(index));
    c.setAAD(aad(headerHash, index, final));
    const body = Buffer.concat([c.update(plain), c.final()]);
    const out = Buffer.allocUnsafe(4 + body.length + TAG);
    out.writeUInt32BE(body.length);
    body.copy(out, 4);
    c.getAuthTag().copy(out, 4 + body.length);
    index++;
    return out;
  };
  let buf: Buffer[] = [];
  let size = 0;
  for await (const chunk of source) {
    buf.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    size += chunk.byteLength;
    while (size >= frameBytes) {
      const all = Buffer.concat(buf);
      yield seal(all.subarray(0, frameBytes), false);
      buf = [all.subarray(frameBytes)];
      size = all.length - frameBytes;
    }
  }
  yield seal(Buffer.concat(buf), true);
}

/** Reads exact byte counts from an async byte stream. */
class ByteReader {
  private chunks: Buffer[] = [];
  private size = 0;
  private done = false;
  consumed = 0;
  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  /** Exactly n bytes, or fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.size < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        this.chunks.push(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength));
        this.size += r.value.byteLength;
      }
    }
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(out.length);
    this.chunks = rest.length ? [rest] : [];
    this.size = rest.length;
    this.consumed += out.length;
    return out;
  }
}

/**
 * Decrypts backup frames, yielding each frame's plaintext only after its tag verified. Throws
 * BackupError on a wrong passphrase, a damaged frame (named by its index and byte offset), or a
 * file that ends before its final frame.
 */
export async function* decryptFrames(source: AsyncIterable<Uint8Array>, passphrase: string): AsyncGenerator<Buffer> {
  const r = new ByteReader(source[Symbol.asyncIterator]());
  const magic = await r.read(MAGIC.length + 4);
  if (magic.length < MAGIC.length + 4 || !magic.subarray(0, MAGIC.length).equals(MAGIC)) throw new BackupError('not_a_backup', 'this file is not an Ampule backup (wrong magic bytes)');
  const hlen = magic.readUInt32BE(MAGIC.length);
  if (hlen > MAX_HEADER) throw new BackupError('damaged', 'the backup header is damaged (impossible length)');
  const headerBytes = await r.read(hlen);
  let header: Header;
  try {
    header = JSON.parse(headerBytes.toString('utf8')) as Header;
  } catch {
    throw new BackupError('damaged', 'the backup header is damaged (not JSON)');
  }
  if (header.format !== 'ampule-backup' || header.version !== 1 || header.kdf !== 'scrypt') throw new BackupError('not_a_backup', `unsupported backup format ${String(header.format)} v${String(header.version)}`);
  if (!(header.N >= 1 << 14 && header.N <= 1 << 22 && header.r >= 1 && header.r <= 32 && header.p >= 1 && header.p <= 16 && header.frameBytes > 0 && header.frameBytes <= 64 << 20)) {
    throw new BackupError('damaged', 'the backup header is damaged (key-derivation parameters out of range)');
  }
  const keys = await deriveKeys(passphrase, Buffer.from(header.salt, 'base64'), header);
  const check = Buffer.from(header.check, 'base64');
  if (check.length !== keys.check.length || !timingSafeEqual(check, keys.check)) {
    throw new BackupError('wrong_passphrase', 'wrong passphrase for this backup (or its header was altered); nothing was restored');
  }
  const headerHash = createHash('sha256').update(headerBytes).digest();
  for (let index = 0; ; index++) {
    const at = r.consumed;
    const lenBytes = await r.read(4);
    if (lenBytes.length === 0) throw new BackupError('truncated', `the backup ends after frame ${index - 1} without its final frame: the file was cut short`);
    if (lenBytes.length < 4) throw new BackupError('truncated', `the backup is cut short inside frame ${index} (byte ${at})`);
    const len = lenBytes.readUInt32BE(0);
    if (len > header.frameBytes) throw new BackupError('damaged', `frame ${index} at byte ${at} is damaged (impossible length)`);
    const body = await r.read(len + TAG);
    if (body.length < len + TAG) throw new BackupError('truncated', `the backup is cut short inside frame ${index} (byte ${at})`);
    const open = (final: boolean): Buffer | null => {
      const d = createDecipheriv('aes-256-gcm', keys.enc, nonce(index));
      d.setAAD(aad(headerHash, index, final));
      d.setAuthTag(body.subarray(len));
      try {
        return Buffer.concat([d.update(body.subarray(0, len)), d.final()]);
      } catch {
        return null;
      }
    };
    // A short frame can only be the last one; try that first.
    const last = len < header.frameBytes ? open(true) : null;
    const plain = last ?? open(false);
    if (!plain) throw new BackupError('damaged', `frame ${index} at byte ${at} is damaged: it failed authentication`);
    if (plain.length) yield plain;
    if (last) {
      if ((await r.read(1)).length) throw new BackupError('damaged', `the backup has extra bytes after its final frame (byte ${r.consumed - 1})`);
      return;
    }
  }
}
