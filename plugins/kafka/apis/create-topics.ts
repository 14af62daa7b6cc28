/** CreateTopics: validates each topic independently and answers per topic, as Kafka does. */
import { TopicExistsError } from '../../../src/api/index.js';
import type { KafkaBrokerContext } from '../broker-context.js';
import {
  ApiKey,
  ErrorCode,
  ZERO_UUID,
  type CreateTopicsRequest,
  type CreateTopicsResponse,
} from '../protocol/index.js';
import {
  CONFIG_SOURCE_DEFAULT,
  CONFIG_SOURCE_TOPIC,
  effectiveTopicConfigs,
  validateTopicConfigs,
} from '../topics/topic-configs.js';
import type { ApiHandler } from './api-handler.js';

type Result = CreateTopicsResponse['topics'][number];
type Requested = CreateTopicsRequest['topics'][number];

export function createTopicsHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.CreateTopics> {
  const fail = (name: string, errorCode: number, errorMessage: string): Result => ({
    name,
    topicId: ZERO_UUID,
    errorCode,
    errorMessage,
    numPartitions: -1,
    replicationFactor: -1,
    configs: null,
  });

  const effectiveConfigs = (overrides: Record<string, string>) =>
    effectiveTopicConfigs(overrides, broker.host.hostConfig, broker.config.maxMessageSize).map(
      (c) => ({
        name: c.name,
        value: c.value,
        readOnly: false,
        configSource: c.isDefault ? CONFIG_SOURCE_DEFAULT : CONFIG_SOURCE_TOPIC,
        isSensitive: false,
      }),
    );

  async function createOne(
    t: Requested,
    validateOnly: boolean,
    duplicate: boolean,
  ): Promise<Result> {
    if (duplicate)
      return fail(
        t.name,
        ErrorCode.INVALID_REQUEST,
        `topic ${t.name} appears more than once in the request`,
      );
    const name = broker.namer.parse(t.name);
    if (!name)
      return fail(t.name, ErrorCode.INVALID_TOPIC_EXCEPTION, `${t.name} is not a valid topic name`);
    if (broker.topics.get(name.fullName)) {
      return fail(t.name, ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${t.name} already exists`);
    }
    const hasAssignments = t.assignments.length > 0;
    if (hasAssignments && t.numPartitions !== -1) {
      return fail(
        t.name,
        ErrorCode.INVALID_REQUEST,
        'give either numPartitions or assignments, not both',
      );
    }
    const partitions = hasAssignments
      ? t.assignments.length
      : t.numPartitions === -1
        ? broker.config.defaultNumPartitions
        : t.numPartitions;
    if (partitions < 1)
      return fail(t.name, ErrorCode.INVALID_PARTITIONS, 'number of partitions must be at least 1');
    if (t.replicationFactor !== -1 && t.replicationFactor < 1 && !hasAssignments) {
      return fail(
        t.name,
        ErrorCode.INVALID_REPLICATION_FACTOR,
        'replication factor must be at least 1',
      );
    }
    const configs: Record<string, string> = {};
    for (const c of t.configs) if (c.value !== null) configs[c.name] = c.value;
    const problem = validateTopicConfigs(configs);
    if (problem) return fail(t.name, ErrorCode.INVALID_CONFIG, problem);

    let topicId = ZERO_UUID;
    if (!validateOnly) {
      try {
        topicId = (await broker.topics.create(name.fullName, partitions, configs)).id;
      } catch (err) {
        if (err instanceof TopicExistsError)
          return fail(t.name, ErrorCode.TOPIC_ALREADY_EXISTS, err.message);
        throw err;
      }
    }
    return {
      name: t.name,
      topicId,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      numPartitions: partitions,
      // The message store, not broker replicas, keeps data durable: one replica as Kafka sees it.
      replicationFactor: 1,
      configs: effectiveConfigs(configs),
    };
  }

  return {
    apiKey: ApiKey.CreateTopics,
    minVersion: 2,
    maxVersion: 7,
    async handle(request: CreateTopicsRequest): Promise<CreateTopicsResponse> {
      const counts = new Map<string, number>();
      for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
      const topics: Result[] = [];
      for (const t of request.topics) {
        topics.push(
          await createOne(t, request.validateOnly ?? false, (counts.get(t.name) ?? 0) > 1),
        );
      }
      return { throttleTimeMs: 0, topics };
    },
  };
}
