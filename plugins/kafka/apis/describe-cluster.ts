/** DescribeCluster: the cluster id and the live brokers clients may use. */
import { AUTHORIZED_OPERATIONS_OMITTED, type KafkaBrokerContext } from '../broker-context.js';
import { controllerIdOf, liveEndpoints } from '../broker-endpoints.js';
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
  const { cluster } = broker.host;
  return {
    apiKey: ApiKey.DescribeCluster,
    minVersion: 0,
    maxVersion: 1,
    async handle(
      request: DescribeClusterRequest,
      context: RequestContext,
    ): Promise<DescribeClusterResponse> {
      const endpointType = request.endpointType ?? ENDPOINT_BROKERS;
      const base = {
        throttleTimeMs: 0,
        endpointType,
        clusterId: broker.clusterId,
        controllerId: controllerIdOf(cluster),
        clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
      };
      if (endpointType !== ENDPOINT_BROKERS) {
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
        brokers: liveEndpoints(cluster, context.listenerIndex).map((e) => ({
          brokerId: e.brokerId,
          host: e.host,
          port: e.port,
          rack: e.rack,
        })),
      };
    },
  };
}
