/** JoinGroup v0-9: version differences resolved here, semantics in the coordinator. */
import type { KafkaBrokerContext } from '../broker-context.js';
import { ApiKey, type JoinGroupRequest, type JoinGroupResponse } from '../protocol/index.js';
import type { ApiHandler, RequestContext } from './api-handler.js';

/** From v4 a member without an id is first given one (KIP-394). */
const FIRST_VERSION_REQUIRING_MEMBER_ID = 4;

export function joinGroupHandler(broker: KafkaBrokerContext): ApiHandler<typeof ApiKey.JoinGroup> {
  return {
    apiKey: ApiKey.JoinGroup,
    minVersion: 0,
    maxVersion: 9,
    async handle(request: JoinGroupRequest, context: RequestContext): Promise<JoinGroupResponse> {
      const result = await broker.coordinator.joinGroup({
        groupId: request.groupId,
        memberId: request.memberId,
        groupInstanceId: request.groupInstanceId ?? null,
        protocolType: request.protocolType,
        protocols: request.protocols.map((p) => ({ name: p.name, metadata: p.metadata })),
        sessionTimeoutMs: request.sessionTimeoutMs,
        // v0 has no rebalance timeout: Kafka uses the session timeout.
        rebalanceTimeoutMs:
          context.apiVersion >= 1 ? (request.rebalanceTimeoutMs ?? -1) : request.sessionTimeoutMs,
        clientId: context.clientId ?? '',
        // Kafka records the host as Java's InetAddress.toString prints it ("/127.0.0.1"): that is
        // what DescribeGroups, kafka-consumer-groups.sh and __consumer_offsets readers show.
        clientHost: `/${context.clientHost}`,
        requireKnownMemberId: context.apiVersion >= FIRST_VERSION_REQUIRING_MEMBER_ID,
        reason: request.reason ?? null,
      });
      return {
        throttleTimeMs: 0,
        errorCode: result.errorCode,
        generationId: result.generationId,
        protocolType: result.protocolType,
        // Nullable only from v7; before that an unknown protocol is ''.
        protocolName: context.apiVersion >= 7 ? result.protocolName : (result.protocolName ?? ''),
        leader: result.leader,
        skipAssignment: false,
        memberId: result.memberId,
        members: result.members,
      };
    },
  };
}
