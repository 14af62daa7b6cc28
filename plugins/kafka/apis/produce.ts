/**
 * Produce: validates each partition's batch from its header (CRC, framing, size, idempotence)
 * and appends it as it came. No per-record work, no copy of the payload.
 */
import { InvalidBatchError } from '../../../src/api/index.js';
import type { KafkaBrokerContext } from '../broker-context.js';
import type { PartitionManager } from '../partitions/partition-manager.js';
import { ApiKey, ErrorCode, type ProduceRequest, type ProduceResponse } from '../protocol/index.js';
import { validateRecordSet } from '../records/index.js';
import type { ApiHandler, RequestContext } from './api-handler.js';

type TopicResult = ProduceResponse['responses'][number];
type PartitionResult = TopicResult['partitionResponses'][number];

export function produceHandler(
  broker: KafkaBrokerContext,
  partitions: PartitionManager,
): ApiHandler<typeof ApiKey.Produce> {
  const result = (
    index: number,
    errorCode: number,
    errorMessage: string | null = null,
    baseOffset = -1,
    logStartOffset = -1,
  ): PartitionResult => ({
    index,
    errorCode,
    baseOffset,
    logAppendTimeMs: -1,
    logStartOffset,
    recordErrors: [],
    errorMessage,
  });

  async function producePartition(
    topicName: string,
    index: number,
    records: Buffer | null,
    version: number,
    context: RequestContext,
  ): Promise<PartitionResult> {
    const name = broker.namer.parse(topicName);
    if (!name)
      return result(
        index,
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        `${topicName} is not a valid topic name`,
      );
    const topic = broker.topics.get(name.fullName);
    const opening = topic ? partitions.get(name.fullName, index) : null;
    if (!topic || !opening) return result(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (!records) return result(index, ErrorCode.INVALID_RECORD, 'no records');

    const maxMessageBytes = Number(
      topic.configs['max.message.bytes'] ?? broker.config.maxMessageSize,
    );
    const validation = validateRecordSet(records, { produceVersion: version, maxMessageBytes });
    if (!validation.ok) return result(index, validation.errorCode, validation.message);
    const [batch] = validation.recordSet.batches;
    if (batch.isTransactional) {
      return result(
        index,
        ErrorCode.INVALID_TXN_STATE,
        'transactions are not supported by this broker',
      );
    }
    try {
      const outcome = await partitions.append(await opening, records, batch);
      if (outcome.kind === 'rejected') return result(index, outcome.errorCode);
      return result(index, ErrorCode.NONE, null, outcome.baseOffset, outcome.logStartOffset);
    } catch (err) {
      if (err instanceof InvalidBatchError)
        return result(index, ErrorCode.CORRUPT_MESSAGE, err.message);
      context.logger.error({ err, topic: name.fullName, partition: index }, 'append failed');
      return result(index, ErrorCode.KAFKA_STORAGE_ERROR, 'the message store failed to append');
    }
  }

  return {
    apiKey: ApiKey.Produce,
    // v3 is the first version that carries magic v2 batches only.
    minVersion: 3,
    maxVersion: 11,
    async handle(
      request: ProduceRequest,
      context: RequestContext,
    ): Promise<ProduceResponse | null> {
      const { acks } = request;
      const responses: TopicResult[] = await Promise.all(
        request.topicData.map(async (t) => ({
          name: t.name,
          partitionResponses: await Promise.all(
            t.partitionData.map((p) =>
              acks !== 0 && acks !== 1 && acks !== -1
                ? result(p.index, ErrorCode.INVALID_REQUIRED_ACKS)
                : producePartition(t.name, p.index, p.records, context.apiVersion, context),
            ),
          ),
        })),
      );
      // acks=0: the client reads no answer; the appends above still happened in order.
      if (acks === 0) return null;
      return { responses, throttleTimeMs: 0 };
    },
  };
}
