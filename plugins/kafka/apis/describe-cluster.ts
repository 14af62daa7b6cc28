/** DescribeCluster: the cluster id and the brokers clients may use. */
import type { KafkaBrokerContext } from '../broker-context.js';
import {
  ApiKey,
  ErrorCode,
  type DescribeClusterRequest,
  type DescribeClusterResponse,
} from '../protocol/index.js';
import type { ApiHandler } from './api-handler.js';

const ENDPOINT_BROKERS = 1;

export function describeClusterHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.DescribeCluster> {
  return {
    apiKey: ApiKey.DescribeCluster,
    minVersion: 0,
    maxVersion: 1,
    async handle(request: DescribeClusterRequest): Promise<DescribeClusterResponse> {
      const listener = broker.config.advertisedListeners[0];
      const base = {
        throttleTimeMs: 0,
        endpointType: request.endpointType ?? ENDPOINT_BROKERS,
        clusterId: broker.clusterId,
        controllerId: broker.brokerId,
        clusterAuthorizedOperations: -2147483648,
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
