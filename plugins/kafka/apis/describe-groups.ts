/** DescribeGroups v0-5. */
import { AUTHORIZED_OPERATIONS_OMITTED, type KafkaBrokerContext } from '../broker-context.js';
import {
  ApiKey,
  ErrorCode,
  type DescribeGroupsRequest,
  type DescribeGroupsResponse,
} from '../protocol/index.js';
import type { ApiHandler } from './api-handler.js';

export function describeGroupsHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.DescribeGroups> {
  return {
    apiKey: ApiKey.DescribeGroups,
    minVersion: 0,
    maxVersion: 5,
    async handle(request: DescribeGroupsRequest): Promise<DescribeGroupsResponse> {
      return {
        throttleTimeMs: 0,
        groups: broker.coordinator.describeGroups(request.groups).map((g) => ({
          errorCode: g.errorCode,
          groupId: g.groupId,
          // Kafka leaves the state blank when it could not describe the group.
          groupState: g.errorCode === ErrorCode.NONE ? g.state : '',
          protocolType: g.protocolType,
          protocolData: g.protocolData,
          members: g.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: m.metadata,
            memberAssignment: m.assignment,
          })),
          authorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
        })),
      };
    },
  };
}
