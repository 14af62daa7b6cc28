/** CreatePartitions: raises a topic's partition count; never lowers it. */
import type { KafkaBrokerContext } from '../broker-context.js';
import {
  ApiKey,
  ErrorCode,
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
} from '../protocol/index.js';
import type { ApiHandler } from './api-handler.js';

type Result = CreatePartitionsResponse['results'][number];

export function createPartitionsHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.CreatePartitions> {
  async function grow(name: string, count: number, validateOnly: boolean): Promise<Result> {
    const topic = broker.topicService.find(name);
    if (!topic) {
      return {
        name,
        errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: `no topic ${name}`,
      };
    }
    if (broker.namer.isInternal(topic.name)) {
      // Moving groups between partitions would strand their offsets.
      return {
        name,
        errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
        errorMessage: `${name} is an internal topic`,
      };
    }
    if (count <= topic.partitions) {
      const errorMessage = `topic ${name} has ${topic.partitions} partitions; the new count must be larger`;
      return { name, errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage };
    }
    if (!validateOnly) await broker.topics.setPartitionCount(topic.name, count);
    return { name, errorCode: ErrorCode.NONE, errorMessage: null };
  }

  return {
    apiKey: ApiKey.CreatePartitions,
    minVersion: 0,
    maxVersion: 3,
    async handle(request: CreatePartitionsRequest): Promise<CreatePartitionsResponse> {
      const results: Result[] = [];
      for (const t of request.topics)
        results.push(await grow(t.name, t.count, request.validateOnly));
      return { throttleTimeMs: 0, results };
    },
  };
}
