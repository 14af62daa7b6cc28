/** Heartbeat v0-4. */
import type { KafkaBrokerContext } from '../broker-context.js';
import { ApiKey, type HeartbeatRequest, type HeartbeatResponse } from '../protocol/index.js';
import type { ApiHandler } from './api-handler.js';

export function heartbeatHandler(broker: KafkaBrokerContext): ApiHandler<typeof ApiKey.Heartbeat> {
  return {
    apiKey: ApiKey.Heartbeat,
    minVersion: 0,
    maxVersion: 4,
    async handle(request: HeartbeatRequest): Promise<HeartbeatResponse> {
      const errorCode = await broker.coordinator.heartbeat({
        groupId: request.groupId,
        generationId: request.generationId,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId ?? null,
      });
      return { throttleTimeMs: 0, errorCode };
    },
  };
}
