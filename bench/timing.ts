/** Per-call timing shared by the micro-benchmarks. */

/**
 * Calls `fn(i)` with a growing i, after `warmUpCalls` calls, until `minDurationMs` passed;
 * returns ns per call.
 */
export function nsPerCall(
  fn: (i: number) => void,
  { minDurationMs = 1000, warmUpCalls = 10_000 } = {},
): number {
  for (let i = 0; i < warmUpCalls; i++) fn(i);
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < minDurationMs) {
    for (let i = 0; i < 10_000; i++) fn(calls + i);
    calls += 10_000;
  }
  return ((performance.now() - start) * 1e6) / calls;
}
