// Stores and temp dirs a test file opens, closed and removed after each test (kept apart from
// helpers.ts, which the benchmark imports outside vitest).
import { afterEach } from 'vitest';
import type { Tsdb } from '../../../main/tsdb/index';
import type { TempDir } from './helpers';

export function trackStores(): { dirs: TempDir[]; dbs: Tsdb[] } {
  const tracked = { dirs: [] as TempDir[], dbs: [] as Tsdb[] };
  afterEach(() => {
    for (const db of tracked.dbs.splice(0)) db.close();
    for (const d of tracked.dirs.splice(0)) d.remove();
  });
  return tracked;
}
