/**
 * OffsetDelete v0 (KIP-496): removes committed offsets a group no longer consumes. Partitions
 * of topics that do not exist get UNKNOWN_TOPIC_OR_PARTITION, as Kafka answers.
 */
import type { KafkaBrokerContext } from '../broker-context.js';
import {
  ApiKey,
  ErrorCode,
  type OffsetDeleteRequest,
  type OffsetDeleteResponse,
} from '../protocol/index.js';
import type { ApiHandler } from './api-handler.js';

export function offsetDeleteHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.OffsetDelete> {
  return {
    apiKey: ApiKey.OffsetDelete,
    minVersion: 0,
    maxVersion: 0,
    async handle(request: OffsetDeleteRequest): Promise<OffsetDeleteResponse> {
      const known = request.topics.flatMap((t) => {
        const exists = broker.topicService.partitionsOf(t.name);
        return t.partitions
          .filter((p) => exists(p.partitionIndex))
          .map((p) => ({ topic: t.name, partition: p.partitionIndex }));
      });
      const result = await broker.coordinator.deleteOffsets(request.groupId, known);
      const errors = new Map(
        result.partitions.map((p) => [`${p.topic}\u0000${p.partition}`, p.errorCode]),
      );
      return {
        throttleTimeMs: 0,
        errorCode: result.errorCode,
        topics:
          result.errorCode === ErrorCode.NONE
            ? request.topics.map((t) => ({
                name: t.name,
                partitions: t.partitions.map((p) => ({
                  partitionIndex: p.partitionIndex,
                  errorCode:
                    errors.get(`${t.name}\u0000${p.partitionIndex}`) ??
                    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                })),
              }))
            : [],
      };
    },
  };
}
