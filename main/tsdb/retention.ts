// Retention: whole buckets that ended before the cutoff are deleted; series left without any
// sample leave the index.
import { compact, writeHeadState } from './compaction';
import { removeFromSeriesPages } from './series-index';
import { bucketOf, type TsdbState } from './state';

/** Returns the number of samples deleted. */
export function applyRetention(st: TsdbState, cutoffT: number): number {
  const { storage, head } = st;
  const cut = compact(st);
  const firstKept = bucketOf(cutoffT, storage.layout.bucketMs);
  const keepFrom = firstKept * storage.layout.bucketMs;
  let deleted = 0;
  const gone = new Set<number>();
  storage.transaction(() => {
    deleted += storage.deleteBucketsBefore(firstKept);
    for (const s of head.all()) {
      deleted += s.dropBefore(keepFrom);
      if (s.hist) deleted += s.hist.dropBefore(keepFrom);
      if (s.lastT < keepFrom && s.lastT !== -Infinity) gone.add(s.id);
      else if (s.minT < keepFrom) s.minT = keepFrom;
    }
    if (gone.size) removeFromSeriesPages(st, gone);
    for (const id of gone) head.remove(head.get(id)!);
    if (deleted > 0 || gone.size > 0) writeHeadState(st, Math.max(cut, firstKept));
  });
  if (deleted > 0) storage.shrink();
  return deleted;
}
