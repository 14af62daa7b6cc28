/**
 * Produce: validates each partition's batch from its header (CRC, framing, size, idempotence)
 * and appends it as it came. No per-record work, no copy of the payload. Under acks=0 the
 * client reads no answer, so an error closes the connection instead, as Kafka does, and the
 * client refreshes its metadata.
 */
import type { KafkaBrokerContext } from '../broker-context.js';
import { ownedPartition, storageErrorCode } from '../partitions/partition-errors.js';
import { ApiKey, ErrorCode, type ProduceRequest, type ProduceResponse } from '../protocol/index.js';
import { validateRecordSet } from '../records/index.js';
import { CLOSE_CONNECTION, type ApiHandler, type RequestContext } from './api-handler.js';

/** The first Produce version whose record sets are v2 batches. */
const FIRST_VERSION_WITH_BATCHES = 3;

type TopicResult = ProduceResponse['responses'][number];
type PartitionResult = TopicResult['partitionResponses'][number];

function result(
  index: number,
  errorCode: number,
  errorMessage: string | null = null,
  baseOffset = -1,
  logStartOffset = -1,
): PartitionResult {
  return {
    index,
    errorCode,
    baseOffset,
    logAppendTimeMs: -1,
    logStartOffset,
    recordErrors: [],
    errorMessage,
  };
}

export function produceHandler(broker: KafkaBrokerContext): ApiHandler<typeof ApiKey.Produce> {
  const { partitions } = broker;

  async function producePartition(
    topicName: string,
    index: number,
    records: Buffer | null,
    context: RequestContext,
  ): Promise<PartitionResult> {
    const name = broker.namer.parse(topicName);
    if (!name)
      return result(
        index,
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        `${topicName} is not a valid topic name`,
      );
    if (broker.namer.isInternal(name.fullName)) {
      return result(
        index,
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        `cannot append to internal topic ${topicName}`,
      );
    }
    if (!records) return result(index, ErrorCode.INVALID_RECORD, 'no records');
    if (context.apiVersion < FIRST_VERSION_WITH_BATCHES) {
      return result(
        index,
        ErrorCode.UNSUPPORTED_VERSION,
        'message formats before v2 are not supported',
      );
    }
    const topic = broker.topics.get(name.fullName);
    const maxMessageBytes = Number(
      topic?.configs['max.message.bytes'] ?? broker.config.maxMessageSize,
    );
    const validation = validateRecordSet(records, {
      produceVersion: context.apiVersion,
      maxMessageBytes,
    });
    if (!validation.ok) return result(index, validation.errorCode, validation.message);
    const [batch] = validation.recordSet.batches;
    if (batch.isTransactional) {
      return result(
        index,
        ErrorCode.INVALID_TXN_STATE,
        'transactions are not supported by this broker',
      );
    }
    const partition = await ownedPartition(
      partitions,
      broker.host.cluster,
      topic?.name,
      index,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    if (typeof partition === 'number') return result(index, partition);
    try {
      const outcome = await partitions.append(partition, records, batch);
      if (outcome.kind === 'rejected') return result(index, outcome.errorCode);
      // Counted once stored: a duplicate was not appended again.
      if (outcome.kind === 'appended')
        broker.stats.produce.appended(partition.topic, index, batch.recordCount, records.length);
      return result(index, ErrorCode.NONE, null, outcome.baseOffset, outcome.logStartOffset);
    } catch (err) {
      // Logged by the partition manager.
      return result(index, storageErrorCode(err, partitions.exists(partition.topic, index)));
    }
  }

  return {
    apiKey: ApiKey.Produce,
    // v0-2 carry only the pre-v2 message formats, which are refused with UNSUPPORTED_VERSION;
    // they are advertised because librdkafka enables gzip, snappy and lz4 only for brokers
    // whose Produce range includes v0, as Kafka 3.x's does.
    minVersion: 0,
    maxVersion: 11,
    async handle(request: ProduceRequest, context: RequestContext) {
      const { acks } = request;
      const validAcks = acks === 0 || acks === 1 || acks === -1;
      const responses: TopicResult[] = await Promise.all(
        request.topicData.map(async (t) => ({
          name: t.name,
          partitionResponses: await Promise.all(
            t.partitionData.map((p) =>
              validAcks
                ? producePartition(t.name, p.index, p.records, context)
                : result(p.index, ErrorCode.INVALID_REQUIRED_ACKS),
            ),
          ),
        })),
      );
      if (acks === 0) {
        const failed = responses.some((t) =>
          t.partitionResponses.some((p) => p.errorCode !== ErrorCode.NONE),
        );
        return failed ? CLOSE_CONNECTION : null;
      }
      return { responses, throttleTimeMs: 0 };
    },
  };
}
