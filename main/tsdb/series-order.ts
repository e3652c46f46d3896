// A select's series in label order (compareLabels), from ranks kept between queries by series id.
// A query thread sorted every select anew: over 100,000 series, 1.7 M comparisons of label sets
// (57–81 ms in a script, more in a query's heap). A dashboard selects the same series again and
// again, so the order is kept: one sorted list of every id sorted so far, new ids merged into it.
import { compareLabels, type Labels } from '../../shared/labels';

export class SeriesOrder {
  /** Every id ranked so far, in label order; rank.get(id) is its index. */
  private sorted: number[] = [];
  private readonly rank = new Map<number, number>();

  /**
   * `labelsOf(id)` must give one label set an id for as long as the order is kept (clear() when
   * ids may name other sets), and distinct ids distinct sets.
   */
  constructor(private readonly labelsOf: (id: number) => Labels) {}

  clear(): void {
    this.sorted = [];
    this.rank.clear();
  }

  /** `items` (series `ids[i]` each) in label order: a new array. */
  sort<T>(items: readonly T[], ids: readonly number[]): T[] {
    const n = items.length;
    if (n < 2) return [...items];
    // rank·n + index is exact below 2^53 for any number of series a select can hold, and a
    // Float64Array sorts natively, with no comparison called back.
    const keys = new Float64Array(n);
    let fresh: number[] | null = null;
    for (let i = 0; i < n; i++) {
      const r = this.rank.get(ids[i]!);
      if (r === undefined) (fresh ??= []).push(ids[i]!);
      else keys[i] = r * n + i;
    }
    if (fresh) {
      this.merge(fresh);
      for (let i = 0; i < n; i++) keys[i] = this.rank.get(ids[i]!)! * n + i;
    }
    keys.sort();
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = items[keys[i]! % n]!;
    return out;
  }

  /** Merges ids not ranked yet into the order, and ranks every id again. */
  private merge(fresh: number[]): void {
    const labels = this.labelsOf;
    const byLabels = (a: number, b: number) => compareLabels(labels(a), labels(b));
    fresh = [...new Set(fresh)].sort(byLabels);
    const old = this.sorted;
    const merged = new Array<number>(old.length + fresh.length);
    let i = 0, j = 0, k = 0;
    while (i < old.length && j < fresh.length) merged[k++] = byLabels(old[i]!, fresh[j]!) < 0 ? old[i++]! : fresh[j++]!;
    while (i < old.length) merged[k++] = old[i++]!;
    while (j < fresh.length) merged[k++] = fresh[j++]!;
    this.sorted = merged;
    for (let r = 0; r < merged.length; r++) this.rank.set(merged[r]!, r);
  }
}
