/**
 * What the coordinator tells the admin API: a group in full (generation, members with their
 * timeouts and assignments, committed offsets with their commit times), the errors any request
 * would get, and which __consumer_offsets partitions are still loading.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../plugins/kafka/protocol/index.js';
import { REBALANCE_MS, SESSION_MS, harness, stableGroup } from './helpers.js';

describe('inspectGroup', () => {
  it('describes a Stable group in full, with its committed offsets', async () => {
    const h = harness();
    const [leader, follower] = await stableGroup(h, [
      { clientId: 'a', clientHost: '/10.0.0.1' },
      { clientId: 'b', clientHost: '/10.0.0.2', groupInstanceId: 'static-b' },
    ]);
    await h.clock.advance(5);
    const committedAt = h.clock.now();
    const commit = await h.coordinator.commitOffsets({
      groupId: 'g',
      generationId: leader.generationId,
      memberId: leader.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1,
      offsets: [
        { topic: 'orders', partition: 1, offset: 42, leaderEpoch: 3, metadata: 'm' },
        { topic: 'orders', partition: 0, offset: 7, leaderEpoch: -1, metadata: null },
      ],
    });
    expect(commit.partitions.map((p) => p.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.NONE]);

    const { errorCode, group } = h.coordinator.inspectGroup('g');
    expect(errorCode).toBe(ErrorCode.NONE);
    expect(group).toMatchObject({
      groupId: 'g',
      state: 'Stable',
      protocolType: 'consumer',
      protocol: 'range',
      generationId: leader.generationId,
      leaderId: leader.memberId,
    });
    expect(group!.members).toEqual([
      {
        memberId: leader.memberId,
        groupInstanceId: null,
        clientId: 'a',
        clientHost: '/10.0.0.1',
        sessionTimeoutMs: SESSION_MS,
        rebalanceTimeoutMs: REBALANCE_MS,
        assignment: Buffer.from(`assignment-${leader.memberId}`),
      },
      {
        memberId: follower.memberId,
        groupInstanceId: 'static-b',
        clientId: 'b',
        clientHost: '/10.0.0.2',
        sessionTimeoutMs: SESSION_MS,
        rebalanceTimeoutMs: REBALANCE_MS,
        assignment: Buffer.from(`assignment-${follower.memberId}`),
      },
    ]);
    expect(
      [...group!.offsets].sort((x, y) => x.partition - y.partition).map((o) => ({ ...o })),
    ).toEqual([
      {
        topic: 'orders',
        partition: 0,
        offset: 7,
        leaderEpoch: -1,
        metadata: '',
        commitTimestamp: committedAt,
        expireTimestamp: null,
      },
      {
        topic: 'orders',
        partition: 1,
        offset: 42,
        leaderEpoch: 3,
        metadata: 'm',
        commitTimestamp: committedAt,
        expireTimestamp: null,
      },
    ]);
  });

  it('has no group for an unknown group id, and the routing errors of any request', async () => {
    const h = harness({}, (partition) => partition !== 0);
    const unowned = ['a', 'b', 'c', 'd', 'e', 'f'].find((g) => h.partitionOf(g) === 0)!;
    const owned = ['a', 'b', 'c', 'd', 'e', 'f'].find((g) => h.partitionOf(g) !== 0)!;
    expect(h.coordinator.inspectGroup(owned)).toEqual({ errorCode: ErrorCode.NONE, group: null });
    expect(h.coordinator.inspectGroup(unowned)).toEqual({
      errorCode: ErrorCode.NOT_COORDINATOR,
      group: null,
    });
    h.coordinator.beginLoad(0);
    expect(h.coordinator.inspectGroup(unowned).errorCode).toBe(
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    h.coordinator.shutdown();
    expect(h.coordinator.inspectGroup(owned).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });
});

describe('loadingPartitions', () => {
  it('names the partitions begun and not completed yet', () => {
    const h = harness({}, () => false);
    expect(h.coordinator.loadingPartitions()).toEqual([]);
    h.coordinator.beginLoad(3, 1);
    h.coordinator.beginLoad(1, 1);
    expect(h.coordinator.loadingPartitions()).toEqual([1, 3]);
    h.coordinator.completeLoad(3, 1);
    expect(h.coordinator.loadingPartitions()).toEqual([1]);
    h.coordinator.unload(1);
    expect(h.coordinator.loadingPartitions()).toEqual([]);
  });
});
