/** Ownership of __consumer_offsets partitions: load and replay, unload, shutdown; the system clock. */
import { describe, expect, it, vi } from 'vitest';
import { createSystemClock, systemClock } from '../../../plugins/kafka/coordinator/system-clock.js';
import type {
  GroupRecord,
  MemberRecord,
  OffsetRecord,
  StoredRecord,
} from '../../../plugins/kafka/coordinator/types.js';
import { ErrorCode } from '../../../plugins/kafka/protocol/index.js';
import {
  SESSION_MS,
  flush,
  harness,
  joinParams,
  settled,
  stableGroup,
  state,
  subscription,
  syncParams,
  type Harness,
} from './helpers.js';

const NOW = 1_700_000_000_000;

const memberRecord = (memberId: string, overrides: Partial<MemberRecord> = {}): MemberRecord => ({
  memberId,
  groupInstanceId: null,
  clientId: `client-${memberId}`,
  clientHost: '/10.1.1.1',
  rebalanceTimeoutMs: 30_000,
  sessionTimeoutMs: SESSION_MS,
  subscription: subscription(['t']),
  assignment: Buffer.from(`assigned-${memberId}`),
  ...overrides,
});

const groupRecord = (
  generation: number,
  members: MemberRecord[],
  overrides: Partial<GroupRecord> = {},
): GroupRecord => ({
  protocolType: 'consumer',
  generation,
  protocol: members.length > 0 ? 'range' : null,
  leader: members[0]?.memberId ?? null,
  currentStateTimestamp: NOW - 1000,
  members,
  ...overrides,
});

const offsetValue = (offset: number, commitTimestamp = NOW - 1000): OffsetRecord => ({
  offset,
  leaderEpoch: 1,
  metadata: '',
  commitTimestamp,
  expireTimestamp: null,
});

const group = (groupId: string, value: GroupRecord | null): StoredRecord => ({
  kind: 'group',
  groupId,
  value,
});
const offset = (
  groupId: string,
  topic: string,
  partition: number,
  value: OffsetRecord | null,
): StoredRecord => ({
  kind: 'offset',
  groupId,
  topic,
  partition,
  value,
});

/** A coordinator that owns no partition yet; 'g', 's' and 'w' all live in partition 3. */
function unloaded(overrides = {}): Harness {
  const h = harness(overrides, () => false);
  expect(['g', 's', 'w'].map(h.partitionOf)).toEqual([3, 3, 3]);
  return h;
}

function load(h: Harness, partition: number, ...batches: StoredRecord[][]): void {
  h.coordinator.beginLoad(partition);
  for (const batch of batches) h.coordinator.loadRecords(partition, batch);
  h.coordinator.completeLoad(partition);
}

const heartbeat = (
  h: Harness,
  memberId: string,
  generationId: number,
  groupInstanceId: string | null = null,
) => h.coordinator.heartbeat({ groupId: 'g', generationId, memberId, groupInstanceId });

describe('ownership of __consumer_offsets partitions', () => {
  it('answers NOT_COORDINATOR for partitions it does not own and COORDINATOR_LOAD_IN_PROGRESS while loading', async () => {
    const h = unloaded();
    expect((await h.coordinator.joinGroup(joinParams())).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    h.coordinator.beginLoad(3);
    expect((await h.coordinator.joinGroup(joinParams())).errorCode).toBe(
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    expect(h.coordinator.describeGroups(['g'])[0].errorCode).toBe(
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    // Heartbeats are answered blindly and SyncGroup sends the member back to JoinGroup.
    expect(await heartbeat(h, 'm1', 3)).toBe(ErrorCode.NONE);
    const sync = await h.coordinator.syncGroup(syncParams({ generationId: 3, memberId: 'm1' }));
    expect(sync.errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    h.coordinator.completeLoad(3);
    expect((await h.coordinator.joinGroup(joinParams())).errorCode).toBe(
      ErrorCode.MEMBER_ID_REQUIRED,
    );
  });

  it('ignores the records and the completion of a load older than the current one', async () => {
    const h = unloaded();
    // Gained under epoch 4; its replay is still running when the partition is lost and gained
    // again under epoch 6.
    h.coordinator.beginLoad(3, 4);
    h.coordinator.loadRecords(3, [offset('g', 't', 0, offsetValue(10))], 4);
    h.coordinator.unload(3);
    h.coordinator.beginLoad(3, 6);
    // The old replay goes on and finishes: neither its records nor its end count.
    h.coordinator.loadRecords(3, [offset('g', 't', 0, offsetValue(99))], 4);
    h.coordinator.completeLoad(3, 4);
    expect(h.coordinator.describeGroups(['g'])[0].errorCode).toBe(
      ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    );
    h.coordinator.loadRecords(3, [offset('g', 't', 0, offsetValue(20))], 6);
    h.coordinator.completeLoad(3, 6);
    const fetched = await h.coordinator.fetchOffsets({ groupId: 'g', partitions: null });
    expect(fetched).toMatchObject({
      errorCode: ErrorCode.NONE,
      partitions: [{ topic: 't', partition: 0, offset: 20 }],
    });
  });

  it('restores groups and offsets from the log: the latest record per key wins, tombstones delete', async () => {
    const h = unloaded();
    const m1 = memberRecord('m1');
    const m2 = memberRecord('m2', { groupInstanceId: 'i2' });
    load(
      h,
      3,
      [
        group('g', groupRecord(2, [m1])),
        offset('g', 't', 0, offsetValue(10)),
        group('g', groupRecord(3, [m1, m2])),
      ],
      [
        offset('g', 't', 0, offsetValue(11)),
        offset('g', 't', 1, offsetValue(5)),
        offset('g', 't', 1, null),
        offset('s', 't', 0, offsetValue(7)),
        group('w', groupRecord(1, [])),
        group('w', null),
      ],
    );

    expect(h.coordinator.describeGroups(['g'])[0]).toMatchObject({
      state: 'Stable',
      protocolType: 'consumer',
      protocolData: 'range',
      members: [
        { memberId: 'm1', clientId: 'client-m1', assignment: Buffer.from('assigned-m1') },
        { memberId: 'm2', groupInstanceId: 'i2', assignment: Buffer.from('assigned-m2') },
      ],
    });
    expect(await heartbeat(h, 'm1', 3)).toBe(ErrorCode.NONE);
    expect(await heartbeat(h, 'm1', 2)).toBe(ErrorCode.ILLEGAL_GENERATION);
    const rejoined = await h.coordinator.joinGroup(
      joinParams({ memberId: 'm2', groupInstanceId: 'i2' }),
    );
    expect(rejoined).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 3, leader: 'm1' });

    const fetched = await h.coordinator.fetchOffsets({ groupId: 'g', partitions: null });
    expect(fetched.partitions.map((p) => [p.topic, p.partition, p.offset])).toEqual([['t', 0, 11]]);
    expect(h.coordinator.listGroups([]).groups).toEqual([
      { groupId: 'g', protocolType: 'consumer', state: 'Stable' },
      { groupId: 's', protocolType: '', state: 'Empty' },
    ]);
    expect(state(h, 'w')).toBe('Dead');
  });

  it('expires restored members that do not come back, a session after the load', async () => {
    const h = unloaded();
    load(h, 3, [group('g', groupRecord(3, [memberRecord('m1'), memberRecord('m2')]))]);
    for (let t = 0; t < SESSION_MS; t += 2500) {
      expect(await heartbeat(h, 'm1', 3)).toBe(ErrorCode.NONE);
      await h.clock.advance(2500);
    }
    expect(h.events).toEqual([
      {
        groupId: 'g',
        memberId: 'm2',
        groupInstanceId: null,
        clientId: 'client-m2',
        clientHost: '/10.1.1.1',
        reason: 'expired',
      },
    ]);
    expect(await heartbeat(h, 'm1', 3)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
  });

  it('expires the offsets of a restored empty group from the time it became empty', async () => {
    const h = unloaded({ offsetsRetentionMs: 60_000, offsetsRetentionCheckIntervalMs: 1000 });
    const emptySince = h.clock.now() - 55_000;
    load(h, 3, [
      offset('g', 't', 0, offsetValue(1, emptySince - 3_600_000)),
      group('g', groupRecord(4, [], { currentStateTimestamp: emptySince })),
    ]);
    expect(state(h)).toBe('Empty');
    await h.clock.advance(4000);
    expect(h.persistence.records).toEqual([]);
    await h.clock.advance(1000);
    expect(h.persistence.records).toEqual([offset('g', 't', 0, null), group('g', null)]);
  });

  it('rebalances a restored group over the maximum size', () => {
    const h = unloaded({ groupMaxSize: 1 });
    load(h, 3, [group('g', groupRecord(3, [memberRecord('m1'), memberRecord('m2')]))]);
    expect(state(h)).toBe('PreparingRebalance');
  });

  it('refuses the last members to rejoin a restored group over the maximum size', async () => {
    const h = unloaded({ groupMaxSize: 1 });
    load(h, 3, [group('g', groupRecord(3, [memberRecord('m1'), memberRecord('m2')]))]);
    const kept = h.coordinator.joinGroup(joinParams({ memberId: 'm1' }));
    const refused = await h.coordinator.joinGroup(joinParams({ memberId: 'm2' }));
    expect(refused).toMatchObject({ errorCode: ErrorCode.GROUP_MAX_SIZE_REACHED, memberId: '' });
    expect(h.events).toMatchObject([{ memberId: 'm2', reason: 'refused' }]);
    expect(await kept).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 4 });
  });

  it('ignores records of a partition unloaded while loading', async () => {
    const h = unloaded();
    h.coordinator.beginLoad(3);
    h.coordinator.unload(3);
    h.coordinator.loadRecords(3, [group('g', groupRecord(3, [memberRecord('m1')]))]);
    h.coordinator.completeLoad(3);
    expect(await heartbeat(h, 'm1', 3)).toBe(ErrorCode.NOT_COORDINATOR);
  });
});

describe('replaying what the coordinator wrote', () => {
  async function busyCoordinator(): Promise<Harness> {
    const h = harness();
    const [a, b] = await stableGroup(h, [
      { clientId: 'a' },
      { clientId: 'b', groupInstanceId: 'b-instance' },
    ]);
    await h.coordinator.commitOffsets({
      groupId: 'g',
      generationId: a.generationId,
      memberId: a.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1,
      offsets: [
        { topic: 't', partition: 0, offset: 3, leaderEpoch: 2, metadata: 'm' },
        { topic: 't', partition: 1, offset: 4, leaderEpoch: 2, metadata: null },
      ],
    });
    for (const groupId of ['s', 'e']) {
      await h.coordinator.commitOffsets({
        groupId,
        generationId: -1,
        memberId: '',
        groupInstanceId: null,
        retentionTimeMs: groupId === 's' ? -1 : 86_400_000,
        offsets: [{ topic: 't', partition: 0, offset: 9, leaderEpoch: -1, metadata: null }],
      });
    }
    const [e] = await stableGroup(h, [{}], 'e');
    await h.coordinator.leaveGroup({
      groupId: 'e',
      members: [{ memberId: e.memberId, groupInstanceId: null, reason: null }],
    });
    // A deleted group and deleted offsets leave only tombstones behind.
    await h.coordinator.commitOffsets({
      groupId: 'd',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      offsets: [{ topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }],
    });
    expect(await h.coordinator.deleteGroups(['d'])).toEqual([
      { groupId: 'd', errorCode: ErrorCode.NONE },
    ]);
    await h.coordinator.deleteOffsets('s', [{ topic: 'u', partition: 0 }]);
    expect([state(h, 'g'), state(h, 's'), state(h, 'e'), b.groupInstanceId]).toEqual([
      'Stable',
      'Empty',
      'Empty',
      'b-instance',
    ]);
    // Let the empty group's metadata become durable.
    await flush();
    return h;
  }

  /** A fresh coordinator loading every partition from the records `h` appended to it. */
  function replayed(h: Harness): Harness {
    const after = harness({}, () => false);
    for (let p = 0; p < h.config.offsetsTopicNumPartitions; p++) {
      load(
        after,
        p,
        ...h.persistence.appends.filter((a) => a.partition === p).map((a) => a.records),
      );
    }
    return after;
  }

  const GROUPS = ['g', 's', 'e', 'd'];

  it('restores the same groups and offsets', async () => {
    const before = await busyCoordinator();
    const after = replayed(before);
    expect(after.coordinator.describeGroups(GROUPS)).toEqual(
      before.coordinator.describeGroups(GROUPS),
    );
    expect(after.coordinator.listGroups([])).toEqual(before.coordinator.listGroups([]));
    for (const groupId of GROUPS) {
      expect(await after.coordinator.fetchOffsets({ groupId, partitions: null })).toEqual(
        await before.coordinator.fetchOffsets({ groupId, partitions: null }),
      );
    }
  });

  it('restores the last stored generation of a group in the middle of a rebalance', async () => {
    const h = harness();
    const [a] = await stableGroup(h, [{}]);
    void h.coordinator.joinGroup(joinParams({ requireKnownMemberId: false }));
    expect(state(h)).toBe('PreparingRebalance');
    const [described] = replayed(h).coordinator.describeGroups(['g']);
    expect(described).toMatchObject({ state: 'Stable', members: [{ memberId: a.memberId }] });
  });
});

describe('letting go of groups', () => {
  it('unloads without member-removed events, sending parked requests to the new coordinator', async () => {
    const h = harness();
    const [a, b] = await stableGroup(h, [{}, {}]);
    const parked = h.coordinator.joinGroup(joinParams({ memberId: a.memberId }));
    expect(await settled(parked)).toBe('parked');
    h.coordinator.unload(h.partitionOf('g'));
    expect(await parked).toMatchObject({
      errorCode: ErrorCode.NOT_COORDINATOR,
      memberId: a.memberId,
    });
    expect(await heartbeat(h, b.memberId, b.generationId)).toBe(ErrorCode.NOT_COORDINATOR);
    await h.clock.advance(3_600_000);
    expect(h.events).toEqual([]);
    // Only the offset expiry timer is left.
    expect(h.clock.pendingTimers).toBe(1);
  });

  it('shuts down answering whatever waits with COORDINATOR_NOT_AVAILABLE, and no member-removed events', async () => {
    const h = harness();
    const [a, b] = await stableGroup(h, [{}, {}]);
    const [ja, jb] = await Promise.all([
      h.coordinator.joinGroup(joinParams({ memberId: a.memberId })),
      h.coordinator.joinGroup(joinParams({ memberId: b.memberId })),
    ]);
    const parkedSync = h.coordinator.syncGroup(syncParams(jb));
    const parkedJoin = h.coordinator.joinGroup(
      joinParams({ groupId: 'w', requireKnownMemberId: false }),
    );
    h.persistence.mode = 'hang';
    const hungCommit = h.coordinator.commitOffsets({
      groupId: 's',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      offsets: [{ topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }],
    });
    expect(await settled(hungCommit)).toBe('parked');

    h.coordinator.shutdown();
    expect((await parkedSync).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect((await parkedJoin).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect((await hungCommit).partitions[0].errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(await heartbeat(h, ja.memberId, ja.generationId)).toBe(
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
    );
    expect(h.coordinator.listGroups([])).toEqual({
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      groups: [],
    });
    expect(h.clock.pendingTimers).toBe(0);
    await h.persistence.release();
    expect(h.events).toEqual([]);
  });
});

describe('systemClock', () => {
  it('reads the wall clock', () => {
    const now = vi.spyOn(Date, 'now').mockReturnValue(1_234_567);
    try {
      expect(systemClock.now()).toBe(1_234_567);
    } finally {
      now.mockRestore();
    }
  });

  it('runs timers that do not keep the process alive, and cancels them', async () => {
    const clock = createSystemClock(() => {});
    const fired: string[] = [];
    const cancelled = clock.setTimeout(() => fired.push('cancelled'), 0);
    clock.clearTimeout(cancelled);
    const handle = clock.setTimeout(() => fired.push('fired'), 0);
    expect((handle.id as NodeJS.Timeout).hasRef()).toBe(false);
    // Node runs due timers in the order they were set: one set after them runs after them.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(fired).toEqual(['fired']);
  });

  it('reports what a callback throws instead of throwing it out of the timer', async () => {
    const errors: unknown[] = [];
    const clock = createSystemClock((err) => errors.push(err));
    const boom = new Error('boom');
    const fired: string[] = [];
    clock.setTimeout(() => {
      throw boom;
    }, 0);
    clock.setTimeout(() => fired.push('next'), 0);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(errors).toEqual([boom]);
    expect(fired).toEqual(['next']);
  });

  it('survives an error handler that throws too', async () => {
    const clock = createSystemClock(() => {
      throw new Error('handler failed');
    });
    const fired: string[] = [];
    clock.setTimeout(() => {
      throw new Error('boom');
    }, 0);
    clock.setTimeout(() => fired.push('next'), 0);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(fired).toEqual(['next']);
  });
});
