// Retention: whole buckets that ended before the cutoff are deleted; series left without any
// sample leave the index. The head state is written again (a checkpoint in one transaction) only
// when the head lost samples or the cut bucket moves: a checkpoint's parts and states skip series
// the index no longer has, so buckets of chunk rows and empty series go without one.
import { compact, writeHeadState } from './compaction';
import { removeFromSeriesPages } from './series-index';
import { bucketOf, type TsdbState } from './state';

/** Returns the number of samples deleted; with `shrink`, their pages go back to the file system in this turn (else the caller's, in turns). */
export function applyRetention(st: TsdbState, cutoffT: number, shrink = true): number {
  const { storage, head } = st;
  const cut = compact(st);
  const firstKept = bucketOf(cutoffT, storage.layout.bucketMs);
  const keepFrom = firstKept * storage.layout.bucketMs;
  let deleted = 0;
  let fromHead = 0;
  const gone = new Set<number>();
  storage.transaction(() => {
    deleted += storage.deleteBucketsBefore(firstKept);
    for (const s of head.all()) {
      fromHead += s.dropBefore(keepFrom);
      if (s.hist) fromHead += s.hist.dropBefore(keepFrom);
      if (s.lastT < keepFrom && s.lastT !== -Infinity) gone.add(s.id);
      else if (s.minT < keepFrom) s.minT = keepFrom;
    }
    if (gone.size) removeFromSeriesPages(st, gone);
    for (const id of gone) head.remove(head.get(id)!);
    deleted += fromHead;
    if (fromHead > 0 || firstKept > st.cutBucket) writeHeadState(st, Math.max(cut, firstKept));
  });
  if (deleted > 0 && shrink) storage.shrink();
  return deleted;
}
