/** SyncGroup v0-5: the leader's assignment in, each member's share out. */
import type { KafkaBrokerContext } from '../broker-context.js';
import { ApiKey, type SyncGroupRequest, type SyncGroupResponse } from '../protocol/index.js';
import type { ApiHandler } from './api-handler.js';

export function syncGroupHandler(broker: KafkaBrokerContext): ApiHandler<typeof ApiKey.SyncGroup> {
  return {
    apiKey: ApiKey.SyncGroup,
    minVersion: 0,
    maxVersion: 5,
    async handle(request: SyncGroupRequest): Promise<SyncGroupResponse> {
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
