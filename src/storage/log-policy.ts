/**
 * When to roll a segment and which closed segments retention deletes. Both stores use these, so
 * the in-memory store keeps exactly the file store's segment-granular semantics.
 */
import type { LogConfig } from './types.js';

/** Index entries hold offsets relative to the segment base as 32-bit values. */
const MAX_RELATIVE_OFFSET = 2 ** 31 - 1;

export interface RollFacts {
  baseOffset: number;
  size: number;
  /** Wall-clock time the segment was created, ms. */
  createdAt: number;
}

/** Whether an append of `bytes` taking offsets [nextOffset, nextOffset + offsets) needs a new segment. */
export function shouldRoll(
  segment: RollFacts,
  bytes: number,
  nextOffset: number,
  offsets: number,
  now: number,
  config: LogConfig,
): boolean {
  if (segment.size === 0) return false; // an empty segment takes any append, however large
  return (
    segment.size + bytes > config.segmentBytes ||
    now - segment.createdAt >= config.segmentMs ||
    nextOffset + offsets - 1 - segment.baseOffset > MAX_RELATIVE_OFFSET
  );
}

export interface RetentionFacts {
  size: number;
  /** Offset after the segment's last batch. */
  endOffset: number;
  /** Newest batch timestamp, or the file's modification time when no batch has one. */
  largestTimestamp: number;
}

export type DeletionReason = 'log-start-offset' | 'retention-bytes' | 'retention-ms';

/**
 * Why the oldest remaining closed segment should go, or null. Callers walk closed segments
 * oldest first and stop at the first null: the log must stay one contiguous range.
 */
export function deletionReason(
  segment: RetentionFacts,
  logBytes: number,
  logStartOffset: number,
  now: number,
  config: LogConfig,
): DeletionReason | null {
  if (segment.endOffset <= logStartOffset) return 'log-start-offset';
  // As Kafka: delete only while the log stays at or above the limit without the segment.
  if (config.retentionBytes >= 0 && logBytes - segment.size >= config.retentionBytes) {
    return 'retention-bytes';
  }
  if (config.retentionMs >= 0 && now - segment.largestTimestamp > config.retentionMs)
    return 'retention-ms';
  return null;
}
