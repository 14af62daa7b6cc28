/**
 * ListGroups v0-5, with the state filter (v4+) and the group type filter (v5+, KIP-848: every
 * group here is a "classic" group).
 */
import type { KafkaBrokerContext } from '../broker-context.js';
import { CLASSIC_GROUP_TYPE } from '../coordinator/types.js';
import {
  ApiKey,
  ErrorCode,
  type ListGroupsRequest,
  type ListGroupsResponse,
} from '../protocol/index.js';
import type { ApiHandler } from './api-handler.js';

export function listGroupsHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.ListGroups> {
  return {
    apiKey: ApiKey.ListGroups,
    minVersion: 0,
    maxVersion: 5,
    async handle(request: ListGroupsRequest): Promise<ListGroupsResponse> {
      const types = (request.typesFilter ?? []).map((t) => t.toLowerCase());
      if (types.length > 0 && !types.includes(CLASSIC_GROUP_TYPE)) {
        return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups: [] };
      }
      const { errorCode, groups } = broker.coordinator.listGroups(request.statesFilter ?? []);
      return {
        throttleTimeMs: 0,
        errorCode,
        groups: groups.map((g) => ({
          groupId: g.groupId,
          protocolType: g.protocolType,
          groupState: g.state,
          groupType: CLASSIC_GROUP_TYPE,
        })),
      };
    },
  };
}
