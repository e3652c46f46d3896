// Native histograms survive a workspace backup and restore: real encrypted stores on both sides,
// a series longer than one backup record, a series that mixes floats and histograms, a stale marker.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCipher } from '../../../main/crypto/cipher';
import { openTsdb } from '../../../main/tsdb/index';
import type { FloatHistogram } from '../../../main/tsdb/histogram';
import { sameHistogram } from '../../../main/tsdb/histogram-record';
import { STALE_NAN_BITS } from '../../../main/tsdb/types';
import { dumpWorkspace, type BackupManifest } from '../../../main/backup/payload';
import { writeBackupFile } from '../../../main/backup/backup-file';
import { loadBackup, verifyBackup } from '../../../main/backup/workspace-backup';
import { labelsFromRecord } from '../../../shared/labels';

const dir = mkdtempSync(join(tmpdir(), 'ampule-backup-hist-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const keys = () => {
  const c = createCipher(randomBytes(32));
  return { current: 1, get: () => c };
};
const STALE = new Float64Array(new BigUint64Array([STALE_NAN_BITS]).buffer)[0]!;

function histogram(i: number): FloatHistogram {
  const b = [i, 2 * i + 1, 3];
  return {
    counterResetHint: i === 0 ? 'reset' : 'not_reset', schema: 2, zeroThreshold: 1e-128, zeroCount: 1, count: 1 + b[0]! + b[1]! + b[2]!,
    sum: i === 999 ? STALE : i * 1.5, positiveSpans: [{ offset: 3, length: 2 }, { offset: 1, length: 1 }], positiveBuckets: b, negativeSpans: [], negativeBuckets: [],
  };
}

describe('backup of native histograms', () => {
  it('restores every histogram sample, bit-exact where it matters, and counts them', async () => {
    const source = openTsdb({ path: join(dir, 'source.db'), workspaceId: 'ws-src', keys: keys() });
    const app = source.appender();
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 1000; i++) {
      app.appendHistogram(0, labelsFromRecord({ __name__: 'lat', job: 'a' }), t0 + i * 15_000, histogram(i));
      if (i < 500) app.append(0, labelsFromRecord({ __name__: 'mixed' }), t0 + i * 15_000, i);
      else app.appendHistogram(0, labelsFromRecord({ __name__: 'mixed' }), t0 + i * 15_000, histogram(i - 500));
    }
    app.commit();
    source.compact();
    const manifest: BackupManifest = { format: 'ampule-workspace', version: 1, createdAt: new Date(0).toISOString(), workspace: { workspaceId: 'ws-src', alias: 'h', tags: {} }, settings: {} };
    const file = join(dir, 'h.ampbak');
    await writeBackupFile(dumpWorkspace(manifest, source.querier()), file, 'a long passphrase', { kdf: { N: 1 << 14, r: 8, p: 1 } });
    expect(await verifyBackup(file, 'a long passphrase')).toMatchObject({ series: 2, samples: 2000 });
    const target = openTsdb({ path: join(dir, 'target.db'), workspaceId: 'ws-dst', keys: keys() });
    expect(await loadBackup(file, 'a long passphrase', target.appender())).toEqual({ series: 2, samples: 2000 });
    const a = source.querier().select([], -Infinity, Infinity);
    const b = target.querier().select([], -Infinity, Infinity);
    expect(b.map((s) => s.labels)).toEqual(a.map((s) => s.labels));
    a.forEach((s, k) => {
      const t = b[k]!;
      expect(Array.from(t.values)).toEqual(Array.from(s.values));
      expect(Array.from(t.histograms!.timestamps)).toEqual(Array.from(s.histograms!.timestamps));
      s.histograms!.values.forEach((h, i) => expect(sameHistogram(t.histograms!.values[i]!, h), `${k}/${i}`).toBe(true));
    });
    const last = b.find((s) => s.labels[0]!.value === 'lat')!.histograms!.values[999]!;
    const f = new Float64Array(1); // not through a JS array: V8 may canonicalize NaN payloads there
    f[0] = last.sum;
    expect(new BigUint64Array(f.buffer)[0]).toBe(STALE_NAN_BITS);
    source.close();
    target.close();
  }, 60_000);
});
