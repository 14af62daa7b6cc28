/**
 * FindCoordinator, single keys (v0-3) and batched keys (v4+). A group's coordinator is the
 * broker that owns its __consumer_offsets partition, abs(hashCode(groupId)) % partitions, as in
 * Kafka. Transaction keys get a clear, non-retriable refusal until transactions exist.
 *
 * Each group this broker answers for (without error) is recorded in the group-id mapping for the
 * client (its host and client id) before the answer goes out: the client's fetches, on whichever
 * broker, are then labelled with the group. The write is bounded (groupIdWriteTimeoutMs) and its
 * failure never fails the answer.
 */
import type { KafkaBrokerContext } from '../broker-context.js';
import { endpointOf } from '../broker-endpoints.js';
import { offsetsPartitionFor } from '../coordinator/placement.js';
import {
  ApiKey,
  ErrorCode,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
} from '../protocol/index.js';
import type { ClientKey } from '../group-mapping/types.js';
import type { ApiHandler, RequestContext } from './api-handler.js';

const KEY_TYPE_GROUP = 0;
const KEY_TYPE_TRANSACTION = 1;

interface Answer {
  key: string;
  nodeId: number;
  host: string;
  port: number;
  errorCode: number;
  errorMessage: string | null;
}

/** Where the groups a FindCoordinator was answered for are recorded (the group-id mapping). */
export interface FindCoordinatorRecorder {
  /** Resolves within its bound, never rejects. */
  findCoordinatorAnswered(
    client: ClientKey,
    groupIds: readonly string[],
    connectionId: number,
  ): Promise<void>;
}

export function findCoordinatorHandler(
  broker: KafkaBrokerContext,
  mapping?: FindCoordinatorRecorder,
): ApiHandler<typeof ApiKey.FindCoordinator> {
  const { cluster } = broker.host;

  function locate(key: string, keyType: number, context: RequestContext): Answer {
    const refuse = (errorCode: number, errorMessage: string): Answer => ({
      key,
      nodeId: -1,
      host: '',
      port: -1,
      errorCode,
      errorMessage,
    });
    if (keyType === KEY_TYPE_TRANSACTION) {
      return refuse(ErrorCode.INVALID_REQUEST, 'transactions are not supported by this broker');
    }
    if (keyType !== KEY_TYPE_GROUP)
      return refuse(ErrorCode.INVALID_REQUEST, `unknown key type ${keyType}`);
    if (key === '') return refuse(ErrorCode.INVALID_REQUEST, 'the group id must not be empty');
    const offsetsTopic = broker.topics.get(broker.offsetsTopicName);
    const owner =
      offsetsTopic &&
      cluster.ownerOf({
        topic: offsetsTopic.name,
        partition: offsetsPartitionFor(key, offsetsTopic.partitions),
      });
    const info = owner ? cluster.broker(owner.brokerId) : undefined;
    const endpoint = info ? endpointOf(info, context.listenerIndex) : null;
    // No owner yet (it just moved, or is loading elsewhere): retriable, the client asks again.
    if (!endpoint) return refuse(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'the coordinator is moving');
    return {
      key,
      nodeId: endpoint.brokerId,
      host: endpoint.host,
      port: endpoint.port,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
    };
  }

  return {
    apiKey: ApiKey.FindCoordinator,
    minVersion: 0,
    maxVersion: 6,
    async handle(
      request: FindCoordinatorRequest,
      context: RequestContext,
    ): Promise<FindCoordinatorResponse> {
      const keyType = request.keyType ?? KEY_TYPE_GROUP;
      const keys = context.apiVersion >= 4 ? (request.coordinatorKeys ?? []) : [request.key ?? ''];
      const answers = keys.map((key) => locate(key, keyType, context));
      if (mapping && keyType === KEY_TYPE_GROUP) {
        const groupIds = answers.filter((a) => a.errorCode === ErrorCode.NONE).map((a) => a.key);
        const client = { clientHost: context.clientHost, clientId: context.clientId ?? '' };
        await mapping.findCoordinatorAnswered(client, [...new Set(groupIds)], context.connectionId);
      }
      if (context.apiVersion >= 4) return { throttleTimeMs: 0, coordinators: answers };
      const { key: _key, ...single } = answers[0];
      return { throttleTimeMs: 0, ...single };
    },
  };
}
