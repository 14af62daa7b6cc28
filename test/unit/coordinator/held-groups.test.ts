/**
 * What the coordinator's consumer-group metrics read: the groups it serves now (heldGroups,
 * heldGroup) and each group's counters: rebalances (generation bumps), accepted commits and the
 * time of the last commit, also for a group loaded from its partition.
 */
import { describe, expect, it } from 'vitest';
import type {
  CommitOffsetsParams,
  StoredRecord,
} from '../../../plugins/kafka/coordinator/types.js';
import { ErrorCode } from '../../../plugins/kafka/protocol/index.js';
import { harness, joinParams, stableGroup, startJoin, type Harness } from './helpers.js';

const commit = (
  h: Harness,
  groupId: string,
  offsets: [topic: string, partition: number, offset: number][],
  member: { memberId: string; generationId: number } = { memberId: '', generationId: -1 },
): Promise<{ partitions: { errorCode: number }[] }> =>
  h.coordinator.commitOffsets({
    groupId,
    generationId: member.generationId,
    memberId: member.memberId,
    groupInstanceId: null,
    retentionTimeMs: -1,
    offsets: offsets.map(([topic, partition, offset]) => ({
      topic,
      partition,
      offset,
      leaderEpoch: -1,
      metadata: null,
    })) satisfies CommitOffsetsParams['offsets'],
  });

const held = (h: Harness): string[] => [...h.coordinator.heldGroups()].map((g) => g.groupId).sort();

describe('held groups and their counters', () => {
  it('serves the groups of loaded partitions only, Dead and unloaded ones aside', async () => {
    const h = harness();
    await commit(h, 'a', [['t', 0, 1]]);
    await commit(h, 'b', [['t', 0, 1]]);
    expect(held(h)).toEqual(['a', 'b']);
    expect(h.coordinator.heldGroup('a')?.groupId).toBe('a');
    expect(h.coordinator.heldGroup('nobody')).toBeUndefined();

    expect(await h.coordinator.deleteGroups(['a'])).toEqual([
      { groupId: 'a', errorCode: ErrorCode.NONE },
    ]);
    expect(held(h)).toEqual(['b']);
    expect(h.coordinator.heldGroup('a')).toBeUndefined();

    h.coordinator.unload(h.partitionOf('b'));
    expect(held(h)).toEqual([]);
    expect(h.coordinator.heldGroup('b')).toBeUndefined();
  });

  it('serves nothing while a partition loads, nor after shutdown', async () => {
    const h = harness();
    await commit(h, 'a', [['t', 0, 1]]);
    h.coordinator.beginLoad(h.partitionOf('a'), 7);
    expect(held(h)).toEqual([]);
    h.coordinator.completeLoad(h.partitionOf('a'), 7);
    await commit(h, 'a', [['t', 0, 1]]);
    expect(held(h)).toEqual(['a']);
    h.coordinator.shutdown();
    expect(held(h)).toEqual([]);
    expect(h.coordinator.heldGroup('a')).toBeUndefined();
  });

  it('counts a rebalance per generation: joins, and the empty generation when all leave', async () => {
    const h = harness();
    await stableGroup(h, [{ clientId: 'one' }]);
    expect(h.coordinator.heldGroup('g')?.rebalances).toBe(1);
    // A second member makes the group rebalance; the first rejoins.
    const second = await startJoin(h, { clientId: 'two' });
    const [first] = [...h.coordinator.heldGroup('g')!.members.keys()];
    const rejoin = h.coordinator.joinGroup(joinParams({ clientId: 'one', memberId: first }));
    const answers = await Promise.all([second.answer, rejoin]);
    expect(answers.map((a) => a.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
    expect(h.coordinator.heldGroup('g')?.rebalances).toBe(2);
    const left = await h.coordinator.leaveGroup({
      groupId: 'g',
      members: answers.map((a) => ({ memberId: a.memberId, groupInstanceId: null, reason: null })),
    });
    expect(left.errorCode).toBe(ErrorCode.NONE);
    const group = h.coordinator.heldGroup('g')!;
    expect(group.state).toBe('Empty');
    expect(group.rebalances).toBe(3);
  });

  it('counts accepted commits only, and remembers when the last one was made', async () => {
    const h = harness();
    const [member] = await stableGroup(h, [{ clientId: 'one' }]);
    const group = h.coordinator.heldGroup('g')!;
    expect(group.offsets.commits).toBe(0);
    expect(group.offsets.lastCommitTimestamp).toBeNull();

    const first = h.clock.now();
    await commit(
      h,
      'g',
      [
        ['t', 0, 5],
        ['t', 1, 6],
      ],
      member,
    );
    expect(group.offsets.commits).toBe(1);
    expect(group.offsets.lastCommitTimestamp).toBe(first);

    // Refused (a stale generation) or not durable (the append failed): not counted.
    await h.clock.advance(1000);
    const stale = await commit(h, 'g', [['t', 0, 7]], { ...member, generationId: 99 });
    expect(stale.partitions[0].errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    h.persistence.mode = 'fail';
    const failed = await commit(h, 'g', [['t', 0, 7]], member);
    expect(failed.partitions[0].errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    h.persistence.mode = 'ok';
    expect(group.offsets.commits).toBe(1);
    expect(group.offsets.lastCommitTimestamp).toBe(first);

    await commit(h, 'g', [['t', 0, 7]], member);
    expect(group.offsets.commits).toBe(2);
    expect(group.offsets.lastCommitTimestamp).toBe(first + 1000);
  });

  it('starts a loaded group at zero counts, with the newest loaded commit time', () => {
    const h = harness();
    const partition = h.partitionOf('loaded');
    const offset = (p: number, commitTimestamp: number): StoredRecord => ({
      kind: 'offset',
      groupId: 'loaded',
      topic: 't',
      partition: p,
      value: { offset: 3, leaderEpoch: -1, metadata: '', commitTimestamp, expireTimestamp: null },
    });
    h.coordinator.beginLoad(partition, 2);
    h.coordinator.loadRecords(partition, [offset(0, 5000), offset(1, 9000), offset(2, 7000)], 2);
    h.coordinator.completeLoad(partition, 2);
    const group = h.coordinator.heldGroup('loaded')!;
    expect(group.rebalances).toBe(0);
    expect(group.offsets.commits).toBe(0);
    expect(group.offsets.lastCommitTimestamp).toBe(9000);
  });
});
