/** DeleteTopics: by name (v0-5) or by name or topic id (v6+, one of the two). */
import type { TopicMetadata } from '../../../src/api/index.js';
import type { KafkaBrokerContext } from '../broker-context.js';
import {
  ApiKey,
  ErrorCode,
  ZERO_UUID,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
} from '../protocol/index.js';
import type { ApiHandler } from './api-handler.js';

type Result = DeleteTopicsResponse['responses'][number];

export function deleteTopicsHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.DeleteTopics> {
  async function deleteOne(name: string | null, topicId: Buffer): Promise<Result> {
    const fail = (errorCode: number, errorMessage: string): Result => ({
      name,
      topicId,
      errorCode,
      errorMessage,
    });
    const byId = !topicId.equals(ZERO_UUID);
    if (name !== null && byId)
      return fail(ErrorCode.INVALID_REQUEST, 'give a topic name or a topic id, not both');
    let topic: TopicMetadata | undefined;
    if (name !== null) {
      topic = broker.topicService.find(name);
      if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no topic ${name}`);
    } else {
      topic = broker.topics.getById(topicId);
      if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_ID, 'no topic with that id');
    }
    if (broker.namer.isInternal(topic.name)) {
      return fail(
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        `${topic.name} is an internal topic and cannot be deleted`,
      );
    }
    await broker.topicService.delete(topic);
    return {
      name: name ?? broker.namer.kafkaNameOf(topic.name),
      topicId: topic.id,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
    };
  }

  return {
    apiKey: ApiKey.DeleteTopics,
    minVersion: 1,
    maxVersion: 6,
    async handle(request: DeleteTopicsRequest): Promise<DeleteTopicsResponse> {
      const targets =
        request.topics && request.topics.length > 0
          ? request.topics.map((t) => ({ name: t.name ?? null, topicId: t.topicId ?? ZERO_UUID }))
          : (request.topicNames ?? []).map((name) => ({ name, topicId: ZERO_UUID }));
      const responses: Result[] = [];
      for (const t of targets) responses.push(await deleteOne(t.name, t.topicId));
      return { throttleTimeMs: 0, responses };
    },
  };
}
