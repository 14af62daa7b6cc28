/**
 * ListOffsets: earliest (-2), latest (-1), or the first batch at or after a timestamp.
 * Served up to v6: v7 adds MAX_TIMESTAMP (-3), which needs per-record timestamps.
 */
import type { KafkaBrokerContext } from '../broker-context.js';
import type { PartitionManager } from '../partitions/partition-manager.js';
import {
  ApiKey,
  ErrorCode,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
} from '../protocol/index.js';
import type { ApiHandler } from './api-handler.js';

type PartitionResult = ListOffsetsResponse['topics'][number]['partitions'][number];

const LATEST = -1;
const EARLIEST = -2;
const LEADER_EPOCH = 0;

export function listOffsetsHandler(
  broker: KafkaBrokerContext,
  partitions: PartitionManager,
): ApiHandler<typeof ApiKey.ListOffsets> {
  const answer = (
    partitionIndex: number,
    errorCode: number,
    offset = -1,
    timestamp = -1,
  ): PartitionResult => ({
    partitionIndex,
    errorCode,
    oldStyleOffsets: [],
    timestamp,
    offset,
    leaderEpoch: errorCode === ErrorCode.NONE ? LEADER_EPOCH : -1,
  });

  async function lookup(
    topicName: string,
    index: number,
    timestamp: number,
    leaderEpoch: number,
  ): Promise<PartitionResult> {
    const name = broker.namer.parse(topicName);
    const opening = name ? partitions.get(name.fullName, index) : null;
    if (!opening) return answer(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (leaderEpoch > LEADER_EPOCH) return answer(index, ErrorCode.UNKNOWN_LEADER_EPOCH);
    const { log } = await opening;
    if (timestamp === LATEST) return answer(index, ErrorCode.NONE, log.logEndOffset());
    if (timestamp === EARLIEST) return answer(index, ErrorCode.NONE, log.logStartOffset());
    if (timestamp < 0) return answer(index, ErrorCode.UNSUPPORTED_VERSION);
    const found = await log.offsetForTimestamp(timestamp);
    return found
      ? answer(index, ErrorCode.NONE, found.offset, found.timestamp)
      : answer(index, ErrorCode.NONE);
  }

  return {
    apiKey: ApiKey.ListOffsets,
    minVersion: 1,
    maxVersion: 6,
    async handle(request: ListOffsetsRequest): Promise<ListOffsetsResponse> {
      return {
        throttleTimeMs: 0,
        topics: await Promise.all(
          request.topics.map(async (t) => ({
            name: t.name,
            partitions: await Promise.all(
              t.partitions.map((p) =>
                lookup(t.name, p.partitionIndex, p.timestamp, p.currentLeaderEpoch ?? -1),
              ),
            ),
          })),
        ),
      };
    },
  };
}
