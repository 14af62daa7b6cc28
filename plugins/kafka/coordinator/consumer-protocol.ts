/**
 * What the coordinator reads of the 'consumer' embedded protocol: the topics a member subscribes
 * to, which decide which offsets may expire (KIP-211) or be deleted (KIP-496), and the partitions
 * an assignment gives a member, which the group-id mapping publishes.
 */
import {
  Reader,
  decodeConsumerProtocolAssignment,
  decodeConsumerProtocolSubscription,
} from '../protocol/index.js';

export const CONSUMER_PROTOCOL_TYPE = 'consumer';

/**
 * The topics in a member's ConsumerProtocolSubscription (int16 version, then the struct). Read
 * at version 0, the prefix of every version, as Kafka does, so future versions parse too.
 * Throws on malformed metadata.
 */
export function subscribedTopics(metadata: Buffer): string[] {
  const reader = new Reader(metadata);
  const version = reader.int16();
  if (version < 0) throw new RangeError(`unsupported consumer subscription version ${version}`);
  return decodeConsumerProtocolSubscription(reader, 0).topics;
}

/**
 * The partitions in a member's ConsumerProtocolAssignment (int16 version, then the struct, read
 * at version 0 as above); an empty assignment (a member the leader gave nothing) has none.
 * Throws on malformed bytes.
 */
export function assignedPartitions(assignment: Buffer): { topic: string; partitions: number[] }[] {
  if (assignment.length === 0) return [];
  const reader = new Reader(assignment);
  const version = reader.int16();
  if (version < 0) throw new RangeError(`unsupported consumer assignment version ${version}`);
  return decodeConsumerProtocolAssignment(reader, 0).assignedPartitions;
}
