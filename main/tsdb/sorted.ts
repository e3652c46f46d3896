// Binary search over ascending sample timestamps (head windows, decoded chunks).
/** First index in [start, end) with ts[i] >= x (or > x when `after`); `end` when none. */
export function lowerBound(ts: Float64Array, x: number, after = false, end = ts.length, start = 0): number {
  let lo = start;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < x || (after && ts[mid] === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
