/** Finding the partition a request names, or the Kafka error a client gets instead. */
import {
  FencedError,
  LogClosedError,
  OffsetOutOfRangeError,
  type ClusterView,
} from '../../../src/api/index.js';
import { ErrorCode } from '../protocol/index.js';
import {
  PartitionUnavailableError,
  type Partition,
  type PartitionManager,
} from './partition-manager.js';

/**
 * The open partition if this broker owns it, else the error to answer with: `missing` for a
 * partition that does not exist, NOT_LEADER_OR_FOLLOWER for one another broker owns (the client
 * refreshes its metadata and follows), KAFKA_STORAGE_ERROR when the log cannot be opened.
 */
export async function ownedPartition(
  partitions: PartitionManager,
  cluster: ClusterView,
  topic: string | undefined,
  index: number,
  missing: number,
): Promise<Partition | number> {
  if (topic === undefined || !partitions.exists(topic, index)) return missing;
  // Checked before anything opens: a log must only be opened under an epoch this broker holds.
  if (!cluster.ownsNow({ topic, partition: index })) {
    return cluster.ownerOf({ topic, partition: index })
      ? ErrorCode.NOT_LEADER_OR_FOLLOWER
      : ErrorCode.LEADER_NOT_AVAILABLE;
  }
  const opening = partitions.get(topic, index);
  if (!opening) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  let partition: Partition;
  try {
    partition = await opening;
  } catch (err) {
    // Logged by the partition manager; the client refreshes its metadata or retries.
    return storageErrorCode(err, partitions.exists(topic, index));
  }
  // Cut off from the metadata store, this broker may have been replaced without knowing yet:
  // the log's claim tells (one stat, and only then). A claim lost shows on writes anyway.
  if (partition.log.isFenced() || (!cluster.connected() && !partition.log.stillClaimed())) {
    return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  }
  return partition;
}

/**
 * Maps a failed open, read or append to what Kafka answers. A log closed under the request went
 * with its deleted topic, or to another broker (`topicExists`): gone, or elsewhere, not broken.
 */
export function storageErrorCode(err: unknown, topicExists: boolean): number {
  if (err instanceof OffsetOutOfRangeError) return ErrorCode.OFFSET_OUT_OF_RANGE;
  // Ownership moved under the request: the client asks the new leader.
  if (err instanceof PartitionUnavailableError || err instanceof FencedError)
    return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  if (err instanceof LogClosedError) {
    return topicExists ? ErrorCode.NOT_LEADER_OR_FOLLOWER : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  }
  return ErrorCode.KAFKA_STORAGE_ERROR;
}

/**
 * KIP-320: a client names the leader epoch it believes current. Newer than ours means this
 * broker is behind (UNKNOWN_LEADER_EPOCH, retriable); older means the client is
 * (FENCED_LEADER_EPOCH: it refreshes metadata). -1 skips the check.
 */
export function leaderEpochError(requested: number, current: number): number | null {
  if (requested < 0 || requested === current) return null;
  return requested > current ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
}
