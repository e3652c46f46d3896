// The persisted series index: sealed pages of label sets (see ./series-page).
import type { MemSeries } from './head';
import { decodeSeriesPage, encodeSeriesPage } from './series-page';
import type { TsdbState } from './state';
import { items } from './storage';

/** Series per page. */
const PAGE_SERIES = 4096;

/** Writes `series` (ascending ids) as new pages. Call inside a transaction. */
export function writeSeriesPages(st: TsdbState, series: readonly MemSeries[]): void {
  const { storage } = st;
  for (let i = 0; i < series.length; i += PAGE_SERIES) {
    const page = st.nextPage++;
    const plain = encodeSeriesPage(series.slice(i, i + PAGE_SERIES));
    storage.putPage(page, storage.seal(items.page(page), plain));
  }
}

/** Rewrites the pages holding any of `ids` without them, so their label sets are gone from disk. */
export function removeFromSeriesPages(st: TsdbState, ids: ReadonlySet<number>): void {
  const { storage } = st;
  for (const row of storage.pages()) {
    const item = items.page(row.page);
    const entries = decodeSeriesPage(storage.open(item, row));
    const kept = entries.filter((e) => !ids.has(e.id));
    if (kept.length === entries.length) continue;
    if (kept.length === 0) storage.deletePage(row.page);
    else storage.putPage(row.page, storage.seal(item, encodeSeriesPage(kept)));
  }
}
