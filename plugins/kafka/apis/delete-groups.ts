/** DeleteGroups v0-2. */
import type { KafkaBrokerContext } from '../broker-context.js';
import { ApiKey, type DeleteGroupsRequest, type DeleteGroupsResponse } from '../protocol/index.js';
import type { ApiHandler } from './api-handler.js';

export function deleteGroupsHandler(
  broker: KafkaBrokerContext,
): ApiHandler<typeof ApiKey.DeleteGroups> {
  return {
    apiKey: ApiKey.DeleteGroups,
    minVersion: 0,
    maxVersion: 2,
    async handle(request: DeleteGroupsRequest): Promise<DeleteGroupsResponse> {
      return {
        throttleTimeMs: 0,
        // One answer per group, however often the request names it (Kafka keys them by id).
        results: await broker.coordinator.deleteGroups([...new Set(request.groupsNames)]),
      };
    },
  };
}
