/** OffsetDelete v0 (KIP-496): removes committed offsets a group no longer consumes. */
import type { KafkaBrokerContext } from '../broker-context.js';
import { ApiKey, type OffsetDeleteRequest, type OffsetDeleteResponse } from '../protocol/index.js';
import type { ApiHandler } from './api-handler.js';

export function offsetDeleteHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.OffsetDelete> {
  return {
    apiKey: ApiKey.OffsetDelete,
    minVersion: 0,
    maxVersion: 0,
    async handle(request: OffsetDeleteRequest): Promise<OffsetDeleteResponse> {
      const result = await broker.coordinator.deleteOffsets(
        request.groupId,
        request.topics.flatMap((t) =>
          t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex })),
        ),
      );
      const topics = new Map<string, { partitionIndex: number; errorCode: number }[]>();
      for (const p of result.partitions) {
        let partitions = topics.get(p.topic);
        if (!partitions) topics.set(p.topic, (partitions = []));
        partitions.push({ partitionIndex: p.partition, errorCode: p.errorCode });
      }
      return {
        throttleTimeMs: 0,
        errorCode: result.errorCode,
        topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
      };
    },
  };
}
