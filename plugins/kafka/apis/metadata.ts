/** Metadata: brokers, and topics with their partitions, leaders and topic ids. */
import type { TopicMetadata } from '../../../src/api/index.js';
import type { KafkaBrokerContext } from '../broker-context.js';
import {
  ApiKey,
  ErrorCode,
  ZERO_UUID,
  type MetadataRequest,
  type MetadataResponse,
} from '../protocol/index.js';
import type { TopicService } from '../topics/topic-service.js';
import type { ApiHandler, RequestContext } from './api-handler.js';

type TopicEntry = MetadataResponse['topics'][number];

export function metadataHandler(
  broker: KafkaBrokerContext,
  topicService: TopicService,
): ApiHandler<typeof ApiKey.Metadata> {
  const describe = (name: string, topic: TopicMetadata): TopicEntry => ({
    errorCode: ErrorCode.NONE,
    name,
    topicId: topic.id,
    isInternal: false,
    partitions: Array.from({ length: topic.partitions }, (_, partitionIndex) => ({
      errorCode: ErrorCode.NONE,
      partitionIndex,
      leaderId: broker.brokerId,
      leaderEpoch: 0,
      replicaNodes: [broker.brokerId],
      isrNodes: [broker.brokerId],
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: -2147483648,
  });
  const failed = (name: string | null, errorCode: number, topicId = ZERO_UUID): TopicEntry => ({
    errorCode,
    name,
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: -2147483648,
  });

  return {
    apiKey: ApiKey.Metadata,
    minVersion: 0,
    maxVersion: 12,
    async handle(request: MetadataRequest, context: RequestContext): Promise<MetadataResponse> {
      let topics: TopicEntry[];
      // v0 used an empty list for "all topics"; v1+ uses null.
      const all =
        request.topics === null || (context.apiVersion === 0 && request.topics.length === 0);
      if (all) {
        topics = broker.topics.list().map((t) => describe(broker.namer.kafkaNameOf(t.name), t));
      } else {
        topics = await Promise.all(
          (request.topics ?? []).map(async (requested): Promise<TopicEntry> => {
            if (requested.name === null || requested.name === undefined) {
              const byId = broker.topics.getById(requested.topicId ?? ZERO_UUID);
              return byId
                ? describe(broker.namer.kafkaNameOf(byId.name), byId)
                : failed(null, ErrorCode.UNKNOWN_TOPIC_ID, requested.topicId);
            }
            const name = broker.namer.parse(requested.name);
            if (!name) return failed(requested.name, ErrorCode.INVALID_TOPIC_EXCEPTION);
            const topic = await topicService.getOrAutoCreate(
              name,
              request.allowAutoTopicCreation ?? true,
            );
            return topic
              ? describe(requested.name, topic)
              : failed(requested.name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
          }),
        );
      }
      const listener = broker.config.advertisedListeners[0];
      return {
        throttleTimeMs: 0,
        brokers: [
          { nodeId: broker.brokerId, host: listener.host, port: listener.port, rack: null },
        ],
        clusterId: broker.clusterId,
        controllerId: broker.brokerId,
        topics,
        clusterAuthorizedOperations: -2147483648,
      };
    },
  };
}
