/**
 * OffsetCommit v0-9. Partitions of topics that do not exist are refused per partition with
 * UNKNOWN_TOPIC_OR_PARTITION, as Kafka does; the rest go to the coordinator.
 */
import type { KafkaBrokerContext } from '../broker-context.js';
import {
  ApiKey,
  ErrorCode,
  type OffsetCommitRequest,
  type OffsetCommitResponse,
} from '../protocol/index.js';
import type { ApiHandler, RequestContext } from './api-handler.js';

export function offsetCommitHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.OffsetCommit> {
  const exists = (topic: string, partition: number) => {
    const metadata = broker.topicService.find(topic);
    return metadata !== undefined && partition >= 0 && partition < metadata.partitions;
  };

  return {
    apiKey: ApiKey.OffsetCommit,
    minVersion: 0,
    maxVersion: 9,
    async handle(
      request: OffsetCommitRequest,
      context: RequestContext,
    ): Promise<OffsetCommitResponse> {
      const requested = request.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch ?? -1,
          metadata: p.committedMetadata,
        })),
      );
      const known = requested.filter((o) => exists(o.topic, o.partition));
      const result =
        known.length === 0
          ? { partitions: [] }
          : await broker.coordinator.commitOffsets({
              groupId: request.groupId,
              // v0 commits carry no generation: they come from outside any group generation.
              generationId:
                context.apiVersion >= 1 ? (request.generationIdOrMemberEpoch ?? -1) : -1,
              memberId: request.memberId ?? '',
              groupInstanceId: request.groupInstanceId ?? null,
              retentionTimeMs: request.retentionTimeMs ?? -1,
              offsets: known,
            });
      const errors = new Map(
        result.partitions.map((p) => [`${p.topic}\u0000${p.partition}`, p.errorCode]),
      );
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({
            partitionIndex: p.partitionIndex,
            errorCode:
              errors.get(`${t.name}\u0000${p.partitionIndex}`) ??
              ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          })),
        })),
      };
    },
  };
}
