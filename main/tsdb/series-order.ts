// A select's series in label order (compareLabels), from ranks kept between queries by series id.
// A query thread sorted every select anew: over 100,000 series, 1.7 M comparisons of label sets
// (54–107 ms in a script, ~128 ms in a query's heap). A dashboard selects the same series again
// and again, so the order is kept: one sorted list of every id sorted so far, new ids merged in.
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
    let fresh: number[] | null = null; // indexes of items whose ids are not ranked
    for (let i = 0; i < n; i++) {
      const r = this.rank.get(ids[i]!);
      if (r === undefined) (fresh ??= []).push(i);
      else keys[i] = r * n + i;
    }
    if (fresh) {
      // Placing new ids re-ranks every id ranked: a small select among many sorts on its own instead.
      if (this.sorted.length > n * Math.log2(n)) return this.byLabels(ids, Array.from({ length: n }, (_, i) => i)).map((i) => items[i]!);
      const first = this.sorted.length === 0; // then every id is fresh
      const placed = this.place(ids, fresh);
      if (first) return placed.map((i) => items[i]!); // the order itself
      for (let i = 0; i < n; i++) keys[i] = this.rank.get(ids[i]!)! * n + i;
    }
    keys.sort();
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = items[keys[i]! % n]!;
    return out;
  }

  /** Indexes `at` into `ids` in their ids' label order (an id given twice: in index order). */
  private byLabels(ids: readonly number[], at: number[]): number[] {
    const sets = at.map((i) => this.labelsOf(ids[i]!));
    const order = at.map((_, k) => k).sort((a, b) => compareLabels(sets[a]!, sets[b]!) || a - b);
    return order.map((k) => at[k]!);
  }

  /**
   * Puts the ids at indexes `fresh` into the order, each where a binary search over it finds its
   * place (no walk comparing every id ranked), and ranks every id again; returns `fresh` in label order.
   */
  private place(ids: readonly number[], fresh: number[]): number[] {
    const labels = this.labelsOf;
    const inOrder = this.byLabels(ids, fresh);
    const old = this.sorted;
    const merged = new Array<number>(old.length + inOrder.length);
    let from = 0, k = 0;
    for (const i of inOrder) {
      const id = ids[i]!;
      if (k > 0 && merged[k - 1] === id) continue; // given twice
      const set = labels(id);
      let lo = from, hi = old.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareLabels(labels(old[mid]!), set) < 0) lo = mid + 1;
        else hi = mid;
      }
      while (from < lo) merged[k++] = old[from++]!;
      merged[k++] = id;
    }
    while (from < old.length) merged[k++] = old[from++]!;
    merged.length = k;
    this.sorted = merged;
    for (let r = 0; r < k; r++) this.rank.set(merged[r]!, r);
    return inOrder;
  }
}
