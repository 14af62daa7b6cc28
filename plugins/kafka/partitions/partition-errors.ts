/** The Kafka error a client gets when a partition cannot be served. */
import { LogClosedError, OffsetOutOfRangeError } from '../../../src/api/index.js';
import { ErrorCode } from '../protocol/index.js';
import type { Partition } from './partition-manager.js';

/** The open partition, or the error code to answer with: `missing` when it does not exist. */
export async function openOrError(
  opening: Promise<Partition> | null,
  missing: number,
): Promise<Partition | number> {
  if (!opening) return missing;
  try {
    return await opening;
  } catch {
    // Logged by the partition manager; the client may retry.
    return ErrorCode.KAFKA_STORAGE_ERROR;
  }
}

/** Maps a failed read or append to what Kafka answers: a deleted topic's log is gone, not broken. */
export function storageErrorCode(err: unknown): number {
  if (err instanceof OffsetOutOfRangeError) return ErrorCode.OFFSET_OUT_OF_RANGE;
  if (err instanceof LogClosedError) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  return ErrorCode.KAFKA_STORAGE_ERROR;
}
