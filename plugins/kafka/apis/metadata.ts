/**
 * Metadata: the live brokers, and topics with their partitions, each led by the broker that
 * owns it at its ownership epoch (a partition without an owner yet: LEADER_NOT_AVAILABLE).
 */
import type { TopicMetadata } from '../../../src/api/index.js';
import { AUTHORIZED_OPERATIONS_OMITTED, type KafkaBrokerContext } from '../broker-context.js';
import { controllerIdOf, liveEndpoints } from '../broker-endpoints.js';
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
  const { cluster } = broker.host;

  const describe = (name: string, topic: TopicMetadata): TopicEntry => ({
    errorCode: ErrorCode.NONE,
    name,
    topicId: topic.id,
    isInternal: broker.namer.isInternal(topic.name),
    partitions: Array.from({ length: topic.partitions }, (_, partitionIndex) => {
      const known = cluster.ownerOf({ topic: topic.name, partition: partitionIndex });
      // An owner that has already left (it is releasing) is no leader a client could reach.
      const owner = known && cluster.broker(known.brokerId) ? known : null;
      const leader = owner?.brokerId ?? -1;
      return {
        errorCode: owner ? ErrorCode.NONE : ErrorCode.LEADER_NOT_AVAILABLE,
        partitionIndex,
        leaderId: leader,
        leaderEpoch: owner?.epoch ?? -1,
        // The message store keeps data durable; Kafka clients see one replica, the leader.
        replicaNodes: owner ? [leader] : [],
        isrNodes: owner ? [leader] : [],
        offlineReplicas: [],
      };
    }),
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
    requested: NonNullable<MetadataRequest['topics']>,
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
      return {
        throttleTimeMs: 0,
        // Clients must reconnect through the listener they came in on.
        brokers: liveEndpoints(cluster, context.listenerIndex).map((e) => ({
          nodeId: e.brokerId,
          host: e.host,
          port: e.port,
          rack: e.rack,
        })),
        clusterId: broker.clusterId,
        controllerId: controllerIdOf(cluster),
        topics,
        clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      };
    },
  };
}
