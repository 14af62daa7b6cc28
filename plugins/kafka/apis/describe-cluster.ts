/** DescribeCluster: the cluster id and the brokers clients may use. */
import { AUTHORIZED_OPERATIONS_OMITTED, type KafkaBrokerContext } from '../broker-context.js';
import {
  ApiKey,
  ErrorCode,
  type DescribeClusterRequest,
  type DescribeClusterResponse,
} from '../protocol/index.js';
import type { ApiHandler, RequestContext } from './api-handler.js';

const ENDPOINT_BROKERS = 1;

export function describeClusterHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.DescribeCluster> {
  return {
    apiKey: ApiKey.DescribeCluster,
    minVersion: 0,
    maxVersion: 1,
    async handle(
      request: DescribeClusterRequest,
      context: RequestContext,
    ): Promise<DescribeClusterResponse> {
      const listener = broker.config.advertisedListeners[context.listenerIndex];
      const base = {
        throttleTimeMs: 0,
        endpointType: request.endpointType ?? ENDPOINT_BROKERS,
        clusterId: broker.clusterId,
        controllerId: broker.brokerId,
        clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      };
      if ((request.endpointType ?? ENDPOINT_BROKERS) !== ENDPOINT_BROKERS) {
        return {
          ...base,
          errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
          errorMessage: 'only broker endpoints exist',
          brokers: [],
        };
      }
      return {
        ...base,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        brokers: [
          { brokerId: broker.brokerId, host: listener.host, port: listener.port, rack: null },
        ],
      };
    },
  };
}
