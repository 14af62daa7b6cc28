/** Committed offsets: durability before answers, fetching, retention (KIP-211) and OffsetDelete. */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../plugins/kafka/protocol/index.js';
import type {
  CommitOffsetsParams,
  StoredRecord,
} from '../../../plugins/kafka/coordinator/types.js';
import {
  harness,
  settled,
  stableGroup,
  state,
  type Harness,
  type JoinedMember,
} from './helpers.js';

type Offset = CommitOffsetsParams['offsets'][number];
const offset = (
  topic: string,
  partition: number,
  value: number,
  metadata: string | null = null,
): Offset => ({
  topic,
  partition,
  offset: value,
  leaderEpoch: 5,
  metadata,
});

/** A commit from outside group management (assign(), or a tool). */
const simpleCommit = (h: Harness, groupId: string, offsets: Offset[], retentionTimeMs = -1) =>
  h.coordinator.commitOffsets({
    groupId,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs,
    offsets,
  });

const memberCommit = (h: Harness, m: JoinedMember, offsets: Offset[]) =>
  h.coordinator.commitOffsets({
    groupId: 'g',
    generationId: m.generationId,
    memberId: m.memberId,
    groupInstanceId: m.groupInstanceId,
    retentionTimeMs: -1,
    offsets,
  });

const fetchOne = async (h: Harness, groupId: string, topic: string, partition: number) =>
  (await h.coordinator.fetchOffsets({ groupId, partitions: [{ topic, partition }] })).partitions[0]
    .offset;

const tombstones = (records: StoredRecord[]) =>
  records
    .filter((r) => r.value === null)
    .map((r) => (r.kind === 'group' ? `group ${r.groupId}` : `${r.topic}-${r.partition}`));

/** Keeps a member alive while time passes. */
async function heartbeatFor(h: Harness, m: JoinedMember, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 3000) {
    await h.coordinator.heartbeat({
      groupId: 'g',
      generationId: m.generationId,
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
    });
    await h.clock.advance(Math.min(3000, ms - t));
  }
}

describe('committing and fetching offsets', () => {
  it('stores a commit before answering it or showing it to OffsetFetch', async () => {
    const h = harness();
    h.persistence.mode = 'hang';
    const committed = simpleCommit(h, 's', [offset('t', 0, 42, 'note')]);
    expect(await settled(committed)).toBe('parked');
    expect(await fetchOne(h, 's', 't', 0)).toBe(-1);
    expect(h.persistence.records).toEqual([
      {
        kind: 'offset',
        groupId: 's',
        topic: 't',
        partition: 0,
        value: {
          offset: 42,
          leaderEpoch: 5,
          metadata: 'note',
          commitTimestamp: h.clock.now(),
          expireTimestamp: null,
        },
      },
    ]);
    await h.persistence.release();
    expect((await committed).partitions).toEqual([
      { topic: 't', partition: 0, errorCode: ErrorCode.NONE },
    ]);
    expect(
      (
        await h.coordinator.fetchOffsets({
          groupId: 's',
          partitions: [{ topic: 't', partition: 0 }],
        })
      ).partitions,
    ).toEqual([
      {
        topic: 't',
        partition: 0,
        offset: 42,
        leaderEpoch: 5,
        metadata: 'note',
        errorCode: ErrorCode.NONE,
      },
    ]);
  });

  it('answers COORDINATOR_NOT_AVAILABLE when the commit cannot be stored', async () => {
    const h = harness();
    await simpleCommit(h, 's', [offset('t', 0, 1)]);
    h.persistence.mode = 'fail';
    const failed = await simpleCommit(h, 's', [offset('t', 0, 2)]);
    expect(failed.partitions[0].errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(await fetchOne(h, 's', 't', 0)).toBe(1);
  });

  it('refuses metadata over offsetMetadataMaxSize per partition and stores the rest', async () => {
    const h = harness({ offsetMetadataMaxSize: 4 });
    const result = await simpleCommit(h, 's', [
      offset('t', 0, 1, 'toolong'),
      offset('t', 1, 2, 'ok'),
    ]);
    expect(result.partitions.map((p) => p.errorCode)).toEqual([
      ErrorCode.OFFSET_METADATA_TOO_LARGE,
      ErrorCode.NONE,
    ]);
    expect(h.persistence.records.map((r) => r.kind === 'offset' && r.partition)).toEqual([1]);
    expect(await fetchOne(h, 's', 't', 0)).toBe(-1);
  });

  it('creates an Empty group without protocol type for a commit from outside group management', async () => {
    const h = harness();
    await simpleCommit(h, 's', [offset('t', 0, 1)]);
    expect(h.coordinator.describeGroups(['s'])[0]).toMatchObject({
      state: 'Empty',
      protocolType: '',
      members: [],
    });
    expect(h.coordinator.listGroups([]).groups).toEqual([
      { groupId: 's', protocolType: '', state: 'Empty' },
    ]);
  });

  it('fetches every committed offset when no partition is named', async () => {
    const h = harness();
    await simpleCommit(h, 's', [offset('t', 0, 1), offset('u', 3, 7)]);
    const all = await h.coordinator.fetchOffsets({ groupId: 's', partitions: null });
    expect(all.partitions.map((p) => [p.topic, p.partition, p.offset, p.metadata])).toEqual([
      ['t', 0, 1, ''],
      ['u', 3, 7, ''],
    ]);
    expect(
      (await h.coordinator.fetchOffsets({ groupId: 'unknown', partitions: null })).partitions,
    ).toEqual([]);
    expect(await fetchOne(h, 'unknown', 't', 0)).toBe(-1);
  });

  it('accepts the empty group id, as Kafka does for old clients', async () => {
    const h = harness();
    expect((await simpleCommit(h, '', [offset('t', 0, 9)])).partitions[0].errorCode).toBe(
      ErrorCode.NONE,
    );
    expect(await fetchOne(h, '', 't', 0)).toBe(9);
  });

  it('leaves nothing behind per append once it settles', async () => {
    const h = harness();
    for (let i = 0; i < 1000; i++) await simpleCommit(h, 's', [offset('t', 0, i)]);
    expect(h.coordinator.pendingAppends).toBe(0);
    h.persistence.mode = 'hang';
    const hung = [1, 2, 3].map((i) => simpleCommit(h, 's', [offset('t', i, i)]));
    await settled(hung[0]);
    expect(h.coordinator.pendingAppends).toBe(3);
    await h.persistence.release();
    await Promise.all(hung);
    expect(h.coordinator.pendingAppends).toBe(0);
    h.persistence.mode = 'fail';
    await simpleCommit(h, 's', [offset('t', 0, 0)]);
    expect(h.coordinator.pendingAppends).toBe(0);
  });

  it('keeps the latest of concurrent commits whatever order their appends complete in', async () => {
    const h = harness();
    h.persistence.mode = 'hang';
    const first = simpleCommit(h, 's', [offset('t', 0, 1)]);
    const second = simpleCommit(h, 's', [offset('t', 0, 2)]);
    await h.persistence.release();
    await Promise.all([first, second]);
    expect(await fetchOne(h, 's', 't', 0)).toBe(2);
  });
});

describe('offset retention (KIP-211)', () => {
  const retention = 60_000;
  const interval = 1000;
  const config = { offsetsRetentionMs: retention, offsetsRetentionCheckIntervalMs: interval };

  it("expires an empty group's offsets a retention period after it became empty, then removes the group", async () => {
    const h = harness(config);
    const [a] = await stableGroup(h, [{}]);
    await memberCommit(h, a, [offset('t', 0, 42)]);
    await heartbeatFor(h, a, 30_000);
    await h.coordinator.leaveGroup({
      groupId: 'g',
      members: [{ memberId: a.memberId, groupInstanceId: null, reason: null }],
    });
    expect(state(h)).toBe('Empty');
    const emptyAt = h.clock.now();
    const before = h.persistence.records.length;

    // 60 s after the commit, but not after the group became empty: kept.
    await h.clock.advance(retention - interval);
    expect(await fetchOne(h, 'g', 't', 0)).toBe(42);
    await h.clock.advance(interval);
    expect(h.clock.now()).toBe(emptyAt + retention);
    expect(await fetchOne(h, 'g', 't', 0)).toBe(-1);
    expect(tombstones(h.persistence.records.slice(before))).toEqual(['t-0', 'group g']);
    expect(state(h)).toBe('Dead');
    expect(h.coordinator.listGroups([]).groups).toEqual([]);
  });

  it('expires offsets of topics a Stable consumer group does not subscribe to, a retention period after their commit', async () => {
    const h = harness(config);
    const [a] = await stableGroup(h, [{}]);
    await memberCommit(h, a, [offset('t', 0, 1), offset('old', 0, 2)]);
    await heartbeatFor(h, a, retention);
    expect(await fetchOne(h, 'g', 'old', 0)).toBe(-1);
    expect(await fetchOne(h, 'g', 't', 0)).toBe(1);
    expect(tombstones(h.persistence.records)).toEqual(['old-0']);
  });

  it('expires the offsets of a group that only stores them, then removes it without a group tombstone', async () => {
    const h = harness(config);
    await simpleCommit(h, 's', [offset('t', 0, 1)]);
    await h.clock.advance(retention - interval);
    expect(await fetchOne(h, 's', 't', 0)).toBe(1);
    await h.clock.advance(interval);
    expect(await fetchOne(h, 's', 't', 0)).toBe(-1);
    expect(tombstones(h.persistence.records)).toEqual(['t-0']);
    expect(state(h, 's')).toBe('Dead');
  });

  it('keeps offsets whose tombstones cannot be written, and retries at the next run', async () => {
    const h = harness(config);
    const [a] = await stableGroup(h, [{}]);
    await memberCommit(h, a, [offset('t', 0, 42)]);
    await h.coordinator.leaveGroup({
      groupId: 'g',
      members: [{ memberId: a.memberId, groupInstanceId: null, reason: null }],
    });
    const before = h.persistence.records.length;
    await h.clock.advance(retention - interval);
    h.persistence.mode = 'fail';
    await h.clock.advance(interval);
    expect(await fetchOne(h, 'g', 't', 0)).toBe(42);
    expect(state(h)).toBe('Empty');
    h.persistence.mode = 'ok';
    await h.clock.advance(interval);
    expect(tombstones(h.persistence.records.slice(before))).toEqual(['t-0', 'group g']);
    expect(await fetchOne(h, 'g', 't', 0)).toBe(-1);
    expect(state(h)).toBe('Dead');
  });

  it('honours the expire timestamp of an old client (OffsetCommit v2-4 retention time)', async () => {
    const h = harness(config);
    await simpleCommit(h, 's', [offset('t', 0, 1)], 5000);
    expect(h.persistence.records[0]).toMatchObject({
      value: { expireTimestamp: h.clock.now() + 5000 },
    });
    await h.clock.advance(5000);
    expect(await fetchOne(h, 's', 't', 0)).toBe(-1);
  });

  it('does not expire a partition while a commit to it is being written', async () => {
    const h = harness(config);
    await simpleCommit(h, 's', [offset('t', 0, 1)]);
    await h.clock.advance(retention - 1);
    h.persistence.mode = 'hang';
    const pending = simpleCommit(h, 's', [offset('t', 0, 2)]);
    await h.clock.advance(interval);
    expect(tombstones(h.persistence.records)).toEqual([]);
    await h.persistence.release();
    await pending;
    expect(await fetchOne(h, 's', 't', 0)).toBe(2);
  });
});

describe('OffsetDelete (KIP-496)', () => {
  async function emptyGroupWithOffsets(h: Harness): Promise<void> {
    const [a] = await stableGroup(h, [{}]);
    await memberCommit(h, a, [offset('t', 0, 1), offset('t', 1, 2)]);
    await h.coordinator.leaveGroup({
      groupId: 'g',
      members: [{ memberId: a.memberId, groupInstanceId: null, reason: null }],
    });
  }

  it('deletes the offsets of an empty group with tombstones, and the group with its last offsets', async () => {
    const h = harness();
    await emptyGroupWithOffsets(h);
    const before = h.persistence.records.length;
    const first = await h.coordinator.deleteOffsets('g', [{ topic: 't', partition: 0 }]);
    expect(first).toEqual({
      errorCode: ErrorCode.NONE,
      partitions: [{ topic: 't', partition: 0, errorCode: ErrorCode.NONE }],
    });
    expect(state(h)).toBe('Empty');
    await h.coordinator.deleteOffsets('g', [{ topic: 't', partition: 1 }]);
    expect(tombstones(h.persistence.records.slice(before))).toEqual(['t-0', 't-1', 'group g']);
    expect(state(h)).toBe('Dead');
  });

  it('answers COORDINATOR_NOT_AVAILABLE and keeps the offsets when the tombstones cannot be written', async () => {
    const h = harness();
    await emptyGroupWithOffsets(h);
    h.persistence.mode = 'fail';
    expect(
      await h.coordinator.deleteOffsets('g', [
        { topic: 't', partition: 0 },
        { topic: 't', partition: 1 },
      ]),
    ).toEqual({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, partitions: [] });
    expect(state(h)).toBe('Empty');
    expect(await fetchOne(h, 'g', 't', 0)).toBe(1);
    expect(await fetchOne(h, 'g', 't', 1)).toBe(2);
    h.persistence.mode = 'ok';
    const retried = await h.coordinator.deleteOffsets('g', [{ topic: 't', partition: 0 }]);
    expect(retried.errorCode).toBe(ErrorCode.NONE);
    expect(await fetchOne(h, 'g', 't', 0)).toBe(-1);
  });

  it('keeps the offsets of topics a live consumer group subscribes to, per partition', async () => {
    const h = harness();
    const [a] = await stableGroup(h, [{}]);
    await memberCommit(h, a, [offset('t', 0, 1), offset('other', 0, 2)]);
    const result = await h.coordinator.deleteOffsets('g', [
      { topic: 't', partition: 0 },
      { topic: 'other', partition: 0 },
    ]);
    expect(result.partitions.map((p) => p.errorCode)).toEqual([
      ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC,
      ErrorCode.NONE,
    ]);
    expect(tombstones(h.persistence.records)).toEqual(['other-0']);
    expect(await fetchOne(h, 'g', 't', 0)).toBe(1);
  });

  it('refuses a live group of another protocol type, whose subscriptions it cannot read', async () => {
    const h = harness();
    await stableGroup(h, [{ protocolType: 'connect' }]);
    const result = await h.coordinator.deleteOffsets('g', [{ topic: 't', partition: 0 }]);
    expect(result).toEqual({ errorCode: ErrorCode.NON_EMPTY_GROUP, partitions: [] });
  });

  it("counts every topic as subscribed when a consumer group's metadata does not parse", async () => {
    const h = harness();
    const [a] = await stableGroup(h, [
      { protocols: [{ name: 'range', metadata: Buffer.from([0xff]) }] },
    ]);
    await memberCommit(h, a, [offset('t', 0, 1)]);
    const result = await h.coordinator.deleteOffsets('g', [{ topic: 't', partition: 0 }]);
    expect(result.partitions[0].errorCode).toBe(ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);
  });
});
