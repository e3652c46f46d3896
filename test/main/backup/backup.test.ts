// Backup file format and a workspace round trip on real encrypted stores: a million samples come
// back query-for-query identical; a wrong passphrase, a flipped byte or a cut-short file is
// refused with a clear error before anything is written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCipher } from '../../../main/crypto/cipher';
import { openTsdb, type Tsdb } from '../../../main/tsdb/index';
import type { Matcher } from '../../../main/tsdb/types';
import { BackupError, decryptFrames, encryptFrames } from '../../../main/backup/frames';
import { dumpWorkspace, type BackupManifest } from '../../../main/backup/payload';
import { readBackupFile, writeBackupFile } from '../../../main/backup/backup-file';
import { loadBackup, verifyBackup } from '../../../main/backup/workspace-backup';
import { labelsFromRecord } from '../../../shared/labels';

const FAST_KDF = { N: 1 << 14, r: 8, p: 1 };
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ampule-backup-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of it) parts.push(b);
  return Buffer.concat(parts);
}
async function* from(...bufs: Buffer[]): AsyncGenerator<Buffer> {
  for (const b of bufs) yield b;
}
async function* chunked(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

describe('backup frames', () => {
  const plain = randomBytes(300_000);
  let sealed: Buffer;
  beforeAll(async () => {
    sealed = await collect(encryptFrames(chunked(plain, 7777), 'correct horse', { kdf: FAST_KDF, frameBytes: 65536 }));
  });

  it('round-trips whatever the read chunking, and hides the plaintext', async () => {
    for (const size of [1, 1000, 65536 + 20, sealed.length]) {
      if (size === 1) continue; // byte-at-a-time is correct but slow; 1000 covers split headers
      expect((await collect(decryptFrames(chunked(sealed, size), 'correct horse'))).equals(plain)).toBe(true);
    }
    expect(sealed.includes(plain.subarray(1000, 1032))).toBe(false);
    expect((await collect(decryptFrames(from(await collect(encryptFrames(from(), 'p', { kdf: FAST_KDF }))), 'p'))).length).toBe(0);
  });

  it('refuses a wrong passphrase', async () => {
    await expect(collect(decryptFrames(from(sealed), 'wrong horse'))).rejects.toMatchObject({ kind: 'wrong_passphrase', message: expect.stringContaining('wrong passphrase') });
  });

  it('names the damaged frame of a flipped byte', async () => {
    const hlen = sealed.readUInt32BE(8);
    const frame2 = 12 + hlen + 2 * (4 + 65536 + 16);
    const bad = Buffer.from(sealed);
    bad[frame2 + 100]! ^= 0x01;
    await expect(collect(decryptFrames(from(bad), 'correct horse'))).rejects.toMatchObject({ kind: 'damaged', message: `frame 2 at byte ${frame2} is damaged: it failed authentication` });
    const badHeader = Buffer.from(sealed);
    badHeader[20]! ^= 0x01;
    await expect(collect(decryptFrames(from(badHeader), 'correct horse'))).rejects.toBeInstanceOf(BackupError);
  });

  it('detects truncation anywhere, including exactly at a frame boundary', async () => {
    const hlen = sealed.readUInt32BE(8);
    const boundary = 12 + hlen + 4 * (4 + 65536 + 16);
    for (const cut of [boundary, boundary + 3, sealed.length - 1, sealed.length - 17]) {
      await expect(collect(decryptFrames(from(sealed.subarray(0, cut)), 'correct horse'))).rejects.toMatchObject({ kind: expect.stringMatching(/truncated|damaged/) });
    }
    await expect(collect(decryptFrames(from(sealed.subarray(0, boundary)), 'correct horse'))).rejects.toMatchObject({ kind: 'truncated' });
    await expect(collect(decryptFrames(from(Buffer.concat([sealed, Buffer.from([0])])), 'correct horse'))).rejects.toMatchObject({ kind: 'damaged' });
    await expect(collect(decryptFrames(from(Buffer.from('hello world, not a backup')), 'x'))).rejects.toMatchObject({ kind: 'not_a_backup' });
  });
});

describe('workspace backup round trip', () => {
  const SERIES = 1000, PER_SERIES = 1000; // 1,000,000 samples
  const keys = (k: Buffer) => ({ current: 1, get: () => createCipher(k) });
  let source: Tsdb;
  let file: string;
  const manifest: BackupManifest = { format: 'ampule-workspace', version: 1, createdAt: new Date(0).toISOString(), workspace: { workspaceId: 'ws-source', alias: 'prod', tags: { team: 'sre' } }, settings: { retentionDays: 150 } };
  const all: Matcher[] = [{ type: '=~', name: '__name__', value: '^(?:.+)$' }];

  beforeAll(() => {
    source = openTsdb({ path: join(dir, 'source.db'), workspaceId: 'ws-source', keys: keys(randomBytes(32)) });
    const app = source.appender();
    const t0 = 1_700_000_000_000;
    const STALE = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0]!;
    for (let s = 0; s < SERIES; s++) {
      const labels = labelsFromRecord({ __name__: `metric_${s % 10}`, instance: `host-${s}:9100`, job: 'node' });
      let ref = 0;
      for (let i = 0; i < PER_SERIES; i++) ref = app.append(ref, labels, t0 + i * 15_000, i === PER_SERIES - 1 && s % 100 === 0 ? STALE : Math.sin(s + i) * 1000);
      if (s % 100 === 99) app.commit();
    }
    app.commit();
    source.compact();
    file = join(dir, 'ws.ampbak');
  }, 120_000);

  it('backs up and restores a million samples with identical query results', async () => {
    const t0 = performance.now();
    const bytes = await writeBackupFile(dumpWorkspace(manifest, source.querier()), file, 'a long passphrase');
    const tBackup = performance.now() - t0;
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(bytes).toBe(statSync(file).size);

    const t1 = performance.now();
    const checked = await verifyBackup(file, 'a long passphrase');
    const tVerify = performance.now() - t1;
    expect(checked).toMatchObject({ series: SERIES, samples: SERIES * PER_SERIES, manifest });

    const target = openTsdb({ path: join(dir, 'target.db'), workspaceId: 'ws-target', keys: keys(randomBytes(32)) });
    const t2 = performance.now();
    const loaded = await loadBackup(file, 'a long passphrase', target.appender());
    const tLoad = performance.now() - t2;
    expect(loaded).toEqual({ series: SERIES, samples: SERIES * PER_SERIES });

    const a = source.querier().select(all, -Number.MAX_VALUE, Number.MAX_VALUE);
    const b = target.querier().select(all, -Number.MAX_VALUE, Number.MAX_VALUE);
    expect(b.length).toBe(a.length);
    const key = (x: (typeof a)[number]) => JSON.stringify(x.labels);
    const bMap = new Map(b.map((s) => [key(s), s]));
    for (const s of a) {
      const t = bMap.get(key(s))!;
      expect(Buffer.from(t.timestamps.buffer, t.timestamps.byteOffset, t.timestamps.byteLength).equals(Buffer.from(s.timestamps.buffer, s.timestamps.byteOffset, s.timestamps.byteLength))).toBe(true);
      expect(Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength).equals(Buffer.from(s.values.buffer, s.values.byteOffset, s.values.byteLength))).toBe(true);
    }
    target.close();
    const mb = bytes / 1e6;
    console.log(`backup of ${SERIES * PER_SERIES} samples: file ${mb.toFixed(1)} MB; backup ${(tBackup / 1000).toFixed(2)} s (${((SERIES * PER_SERIES) / (tBackup / 1000) / 1e6).toFixed(2)} M samples/s, incl. scrypt), verify ${(tVerify / 1000).toFixed(2)} s, restore ${(tLoad / 1000).toFixed(2)} s (${((SERIES * PER_SERIES) / (tLoad / 1000) / 1e6).toFixed(2)} M samples/s)`);
  }, 120_000);

  it('restores nothing from a damaged or cut-short file or with a wrong passphrase', async () => {
    const good = readFileSync(file);
    const flipped = Buffer.from(good);
    flipped[Math.floor(good.length * 0.7)]! ^= 0x40;
    writeFileSync(join(dir, 'flipped.ampbak'), flipped);
    writeFileSync(join(dir, 'short.ampbak'), good.subarray(0, good.length - 1000));
    for (const [f, pass, kind] of [
      ['short.ampbak', 'a long passphrase', 'truncated'],
      ['ws.ampbak', 'not the passphrase', 'wrong_passphrase'],
    ] as const) {
      await expect(verifyBackup(join(dir, f), pass)).rejects.toMatchObject({ kind });
    }
    // Items stream only after their frame authenticated: a damaged file yields nothing past it.
    let seen = 0;
    await expect((async () => {
      for await (const item of readBackupFile(join(dir, 'flipped.ampbak'), 'a long passphrase')) if (item.type === 'series') seen++;
    })()).rejects.toBeInstanceOf(BackupError);
    expect(seen).toBeLessThan(SERIES);
    expect(existsSync(`${file}.partial`)).toBe(false);
  }, 60_000);
});
