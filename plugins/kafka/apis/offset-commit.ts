/**
 * OffsetCommit v0-9. Partitions of topics that do not exist are refused per partition with
 * UNKNOWN_TOPIC_OR_PARTITION, as Kafka does; the rest go to the coordinator.
 */
import type { KafkaBrokerContext } from '../broker-context.js';
import type { CommitOffsetsParams } from '../coordinator/types.js';
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
  return {
    apiKey: ApiKey.OffsetCommit,
    minVersion: 0,
    maxVersion: 9,
    async handle(
      request: OffsetCommitRequest,
      context: RequestContext,
    ): Promise<OffsetCommitResponse> {
      const known: CommitOffsetsParams['offsets'] = [];
      // Which request partitions exist, in request order; the coordinator answers in that order.
      const exists = request.topics.map((t) => {
        const exists = broker.topicService.partitionsOf(t.name);
        return t.partitions.map((p) => {
          const ok = exists(p.partitionIndex);
          if (ok) {
            known.push({
              topic: t.name,
              partition: p.partitionIndex,
              offset: p.committedOffset,
              leaderEpoch: p.committedLeaderEpoch ?? -1,
              metadata: p.committedMetadata,
            });
          }
          return ok;
        });
      });
      const { partitions: results } =
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
      let next = 0;
      return {
        throttleTimeMs: 0,
        topics: request.topics.map((t, i) => ({
          name: t.name,
          partitions: t.partitions.map((p, j) => ({
            partitionIndex: p.partitionIndex,
            errorCode: exists[i][j]
              ? results[next++].errorCode
              : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          })),
        })),
      };
    },
  };
}
