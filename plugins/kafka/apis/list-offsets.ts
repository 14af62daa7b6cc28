/**
 * ListOffsets: earliest (-2), latest (-1), or by timestamp. A timestamp lookup answers at batch
 * granularity: the first batch whose max timestamp reaches the target (records are not
 * decompressed), so a consumer seeking by time may re-read the start of that batch.
 * Served up to v6: v7 adds MAX_TIMESTAMP (-3), which needs per-record timestamps.
 */
import type { KafkaBrokerContext } from '../broker-context.js';
import {
  leaderEpochError,
  ownedPartition,
  storageErrorCode,
} from '../partitions/partition-errors.js';
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

function answer(
  partitionIndex: number,
  errorCode: number,
  offset = -1,
  timestamp = -1,
  leaderEpoch = -1,
): PartitionResult {
  return {
    partitionIndex,
    errorCode,
    oldStyleOffsets: [],
    timestamp,
    offset,
    leaderEpoch,
  };
}

export function listOffsetsHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.ListOffsets> {
  async function lookup(
    topicName: string,
    index: number,
    timestamp: number,
    leaderEpoch: number,
  ): Promise<PartitionResult> {
    const topic = broker.topicService.find(topicName);
    const partition = await ownedPartition(
      broker.partitions,
      broker.host.cluster,
      topic?.name,
      index,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    if (typeof partition === 'number') return answer(index, partition);
    const epochError = leaderEpochError(leaderEpoch, partition.epoch);
    if (epochError !== null) return answer(index, epochError);
    const { log } = partition;
    const { epoch } = partition;
    if (timestamp === LATEST) return answer(index, ErrorCode.NONE, log.logEndOffset(), -1, epoch);
    if (timestamp === EARLIEST)
      return answer(index, ErrorCode.NONE, log.logStartOffset(), -1, epoch);
    if (timestamp < 0) return answer(index, ErrorCode.UNSUPPORTED_VERSION);
    try {
      const found = await log.offsetForTimestamp(timestamp);
      return found
        ? answer(index, ErrorCode.NONE, found.offset, found.timestamp, epoch)
        : answer(index, ErrorCode.NONE);
    } catch (err) {
      return answer(index, storageErrorCode(err, broker.partitions.exists(partition.topic, index)));
    }
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
