/** SyncGroup v0-5: the leader's assignment in, each member's share out. */
import type { KafkaBrokerContext } from '../broker-context.js';
import {
  ApiKey,
  ErrorCode,
  type SyncGroupRequest,
  type SyncGroupResponse,
} from '../protocol/index.js';
import type { ApiHandler, RequestContext } from './api-handler.js';

/** From v5 the client must say which protocol it synced for (KIP-559). */
const FIRST_VERSION_NAMING_PROTOCOL = 5;

export function syncGroupHandler(broker: KafkaBrokerContext): ApiHandler<typeof ApiKey.SyncGroup> {
  return {
    apiKey: ApiKey.SyncGroup,
    minVersion: 0,
    maxVersion: 5,
    async handle(request: SyncGroupRequest, context: RequestContext): Promise<SyncGroupResponse> {
      if (
        context.apiVersion >= FIRST_VERSION_NAMING_PROTOCOL &&
        (request.protocolType == null || request.protocolName == null)
      ) {
        return {
          throttleTimeMs: 0,
          errorCode: ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
          protocolType: null,
          protocolName: null,
          assignment: Buffer.alloc(0),
        };
      }
      const result = await broker.coordinator.syncGroup({
        groupId: request.groupId,
        generationId: request.generationId,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId ?? null,
        protocolType: request.protocolType ?? null,
        protocolName: request.protocolName ?? null,
        assignments: request.assignments.map((a) => ({
          memberId: a.memberId,
          assignment: a.assignment,
        })),
      });
      return { throttleTimeMs: 0, ...result };
    },
  };
}
