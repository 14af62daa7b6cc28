/** Binary search over things sorted by base offset: segments, cached chunks. */

/** Index of the last item whose base offset is at most `offset`, searching [lo, hi]; -1 if none. */
export function lastAtOrBelow(
  items: readonly { baseOffset: number }[],
  offset: number,
  lo = 0,
  hi = items.length - 1,
): number {
  if (lo > hi || items[lo].baseOffset > offset) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (items[mid].baseOffset <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
