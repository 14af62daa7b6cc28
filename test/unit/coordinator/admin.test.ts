/** DescribeGroups, ListGroups and DeleteGroups. */
import { describe, expect, it } from 'vitest';
import { CLASSIC_GROUP_TYPE } from '../../../plugins/kafka/coordinator/types.js';
import { ErrorCode } from '../../../plugins/kafka/protocol/index.js';
import {
  harness,
  joinParams,
  settled,
  stableGroup,
  startJoin,
  subscription,
  type Harness,
} from './helpers.js';

const commit = (h: Harness, groupId: string) =>
  h.coordinator.commitOffsets({
    groupId,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    offsets: [{ topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }],
  });

describe('DescribeGroups', () => {
  it('shows the chosen protocol, metadata and assignments only once Stable', async () => {
    const h = harness();
    const joining = await startJoin(h, {
      clientId: 'app',
      clientHost: '/192.168.1.5',
      groupInstanceId: 'i-1',
    });
    expect(h.coordinator.describeGroups(['g'])[0]).toEqual({
      groupId: 'g',
      errorCode: ErrorCode.NONE,
      state: 'PreparingRebalance',
      protocolType: 'consumer',
      protocolData: '',
      members: [
        {
          memberId: expect.stringMatching(/^i-1-/),
          groupInstanceId: 'i-1',
          clientId: 'app',
          clientHost: '/192.168.1.5',
          metadata: Buffer.alloc(0),
          assignment: Buffer.alloc(0),
        },
      ],
    });
    await h.clock.advance(0);
    const joined = await joining.answer;
    await h.coordinator.syncGroup({
      groupId: 'g',
      generationId: joined.generationId,
      memberId: joined.memberId,
      groupInstanceId: 'i-1',
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [{ memberId: joined.memberId, assignment: Buffer.from('mine') }],
    });
    expect(h.coordinator.describeGroups(['g'])[0]).toMatchObject({
      state: 'Stable',
      protocolData: 'range',
      members: [{ metadata: subscription(['t']), assignment: Buffer.from('mine') }],
    });
  });

  it('describes an unknown group as Dead without error, including the empty group id', () => {
    const h = harness();
    expect(h.coordinator.describeGroups(['nope', ''])).toEqual([
      {
        groupId: 'nope',
        errorCode: ErrorCode.NONE,
        state: 'Dead',
        protocolType: '',
        protocolData: '',
        members: [],
      },
      {
        groupId: '',
        errorCode: ErrorCode.NONE,
        state: 'Dead',
        protocolType: '',
        protocolData: '',
        members: [],
      },
    ]);
  });
});

describe('ListGroups', () => {
  async function groupsInStates(h: Harness): Promise<void> {
    await stableGroup(h, [{}], 'stable');
    await commit(h, 'empty');
    void h.coordinator.joinGroup(
      joinParams({ groupId: 'preparing', requireKnownMemberId: false, protocolType: 'connect' }),
    );
  }

  it('lists every group with its state and protocol type', async () => {
    const h = harness({ groupInitialRebalanceDelayMs: 3000 });
    await groupsInStates(h);
    const listed = h.coordinator.listGroups([]);
    expect(listed.errorCode).toBe(ErrorCode.NONE);
    expect(listed.groups.sort((x, y) => x.groupId.localeCompare(y.groupId))).toEqual([
      { groupId: 'empty', protocolType: '', state: 'Empty' },
      { groupId: 'preparing', protocolType: 'connect', state: 'PreparingRebalance' },
      { groupId: 'stable', protocolType: 'consumer', state: 'Stable' },
    ]);
  });

  it('filters by state, case-insensitively', async () => {
    const h = harness({ groupInitialRebalanceDelayMs: 3000 });
    await groupsInStates(h);
    const ids = (states: string[]) =>
      h.coordinator
        .listGroups(states)
        .groups.map((g) => g.groupId)
        .sort();
    expect(ids(['stable', 'EMPTY'])).toEqual(['empty', 'stable']);
    expect(ids(['PreparingRebalance'])).toEqual(['preparing']);
    expect(ids(['Dead'])).toEqual([]);
  });

  it('names the one group type of every group for the handler to filter on', () => {
    expect(CLASSIC_GROUP_TYPE).toBe('classic');
  });

  it('says COORDINATOR_LOAD_IN_PROGRESS while a partition loads, listing the loaded ones', async () => {
    const h = harness();
    await commit(h, 'a');
    const other = (h.partitionOf('a') + 1) % h.config.offsetsTopicNumPartitions;
    h.coordinator.unload(other);
    h.coordinator.beginLoad(other);
    expect(h.coordinator.listGroups([])).toEqual({
      errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
      groups: [{ groupId: 'a', protocolType: '', state: 'Empty' }],
    });
  });
});

describe('DeleteGroups', () => {
  it('deletes an empty group with its offsets, writing tombstones, and tells no member', async () => {
    const h = harness();
    const [a] = await stableGroup(h, [{}]);
    await h.coordinator.commitOffsets({
      groupId: 'g',
      generationId: a.generationId,
      memberId: a.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1,
      offsets: [{ topic: 't', partition: 0, offset: 5, leaderEpoch: -1, metadata: null }],
    });
    await h.coordinator.leaveGroup({
      groupId: 'g',
      members: [{ memberId: a.memberId, groupInstanceId: null, reason: null }],
    });
    const eventsBefore = h.events.length;
    const before = h.persistence.records.length;

    expect(await h.coordinator.deleteGroups(['g'])).toEqual([
      { groupId: 'g', errorCode: ErrorCode.NONE },
    ]);
    expect(h.persistence.records.slice(before)).toEqual([
      { kind: 'offset', groupId: 'g', topic: 't', partition: 0, value: null },
      { kind: 'group', groupId: 'g', value: null },
    ]);
    expect(h.events).toHaveLength(eventsBefore);
    expect(
      (await h.coordinator.fetchOffsets({ groupId: 'g', partitions: null })).partitions,
    ).toEqual([]);
    expect(h.coordinator.describeGroups(['g'])[0].state).toBe('Dead');
  });

  it('holds a deleted group as Dead until its tombstones are written', async () => {
    const h = harness();
    await commit(h, 'g');
    h.persistence.mode = 'hang';
    const deleting = h.coordinator.deleteGroups(['g']);
    expect(await settled(deleting)).toBe('parked');
    expect((await h.coordinator.joinGroup(joinParams())).errorCode).toBe(
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
    );
    expect((await commit(h, 'g')).partitions[0].errorCode).toBe(
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
    );
    await h.persistence.release();
    await deleting;
    expect((await h.coordinator.joinGroup(joinParams())).errorCode).toBe(
      ErrorCode.MEMBER_ID_REQUIRED,
    );
  });

  it('keeps a group whose tombstones cannot be written, answering COORDINATOR_NOT_AVAILABLE', async () => {
    const h = harness();
    const [a] = await stableGroup(h, [{}]);
    await h.coordinator.leaveGroup({
      groupId: 'g',
      members: [{ memberId: a.memberId, groupInstanceId: null, reason: null }],
    });
    await commit(h, 'g');
    const [before] = h.coordinator.describeGroups(['g']);
    h.persistence.mode = 'fail';
    expect(await h.coordinator.deleteGroups(['g'])).toEqual([
      { groupId: 'g', errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE },
    ]);
    expect(h.coordinator.describeGroups(['g'])).toEqual([before]);
    const fetched = await h.coordinator.fetchOffsets({ groupId: 'g', partitions: null });
    expect(fetched.partitions.map((p) => p.offset)).toEqual([1]);

    h.persistence.mode = 'ok';
    expect(await h.coordinator.deleteGroups(['g'])).toEqual([
      { groupId: 'g', errorCode: ErrorCode.NONE },
    ]);
    expect(h.persistence.records.slice(-2)).toEqual([
      { kind: 'offset', groupId: 'g', topic: 't', partition: 0, value: null },
      { kind: 'group', groupId: 'g', value: null },
    ]);
  });

  it('answers each group of a request on its own', async () => {
    const h = harness();
    await commit(h, 'empty');
    await stableGroup(h, [{}], 'stable');
    // 'w' lives in a partition no other group here shares.
    expect(
      new Set(['empty', 'stable', 'nope', ''].map(h.partitionOf)).has(h.partitionOf('w')),
    ).toBe(false);
    h.coordinator.unload(h.partitionOf('w'));
    expect(await h.coordinator.deleteGroups(['empty', 'stable', 'nope', 'w', ''])).toEqual([
      { groupId: 'empty', errorCode: ErrorCode.NONE },
      { groupId: 'stable', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'nope', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
      { groupId: 'w', errorCode: ErrorCode.NOT_COORDINATOR },
      { groupId: '', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
  });
});
