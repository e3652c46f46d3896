// Binary search over ascending sample timestamps (head windows, decoded chunks).
/** First index below `end` with ts[i] >= x (or > x when `after`). */
export function lowerBound(ts: Float64Array, x: number, after = false, end = ts.length): number {
  let lo = 0;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < x || (after && ts[mid] === x)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
