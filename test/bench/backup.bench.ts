// Workspace backup and restore throughput on 1M samples, against SQLite's own online backup of the
// same store file (a byte copy: no dump, no passphrase, no encryption) measured in the same run.
//   node --import tsx test/bench/backup.bench.ts
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { randomBytes, scryptSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createCipher } from '../../main/crypto/cipher';
import { openTsdb } from '../../main/tsdb/index';
import { dumpWorkspace } from '../../main/backup/payload';
import { writeBackupFile } from '../../main/backup/backup-file';
import { loadBackup } from '../../main/backup/workspace-backup';
import { labelsFromRecord } from '../../shared/labels';

const SERIES = 1000, PER_SERIES = 1000, N = SERIES * PER_SERIES;
const dir = mkdtempSync(join(tmpdir(), 'ampule-backup-bench-'));
try {
  const keys = (k: Buffer) => ({ current: 1, get: () => createCipher(k) });
  const src = openTsdb({ path: join(dir, 'src.db'), workspaceId: 'ws-bench', keys: keys(randomBytes(32)) });
  const app = src.appender();
  for (let s = 0; s < SERIES; s++) {
    const labels = labelsFromRecord({ __name__: `m_${s % 20}`, instance: `host-${s}:9100`, job: 'node' });
    let ref = 0;
    for (let i = 0; i < PER_SERIES; i++) ref = app.append(ref, labels, 1_700_000_000_000 + i * 15_000, Math.round(Math.sin(s + i) * 1000));
    if (s % 100 === 99) app.commit();
  }
  app.commit();
  src.compact();

  let t = performance.now();
  const bytes = await writeBackupFile(dumpWorkspace({ format: 'ampule-workspace', version: 1, createdAt: '', workspace: { workspaceId: 'ws-bench', alias: 'b', tags: {} }, settings: {} }, src.querier()), join(dir, 'b.ampbak'), 'bench passphrase');
  const ours = (performance.now() - t) / 1000;
  t = performance.now();
  const dst = openTsdb({ path: join(dir, 'dst.db'), workspaceId: 'ws-copy', keys: keys(randomBytes(32)) });
  await loadBackup(join(dir, 'b.ampbak'), 'bench passphrase', dst.appender());
  const restore = (performance.now() - t) / 1000;
  dst.close();
  src.close();

  t = performance.now();
  scryptSync('bench passphrase', randomBytes(16), 64, { N: 1 << 17, r: 8, p: 1, maxmem: 300 << 20 });
  const kdf = (performance.now() - t) / 1000;

  t = performance.now();
  const db = new Database(join(dir, 'src.db'), { readonly: true });
  await db.backup(join(dir, 'peer.db'));
  db.close();
  const peer = (performance.now() - t) / 1000;
  const mb = (b: number) => (b / 1e6).toFixed(1);
  console.log(`1M samples, ${SERIES} series`);
  console.log(`  ampule backup (dump + scrypt N=2^17 + AES-256-GCM frames): ${ours.toFixed(2)} s, ${(N / ours / 1e6).toFixed(2)} M samples/s, ${mb(bytes)} MB`);
  console.log(`  ampule restore (verify-free load through the Appender):   ${restore.toFixed(2)} s, ${(N / restore / 1e6).toFixed(2)} M samples/s`);
  console.log(`  peer: SQLite online backup of the store file:            ${peer.toFixed(2)} s, ${mb(statSync(join(dir, 'peer.db')).size)} MB`);
  console.log(`  of which the passphrase KDF (once per file, by design):  ${kdf.toFixed(2)} s; data path alone ${(N / (ours - kdf) / 1e6).toFixed(2)} M samples/s backup, ${(N / (restore - kdf) / 1e6).toFixed(2)} M samples/s restore`);
  console.log(`  ratio backup/peer ${(ours / peer).toFixed(1)}x (data path alone ${((ours - kdf) / peer).toFixed(1)}x)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
