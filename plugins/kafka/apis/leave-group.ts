/** LeaveGroup: one member by id (v0-2) or a batch by id or instance id (v3+, KIP-345). */
import type { KafkaBrokerContext } from '../broker-context.js';
import {
  ApiKey,
  ErrorCode,
  type LeaveGroupRequest,
  type LeaveGroupResponse,
} from '../protocol/index.js';
import type { ApiHandler, RequestContext } from './api-handler.js';

const FIRST_BATCH_VERSION = 3;

export function leaveGroupHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.LeaveGroup> {
  return {
    apiKey: ApiKey.LeaveGroup,
    minVersion: 0,
    maxVersion: 5,
    async handle(request: LeaveGroupRequest, context: RequestContext): Promise<LeaveGroupResponse> {
      const batch = context.apiVersion >= FIRST_BATCH_VERSION;
      const members = batch
        ? (request.members ?? []).map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId ?? null,
            reason: m.reason ?? null,
          }))
        : [{ memberId: request.memberId ?? '', groupInstanceId: null, reason: null }];
      const result = await broker.coordinator.leaveGroup({ groupId: request.groupId, members });
      if (batch) return { throttleTimeMs: 0, errorCode: result.errorCode, members: result.members };
      // v0-2 carry one member: its error is the answer.
      const errorCode =
        result.errorCode !== ErrorCode.NONE
          ? result.errorCode
          : (result.members[0]?.errorCode ?? ErrorCode.NONE);
      return { throttleTimeMs: 0, errorCode, members: [] };
    },
  };
}
