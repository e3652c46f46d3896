import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelsFromRecord } from './shared/labels';
import { openTsdb } from './main/tsdb';
import { TestKeys } from './test/main/tsdb/helpers';
const SERIES = 100_000, SAMPLES = 100;
const dir = mkdtempSync(join(tmpdir(), 'cut-'));
const labels = Array.from({ length: SERIES }, (_, s) => labelsFromRecord({ __name__: 'bench_metric', instance: `host-${s}:9100`, job: `job-${s % 10}` }));
const t0 = Math.floor(Date.now() / 3600_000) * 3600_000 - 50 * 60_000;
for (const [name, bucketMs] of [['cut', 10 * 60_000], ['nocut', 2 * 3600_000]] as const) {
  const db = openTsdb({ path: join(dir, `${name}.db`), workspaceId: name, keys: new TestKeys({ 1: randomBytes(32) }), bucketMs });
  const refs = new Array<number>(SERIES).fill(0);
  for (let i = 0; i < SAMPLES; i++) {
    const a = db.appender();
    for (let s = 0; s < SERIES; s++) refs[s] = a.append(refs[s]!, labels[s]!, t0 + i * 15_000, Math.round(Math.random() * 1000));
    a.commit();
    if (i === 0) db.compact({ checkpoint: true });
  }
  const t = performance.now();
  if (name === 'cut') db.compact(); else db.compact({ checkpoint: true });
  console.log(name, (performance.now() - t).toFixed(0), 'ms');
  db.close();
}
