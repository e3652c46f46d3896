// The persisted series index: sealed pages of label sets (see ./series-page).
import type { MemSeries } from './head';
import { decodeSeriesPage, encodeSeriesPage } from './series-page';
import type { TsdbState } from './state';
import { lowerBound } from './sorted';
import { items } from './storage';

/** Series per page. */
const PAGE_SERIES = 4096;

/** Writes `series` (ascending ids) as new pages. Call inside a transaction. */
export function writeSeriesPages(st: TsdbState, series: readonly MemSeries[]): void {
  const { storage } = st;
  for (let i = 0; i < series.length; i += PAGE_SERIES) {
    const page = st.nextPage++;
    const members = series.slice(i, i + PAGE_SERIES);
    storage.putPage(page, storage.seal(items.page(page), encodeSeriesPage(members)));
    noteSeriesPage(st, page, members);
  }
}

/** Notes which ids page `page` holds now (st.pageIds). */
export function noteSeriesPage(st: TsdbState, page: number, members: readonly { readonly id: number }[]): void {
  let min = Infinity;
  let max = -Infinity;
  for (const { id } of members) {
    if (id < min) min = id;
    if (id > max) max = id;
  }
  st.pageIds.set(page, { min, max });
}

/**
 * Rewrites the pages holding any of `ids` without them, so their label sets are gone from disk:
 * only the pages whose id span takes in one of them are read. The spans are never narrowed nor
 * dropped here (a page gone is skipped): should the transaction roll back, the pages as they were
 * must still be found.
 */
export function removeFromSeriesPages(st: TsdbState, ids: ReadonlySet<number>): void {
  const { storage } = st;
  const sorted = Float64Array.from(ids).sort();
  for (const [page, span] of st.pageIds) {
    const at = lowerBound(sorted, span.min);
    if (at === sorted.length || sorted[at]! > span.max) continue;
    const row = storage.page(page);
    if (!row) continue; // emptied by an earlier removal
    const item = items.page(page);
    const entries = decodeSeriesPage(storage.open(item, row));
    const kept = entries.filter((e) => !ids.has(e.id));
    if (kept.length === entries.length) continue;
    if (kept.length === 0) storage.deletePage(page);
    else storage.putPage(page, storage.seal(item, encodeSeriesPage(kept)));
  }
}
