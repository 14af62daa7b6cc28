/** Metadata: brokers, and topics with their partitions, leaders and topic ids. */
import type { TopicMetadata } from '../../../src/api/index.js';
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  LEADER_EPOCH,
  type KafkaBrokerContext,
} from '../broker-context.js';
import {
  ApiKey,
  ErrorCode,
  ZERO_UUID,
  type MetadataRequest,
  type MetadataResponse,
} from '../protocol/index.js';
import type { ApiHandler, RequestContext } from './api-handler.js';

type TopicEntry = MetadataResponse['topics'][number];

export function metadataHandler(broker: KafkaBrokerContext): ApiHandler<typeof ApiKey.Metadata> {
  const describe = (name: string, topic: TopicMetadata): TopicEntry => ({
    errorCode: ErrorCode.NONE,
    name,
    topicId: topic.id,
    isInternal: broker.namer.isInternal(topic.name),
    partitions: Array.from({ length: topic.partitions }, (_, partitionIndex) => ({
      errorCode: ErrorCode.NONE,
      partitionIndex,
      leaderId: broker.brokerId,
      leaderEpoch: LEADER_EPOCH,
      replicaNodes: [broker.brokerId],
      isrNodes: [broker.brokerId],
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  });
  const failed = (name: string | null, errorCode: number, topicId = ZERO_UUID): TopicEntry => ({
    errorCode,
    name,
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  });

  async function describeRequested(
    requested: MetadataRequest['topics'] & object,
    allowAutoCreation: boolean,
  ) {
    return Promise.all(
      requested.map(async (r): Promise<TopicEntry> => {
        if (r.name === null || r.name === undefined) {
          const byId = broker.topics.getById(r.topicId ?? ZERO_UUID);
          return byId
            ? describe(broker.namer.kafkaNameOf(byId.name), byId)
            : failed(null, ErrorCode.UNKNOWN_TOPIC_ID, r.topicId);
        }
        const name = broker.namer.parse(r.name);
        if (!name) return failed(r.name, ErrorCode.INVALID_TOPIC_EXCEPTION);
        const topic = await broker.topicService.getOrAutoCreate(name, allowAutoCreation);
        return topic
          ? describe(r.name, topic)
          : failed(r.name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      }),
    );
  }

  return {
    apiKey: ApiKey.Metadata,
    minVersion: 0,
    maxVersion: 12,
    async handle(request: MetadataRequest, context: RequestContext): Promise<MetadataResponse> {
      // v0 used an empty list for "all topics"; v1+ uses null.
      const all =
        request.topics === null || (context.apiVersion === 0 && request.topics.length === 0);
      const topics = all
        ? broker.topics.list().map((t) => describe(broker.namer.kafkaNameOf(t.name), t))
        : await describeRequested(request.topics ?? [], request.allowAutoTopicCreation ?? true);
      // Clients must reconnect through the listener they came in on.
      const listener = broker.config.advertisedListeners[context.listenerIndex];
      return {
        throttleTimeMs: 0,
        brokers: [
          { nodeId: broker.brokerId, host: listener.host, port: listener.port, rack: null },
        ],
        clusterId: broker.clusterId,
        controllerId: broker.brokerId,
        topics,
        clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      };
    },
  };
}
