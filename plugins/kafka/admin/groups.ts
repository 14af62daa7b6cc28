/**
 * GET /admin/v1/groups: every group of the cluster, each listed by its coordinator (every live
 * broker is asked for the groups it coordinates, and the lists are merged); GET
 * /admin/v1/groups/<group>: one group in full, from its coordinator (asked on its HTTP port
 * when it is another broker), with committed offsets and the coordinator's latest lag sample.
 */
import { HttpError, PeerError, type HttpRoutes } from '../../../src/api/index.js';
import type { KafkaBrokerContext } from '../broker-context.js';
import { assignedPartitions, CONSUMER_PROTOCOL_TYPE } from '../coordinator/consumer-protocol.js';
import { offsetsPartitionFor } from '../coordinator/placement.js';
import type { GroupDetail, GroupState, MemberDetail } from '../coordinator/types.js';
import type { GroupLagView } from '../lag/types.js';
import { ErrorCode } from '../protocol/index.js';
import { iso, scopeOf, topicNames, type BrokerError, type TopicNames } from './answers.js';
import { askEveryBroker } from './fan-out.js';

export interface GroupSummary {
  groupId: string;
  coordinatorBrokerId: number;
  state: GroupState;
  /** Null for a group that only stores offsets (no member ever joined). */
  protocolType: string | null;
  /** The protocol (assignor) chosen at the last rebalance; null before the first. */
  protocol: string | null;
  memberCount: number;
}

/** One broker's part (`?scope=local`): the groups it coordinates. */
export interface LocalGroupsAnswer {
  brokerId: number;
  groups: GroupSummary[];
  /** __consumer_offsets partitions still loading: their groups are not listed yet. */
  loadingPartitions: number[];
}

export interface GroupsAnswer {
  answeredBy: number;
  groups: GroupSummary[];
  /** Brokers whose groups are missing from `groups`, and why. */
  errors: BrokerError[];
}

export interface AssignedTopic extends TopicNames {
  partitions: number[];
}

/** A member as the coordinator holds it, its assignment decoded. */
export type MemberEntry = Omit<MemberDetail, 'assignment'> & {
  /** Decoded from the consumer protocol's assignment; null for other protocols. */
  assignment: AssignedTopic[] | null;
};

export interface LagEntry {
  /** The committed offset the sample was taken against. */
  committedOffset: number;
  logEndOffset: number | null;
  /** Messages behind the log end; null when the partition's owner could not be asked. */
  messages: number | null;
  /** How old the first message not consumed is; 0 when caught up. */
  seconds: number | null;
  sampledAt: string;
}

export interface OffsetEntry extends TopicNames {
  partition: number;
  committedOffset: number;
  /** Null when the commit did not say (-1). */
  leaderEpoch: number | null;
  metadata: string;
  committedAt: string | null;
  /** Only for old clients that asked for a retention of their own. */
  expiresAt: string | null;
  /** The coordinator's latest lag sample for the partition; null before the first. */
  lag: LagEntry | null;
}

export interface GroupAnswer extends GroupSummary {
  answeredBy: number;
  generationId: number;
  leaderId: string | null;
  /** When the group entered its state. */
  stateSince: string | null;
  members: MemberEntry[];
  offsets: OffsetEntry[];
}

export function addGroupRoutes(
  routes: HttpRoutes,
  broker: KafkaBrokerContext,
  lag: GroupLagView,
): void {
  const { host, coordinator, namer, brokerId } = broker;
  const { cluster } = host;

  /** The live broker that owns the group's __consumer_offsets partition, as FindCoordinator says. */
  function coordinatorOf(groupId: string): number | null {
    const offsets = broker.topics.get(broker.offsetsTopicName);
    if (!offsets) return null;
    const partition = offsetsPartitionFor(groupId, offsets.partitions);
    const owner = cluster.ownerOf({ topic: offsets.name, partition });
    return owner && cluster.broker(owner.brokerId) ? owner.brokerId : null;
  }

  function summary(group: GroupDetail): GroupSummary {
    return {
      groupId: group.groupId,
      coordinatorBrokerId: brokerId,
      state: group.state,
      protocolType: group.protocolType,
      protocol: group.protocol,
      memberCount: group.members.length,
    };
  }

  function localGroups(): LocalGroupsAnswer {
    const listed = coordinator.listGroups([]);
    if (listed.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE) {
      throw new HttpError(503, `broker ${brokerId}: the coordinator is not available`);
    }
    const groups = listed.groups.flatMap(({ groupId }) => {
      const { group } = coordinator.inspectGroup(groupId);
      return group ? [summary(group)] : [];
    });
    return { brokerId, groups, loadingPartitions: coordinator.loadingPartitions() };
  }

  routes.get('/admin/v1/groups', async (request): Promise<LocalGroupsAnswer | GroupsAnswer> => {
    if (scopeOf(request) === 'local') return localGroups();
    const { answers, errors } = await askEveryBroker(
      host,
      '/admin/v1/groups?scope=local',
      async () => localGroups(),
    );
    const groups = new Map<string, GroupSummary>();
    for (const { brokerId: from, answer } of answers) {
      for (const group of answer.groups)
        if (!groups.has(group.groupId)) groups.set(group.groupId, group);
      if (answer.loadingPartitions.length > 0) {
        errors.push({
          brokerId: from,
          error: `__consumer_offsets partitions ${answer.loadingPartitions.join(', ')} are still loading; their groups are not listed yet`,
        });
      }
    }
    return {
      answeredBy: brokerId,
      groups: [...groups.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : 1)),
      errors: errors.sort((a, b) => a.brokerId - b.brokerId),
    };
  });

  function localGroup(groupId: string): GroupAnswer {
    const { errorCode, group } = coordinator.inspectGroup(groupId);
    if (errorCode === ErrorCode.NOT_COORDINATOR) {
      throw new HttpError(503, `broker ${brokerId} does not coordinate group ${groupId} (now)`);
    }
    if (errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
      throw new HttpError(503, `broker ${brokerId} is still loading group ${groupId}`);
    }
    if (errorCode !== ErrorCode.NONE) {
      throw new HttpError(503, `broker ${brokerId}: the coordinator is not available`);
    }
    if (!group) throw new HttpError(404, `no group ${groupId}`);
    return describeGroup(group);
  }

  function describeGroup(group: GroupDetail): GroupAnswer {
    const consumer = group.protocolType === CONSUMER_PROTOCOL_TYPE;
    const lagByPartition = new Map(
      (lag.lagOf(group.groupId) ?? []).map((l) => [
        partitionKey(topicNames(namer, l.topic).fullName, l.partition),
        l,
      ]),
    );
    const offsets = group.offsets
      .map((o): OffsetEntry => {
        const names = topicNames(namer, o.topic);
        const sample = lagByPartition.get(partitionKey(names.fullName, o.partition));
        return {
          ...names,
          partition: o.partition,
          committedOffset: o.offset,
          leaderEpoch: o.leaderEpoch < 0 ? null : o.leaderEpoch,
          metadata: o.metadata,
          committedAt: iso(o.commitTimestamp),
          expiresAt: iso(o.expireTimestamp),
          lag: sample
            ? {
                committedOffset: sample.committedOffset,
                logEndOffset: sample.logEndOffset,
                messages: sample.lag,
                seconds: sample.lagSeconds,
                sampledAt: iso(sample.sampledAt)!,
              }
            : null,
        };
      })
      .sort((a, b) =>
        a.fullName === b.fullName ? a.partition - b.partition : a.fullName < b.fullName ? -1 : 1,
      );
    return {
      answeredBy: brokerId,
      ...summary(group),
      generationId: group.generationId,
      leaderId: group.leaderId,
      stateSince: iso(group.stateTimestamp),
      members: group.members.map((m) => ({
        ...m,
        assignment: consumer ? decodeAssignment(m.assignment) : null,
      })),
      offsets,
    };
  }

  function decodeAssignment(assignment: Buffer): AssignedTopic[] | null {
    try {
      return assignedPartitions(assignment).map(({ topic, partitions }) => ({
        ...topicNames(namer, topic),
        partitions: [...partitions].sort((a, b) => a - b),
      }));
    } catch {
      // Not the consumer protocol's bytes after all: nothing to show but that.
      return null;
    }
  }

  routes.get('/admin/v1/groups/*', async (request): Promise<GroupAnswer> => {
    const groupId = request.params['*'] ?? '';
    if (scopeOf(request) === 'local') return localGroup(groupId);
    const owner = coordinatorOf(groupId);
    if (owner === null) throw new HttpError(503, `group ${groupId} has no coordinator right now`);
    if (owner === brokerId) return localGroup(groupId);
    try {
      const answer = await host.peers.request<GroupAnswer>(
        owner,
        `/admin/v1/groups/${encodeURIComponent(groupId)}?scope=local`,
      );
      return { ...answer, answeredBy: brokerId };
    } catch (err) {
      if (err instanceof PeerError && err.status === 404) {
        throw new HttpError(404, `no group ${groupId}`);
      }
      throw new HttpError(
        err instanceof PeerError && err.status === 503 ? 503 : 502,
        `group ${groupId}: its coordinator did not answer (${(err as Error).message})`,
      );
    }
  });
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
