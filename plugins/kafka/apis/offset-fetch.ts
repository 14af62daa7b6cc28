/** OffsetFetch: one group (v0-7, a null topic list meaning all from v2) or several (v8+). */
import type { KafkaBrokerContext } from '../broker-context.js';
import type { FetchOffsetsResult } from '../coordinator/types.js';
import {
  ApiKey,
  ErrorCode,
  type OffsetFetchRequest,
  type OffsetFetchResponse,
} from '../protocol/index.js';
import type { ApiHandler, RequestContext } from './api-handler.js';

type Topics = { name: string; partitionIndexes: number[] }[] | null;

/** One partition's answer, the same in the single-group (v0-7) and batched (v8+) layouts. */
interface CommittedOffset {
  partitionIndex: number;
  committedOffset: number;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

/** Partitions grouped by topic, in the order the coordinator gave them. */
function byTopic(result: FetchOffsetsResult) {
  const topics = new Map<string, CommittedOffset[]>();
  for (const p of result.partitions) {
    let partitions = topics.get(p.topic);
    if (!partitions) topics.set(p.topic, (partitions = []));
    partitions.push({
      partitionIndex: p.partition,
      committedOffset: p.offset,
      committedLeaderEpoch: p.leaderEpoch,
      metadata: p.metadata,
      errorCode: p.errorCode,
    });
  }
  return [...topics].map(([name, partitions]) => ({ name, partitions }));
}

export function offsetFetchHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.OffsetFetch> {
  const fetch = (groupId: string, topics: Topics) =>
    broker.coordinator.fetchOffsets({
      groupId,
      partitions:
        topics === null
          ? null
          : topics.flatMap((t) =>
              t.partitionIndexes.map((partition) => ({ topic: t.name, partition })),
            ),
    });

  return {
    apiKey: ApiKey.OffsetFetch,
    minVersion: 0,
    maxVersion: 9,
    async handle(
      request: OffsetFetchRequest,
      context: RequestContext,
    ): Promise<OffsetFetchResponse> {
      const version = context.apiVersion;
      if (version >= 8) {
        const groups = await Promise.all(
          (request.groups ?? []).map(async (g) => {
            const result = await fetch(g.groupId, g.topics ?? null);
            return { groupId: g.groupId, topics: byTopic(result), errorCode: result.errorCode };
          }),
        );
        return { throttleTimeMs: 0, topics: [], errorCode: ErrorCode.NONE, groups };
      }
      // v0 and v1 have no null topic list: an empty one is just empty.
      const result = await fetch(
        request.groupId ?? '',
        version >= 2 ? (request.topics ?? null) : (request.topics ?? []),
      );
      if (result.errorCode !== ErrorCode.NONE && version < 2) {
        // v0-1 have no group-level error: it goes into every requested partition.
        const topics = (request.topics ?? []).map((t) => ({
          name: t.name,
          partitions: t.partitionIndexes.map((partitionIndex) => ({
            partitionIndex,
            committedOffset: -1,
            committedLeaderEpoch: -1,
            metadata: '',
            errorCode: result.errorCode,
          })),
        }));
        return { throttleTimeMs: 0, topics, errorCode: result.errorCode, groups: [] };
      }
      return {
        throttleTimeMs: 0,
        topics: byTopic(result),
        errorCode: result.errorCode,
        groups: [],
      };
    },
  };
}
