/**
 * OffsetForLeaderEpoch v0-4 (KIP-101, KIP-320): where a leader epoch ended, so that a client that
 * followed a change of leader can check its position (Java and librdkafka do). Epochs are the
 * ownership epochs; where each began is kept with the partition's epoch in the metadata store.
 */
import type { KafkaBrokerContext } from '../broker-context.js';
import { leaderEpochError, ownedPartition } from '../partitions/partition-errors.js';
import {
  ApiKey,
  ErrorCode,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
} from '../protocol/index.js';
import type { ApiHandler } from './api-handler.js';

type EpochEndOffset = OffsetForLeaderEpochResponse['topics'][number]['partitions'][number];

/** Kafka's answer for an epoch it cannot place. */
const UNDEFINED = -1;

/**
 * The end of `requested`: the start of the next epoch after it, as Kafka's leader-epoch cache
 * answers. The current epoch ends at the log end.
 */
export function endOfEpoch(
  history: { epoch: number; startOffset: number }[],
  current: number,
  logEndOffset: number,
  requested: number,
): { leaderEpoch: number; endOffset: number } {
  if (requested === UNDEFINED) return { leaderEpoch: UNDEFINED, endOffset: UNDEFINED };
  if (requested === current) return { leaderEpoch: current, endOffset: logEndOffset };
  const higher = history.find((e) => e.epoch > requested);
  if (!higher) return { leaderEpoch: UNDEFINED, endOffset: UNDEFINED };
  const floor = history.filter((e) => e.epoch <= requested).at(-1);
  return { leaderEpoch: floor?.epoch ?? requested, endOffset: higher.startOffset };
}

export function offsetForLeaderEpochHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.OffsetForLeaderEpoch> {
  const { cluster } = broker.host;

  async function lookup(
    topicName: string,
    index: number,
    currentLeaderEpoch: number,
    leaderEpoch: number,
  ): Promise<EpochEndOffset> {
    const fail = (errorCode: number): EpochEndOffset => ({
      errorCode,
      partition: index,
      leaderEpoch: UNDEFINED,
      endOffset: UNDEFINED,
    });
    const topic = broker.topicService.find(topicName);
    const partition = await ownedPartition(
      broker.partitions,
      cluster,
      topic?.name,
      index,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    if (typeof partition === 'number') return fail(partition);
    const epochError = leaderEpochError(currentLeaderEpoch, partition.epoch);
    if (epochError !== null) return fail(epochError);
    const history = (await cluster.epochHistory({ topic: partition.topic, partition: index })).sort(
      (a, b) => a.epoch - b.epoch,
    );
    const answer = endOfEpoch(history, partition.epoch, partition.log.logEndOffset(), leaderEpoch);
    return { errorCode: ErrorCode.NONE, partition: index, ...answer };
  }

  return {
    apiKey: ApiKey.OffsetForLeaderEpoch,
    minVersion: 0,
    maxVersion: 4,
    async handle(request: OffsetForLeaderEpochRequest): Promise<OffsetForLeaderEpochResponse> {
      return {
        throttleTimeMs: 0,
        topics: await Promise.all(
          request.topics.map(async (t) => ({
            topic: t.topic,
            partitions: await Promise.all(
              t.partitions.map((p) =>
                lookup(t.topic, p.partition, p.currentLeaderEpoch ?? -1, p.leaderEpoch),
              ),
            ),
          })),
        ),
      };
    },
  };
}
