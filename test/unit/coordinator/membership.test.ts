/** Joining, rebalancing, heartbeats, timeouts, static membership and leaving, as Kafka 3.x does. */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../plugins/kafka/protocol/index.js';
import {
  REBALANCE_MS,
  SESSION_MS,
  harness,
  joinParams,
  settled,
  stableGroup,
  startJoin,
  state,
  subscription,
  syncParams,
  type Harness,
  type JoinedMember,
} from './helpers.js';

const heartbeat = (h: Harness, m: JoinedMember, generationId = m.generationId) =>
  h.coordinator.heartbeat({
    groupId: 'g',
    generationId,
    memberId: m.memberId,
    groupInstanceId: m.groupInstanceId,
  });

const rejoin = (h: Harness, m: JoinedMember, clientId = 'client') =>
  h.coordinator.joinGroup(
    joinParams({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId }),
  );

const leave = (h: Harness, ...members: { memberId: string; groupInstanceId: string | null }[]) =>
  h.coordinator.leaveGroup({
    groupId: 'g',
    members: members.map((m) => ({ ...m, reason: 'shutting down' })),
  });

describe('joining a group', () => {
  it('asks a new member (v4+) to rejoin with a member id made of its client id and a uuid', async () => {
    const h = harness();
    const first = await h.coordinator.joinGroup(joinParams({ clientId: 'app-1' }));
    expect(first).toMatchObject({
      errorCode: ErrorCode.MEMBER_ID_REQUIRED,
      generationId: -1,
      leader: '',
    });
    expect(first.memberId).toMatch(
      /^app-1-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    // The pending member does not start a rebalance.
    expect(state(h)).toBe('Empty');

    const joined = h.coordinator.joinGroup(
      joinParams({ clientId: 'app-1', memberId: first.memberId }),
    );
    await h.clock.advance(0);
    expect(await joined).toMatchObject({
      errorCode: ErrorCode.NONE,
      generationId: 1,
      memberId: first.memberId,
      leader: first.memberId,
      protocolType: 'consumer',
      protocolName: 'range',
    });
  });

  it('lets an older member (v0-3) join at once', async () => {
    const h = harness();
    const joined = h.coordinator.joinGroup(joinParams({ requireKnownMemberId: false }));
    await h.clock.advance(0);
    expect((await joined).errorCode).toBe(ErrorCode.NONE);
  });

  it("gives the leader every member's metadata and followers none", async () => {
    const h = harness();
    const a = await startJoin(h, {
      clientId: 'a',
      protocols: [{ name: 'range', metadata: subscription(['x']) }],
    });
    const b = await startJoin(h, {
      clientId: 'b',
      protocols: [{ name: 'range', metadata: subscription(['y']) }],
    });
    await h.clock.advance(0);
    const [leader, follower] = await Promise.all([a.answer, b.answer]);
    expect(leader.leader).toBe(leader.memberId);
    expect(follower.leader).toBe(leader.memberId);
    expect(follower.members).toEqual([]);
    expect(leader.members).toEqual([
      { memberId: leader.memberId, groupInstanceId: null, metadata: subscription(['x']) },
      { memberId: follower.memberId, groupInstanceId: null, metadata: subscription(['y']) },
    ]);
    expect(state(h)).toBe('CompletingRebalance');
  });

  it('chooses the protocol most members prefer among those all support', async () => {
    const h = harness();
    const meta = subscription(['t']);
    const p = (...names: string[]) => names.map((name) => ({ name, metadata: meta }));
    const joins = [
      await startJoin(h, { protocols: p('sticky', 'range', 'roundrobin') }),
      await startJoin(h, { protocols: p('roundrobin', 'range') }),
      await startJoin(h, { protocols: p('roundrobin', 'range', 'sticky') }),
    ];
    await h.clock.advance(0);
    for (const j of joins) expect((await j.answer).protocolName).toBe('roundrobin');
  });

  it('keeps the leader when it rejoins, and elects one that rejoined otherwise', async () => {
    const h = harness();
    const [a, b, c] = await stableGroup(h, [
      { clientId: 'a' },
      { clientId: 'b' },
      { clientId: 'c' },
    ]);
    const rejoined = await Promise.all([rejoin(h, a), rejoin(h, b), rejoin(h, c)]);
    expect(rejoined.map((r) => r.leader)).toEqual([a.memberId, a.memberId, a.memberId]);
    expect(rejoined[0].generationId).toBe(a.generationId + 1);

    // B changes its subscription; the leader does not rejoin and its session ends.
    const changed = h.coordinator.joinGroup(
      joinParams({
        memberId: b.memberId,
        protocols: [{ name: 'range', metadata: subscription(['t', 'u']) }],
      }),
    );
    const third = rejoin(h, c);
    await h.clock.advance(SESSION_MS);
    const [joinedB, joinedC] = await Promise.all([changed, third]);
    expect(joinedB.leader).toBe(b.memberId);
    expect(joinedC.leader).toBe(b.memberId);
    expect(h.events.map((e) => [e.memberId, e.reason])).toEqual([[a.memberId, 'expired']]);
  });

  it('refuses members beyond group.max.size', async () => {
    const h = harness({ groupMaxSize: 2 });
    await stableGroup(h, [{}, {}]);
    const third = await h.coordinator.joinGroup(joinParams({ requireKnownMemberId: false }));
    expect(third).toMatchObject({ errorCode: ErrorCode.GROUP_MAX_SIZE_REACHED, memberId: '' });
    expect(state(h)).toBe('Stable');
  });

  it('answers a JoinGroup superseded by another from the same member', async () => {
    const h = harness();
    const [a, b, c] = await stableGroup(h, [{}, {}, {}]);
    void rejoin(h, a);
    const first = rejoin(h, b);
    const second = rejoin(h, b);
    expect(await settled(first)).toMatchObject({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS });
    void rejoin(h, c);
    expect(await settled(second)).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 2 });
  });
});

describe('the initial rebalance delay of an empty group', () => {
  const delay = 3000;

  it('waits the delay, extended while new members keep coming, then answers everyone', async () => {
    const h = harness({ groupInitialRebalanceDelayMs: delay });
    const a = await startJoin(h, {});
    await h.clock.advance(2000);
    const b = await startJoin(h, {});
    await h.clock.advance(999);
    expect(await settled(a.answer)).toBe('parked');
    // At 3000 ms B's arrival extends the wait by another delay.
    await h.clock.advance(delay);
    expect(await settled(a.answer)).toBe('parked');
    await h.clock.advance(1);
    const [ja, jb] = await Promise.all([a.answer, b.answer]);
    expect(ja.generationId).toBe(1);
    expect(jb.generationId).toBe(1);
  });

  it('completes after the delay even if every member is in', async () => {
    const h = harness({ groupInitialRebalanceDelayMs: delay });
    const a = await startJoin(h, {});
    await h.clock.advance(delay - 1);
    expect(await settled(a.answer)).toBe('parked');
    await h.clock.advance(1);
    expect((await a.answer).errorCode).toBe(ErrorCode.NONE);
  });

  it('never waits longer than the rebalance timeout', async () => {
    const h = harness({ groupInitialRebalanceDelayMs: delay });
    const a = await startJoin(h, { rebalanceTimeoutMs: 5000 });
    for (let t = 0; t < 4; t++) {
      await h.clock.advance(1000);
      await startJoin(h, { rebalanceTimeoutMs: 5000 });
    }
    await h.clock.advance(999);
    expect(await settled(a.answer)).toBe('parked');
    await h.clock.advance(1);
    expect((await a.answer).errorCode).toBe(ErrorCode.NONE);
  });

  it('is not extended once the group has had a generation (Kafka extends only the first)', async () => {
    const h = harness({ groupInitialRebalanceDelayMs: delay });
    const [a] = await stableGroup(h, [{}]);
    await leave(h, a);
    expect(state(h)).toBe('Empty');
    const b = await startJoin(h, {});
    await h.clock.advance(1000);
    const c = await startJoin(h, {});
    await h.clock.advance(delay - 1000);
    expect((await b.answer).generationId).toBe(3);
    expect((await c.answer).generationId).toBe(3);
  });
});

describe('rebalancing', () => {
  it('removes dynamic members that do not rejoin within the rebalance timeout', async () => {
    const h = harness();
    const [a, b] = await stableGroup(h, [{ clientId: 'a' }, { clientId: 'b' }]);
    const joined = rejoin(h, a, 'a');
    // B heartbeats through the rebalance (learning of it) but never rejoins.
    for (let t = 0; t < REBALANCE_MS; t += 3000) {
      expect(await heartbeat(h, b)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
      await h.clock.advance(3000);
    }
    const result = await joined;
    expect(result).toMatchObject({
      errorCode: ErrorCode.NONE,
      generationId: 2,
      leader: a.memberId,
    });
    expect(result.members.map((m) => m.memberId)).toEqual([a.memberId]);
    expect(h.events).toEqual([
      {
        groupId: 'g',
        memberId: b.memberId,
        groupInstanceId: null,
        clientId: 'b',
        clientHost: '/10.0.0.1',
        reason: 'expired',
      },
    ]);
    expect(await heartbeat(h, b)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('keeps static members that do not rejoin, until their session ends', async () => {
    const h = harness();
    const [a, s] = await stableGroup(h, [{}, { groupInstanceId: 's', sessionTimeoutMs: 60_000 }]);
    const joined = rejoin(h, a);
    for (let t = 0; t < REBALANCE_MS; t += 3000) {
      await heartbeat(h, s);
      await h.clock.advance(3000);
    }
    const result = await joined;
    expect(result.generationId).toBe(2);
    expect(result.members.map((m) => m.memberId)).toEqual([a.memberId, s.memberId]);
    expect(h.events).toEqual([]);
  });

  it('waits for pending members, until their session timeout ends them', async () => {
    const h = harness();
    const [a] = await stableGroup(h, [{}]);
    const pending = await h.coordinator.joinGroup(joinParams({ sessionTimeoutMs: 8000 }));
    expect(pending.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    const joined = rejoin(h, a);
    await h.clock.advance(7999);
    expect(await settled(joined)).toBe('parked');
    await h.clock.advance(1);
    expect((await joined).members).toHaveLength(1);
    // The pending id is forgotten.
    const late = await h.coordinator.joinGroup(joinParams({ memberId: pending.memberId }));
    expect(late.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('starts a rebalance when a pending member rejoins with its id', async () => {
    const h = harness();
    const [a] = await stableGroup(h, [{}]);
    const joining = await startJoin(h, {});
    expect(state(h)).toBe('PreparingRebalance');
    expect(await heartbeat(h, a)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoined = await rejoin(h, a);
    expect(rejoined.members).toHaveLength(2);
    expect((await joining.answer).generationId).toBe(2);
  });

  it('times out a new member whose JoinGroup waits five minutes', async () => {
    const h = harness();
    const [a] = await stableGroup(h, [{ rebalanceTimeoutMs: 600_000, sessionTimeoutMs: 60_000 }]);
    const joining = await startJoin(h, { clientId: 'new' });
    for (let t = 0; t < 300_000; t += 30_000) {
      await heartbeat(h, a);
      await h.clock.advance(30_000);
    }
    expect(await joining.answer).toMatchObject({
      errorCode: ErrorCode.UNKNOWN_MEMBER_ID,
      memberId: '',
    });
    expect(h.events.map((e) => [e.clientId, e.reason])).toEqual([['new', 'expired']]);
  });

  it('becomes Empty, with a new generation stored, when every member leaves', async () => {
    const h = harness();
    const [a, b] = await stableGroup(h, [{}, { groupInstanceId: 'b' }]);
    await leave(h, a, b);
    expect(state(h)).toBe('Empty');
    const last = h.persistence.groupRecords('g').at(-1);
    expect(last).toMatchObject({ generation: 2, protocol: null, leader: null, members: [] });
    expect(h.events.map((e) => e.reason)).toEqual(['left', 'left']);
  });

  it('answers the parked SyncGroups of a rebalance that restarts', async () => {
    const h = harness();
    const [a, b, c] = await stableGroup(h, [{}, {}, {}]);
    const joins = await Promise.all([rejoin(h, a), rejoin(h, b), rejoin(h, c)]);
    const waiting = h.coordinator.syncGroup(syncParams(joins[1]));
    await leave(h, c);
    expect(await waiting).toMatchObject({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS });
    expect(state(h)).toBe('PreparingRebalance');
  });

  it('removes members that do not send SyncGroup in time, and rebalances', async () => {
    const h = harness();
    const long = { sessionTimeoutMs: 60_000 };
    const [a, b] = await stableGroup(h, [long, long]);
    const again = (m: JoinedMember) =>
      h.coordinator.joinGroup(joinParams({ ...long, memberId: m.memberId }));
    const [ja] = await Promise.all([again(a), again(b)]);
    await h.coordinator.syncGroup(syncParams(ja, { assignments: [] }));
    expect(state(h)).toBe('Stable');
    await h.clock.advance(REBALANCE_MS);
    expect(h.events.map((e) => [e.memberId, e.reason])).toEqual([[b.memberId, 'expired']]);
    expect(state(h)).toBe('PreparingRebalance');
  });
});

describe('SyncGroup and the leader assignment', () => {
  it('stores the assignment before the group is Stable and anyone gets it', async () => {
    const h = harness();
    const a = await startJoin(h, {});
    const b = await startJoin(h, {});
    await h.clock.advance(0);
    const [ja, jb] = await Promise.all([a.answer, b.answer]);
    const follower = h.coordinator.syncGroup(syncParams(jb));
    h.persistence.mode = 'hang';
    const leader = h.coordinator.syncGroup(
      syncParams(ja, {
        assignments: [
          { memberId: ja.memberId, assignment: Buffer.from('A') },
          { memberId: jb.memberId, assignment: Buffer.from('B') },
        ],
      }),
    );
    expect(await settled(leader)).toBe('parked');
    expect(await settled(follower)).toBe('parked');
    expect(state(h)).toBe('CompletingRebalance');
    const stored = h.persistence.groupRecords('g').at(-1)!;
    expect(stored.members.map((m) => [m.memberId, m.assignment.toString()])).toEqual([
      [ja.memberId, 'A'],
      [jb.memberId, 'B'],
    ]);
    expect(stored).toMatchObject({
      generation: 1,
      protocol: 'range',
      leader: ja.memberId,
      protocolType: 'consumer',
    });

    await h.persistence.release();
    expect(state(h)).toBe('Stable');
    expect((await leader).assignment.toString()).toBe('A');
    expect(await follower).toMatchObject({
      errorCode: ErrorCode.NONE,
      protocolType: 'consumer',
      protocolName: 'range',
      assignment: Buffer.from('B'),
    });
    const described = h.coordinator.describeGroups(['g'])[0];
    expect(described.members.map((m) => m.assignment.toString())).toEqual(['A', 'B']);
  });

  it('gives members the leader left out an empty assignment', async () => {
    const h = harness();
    const a = await startJoin(h, {});
    const b = await startJoin(h, {});
    await h.clock.advance(0);
    const [ja, jb] = await Promise.all([a.answer, b.answer]);
    const follower = h.coordinator.syncGroup(syncParams(jb));
    await h.coordinator.syncGroup(
      syncParams(ja, { assignments: [{ memberId: ja.memberId, assignment: Buffer.from('A') }] }),
    );
    expect((await follower).assignment).toEqual(Buffer.alloc(0));
  });

  it('answers COORDINATOR_NOT_AVAILABLE and rebalances when the assignment cannot be stored', async () => {
    const h = harness();
    const a = await startJoin(h, {});
    const b = await startJoin(h, {});
    await h.clock.advance(0);
    const [ja, jb] = await Promise.all([a.answer, b.answer]);
    const follower = h.coordinator.syncGroup(syncParams(jb));
    h.persistence.mode = 'fail';
    const leader = await h.coordinator.syncGroup(syncParams(ja, { assignments: [] }));
    expect(leader.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect((await follower).errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(state(h)).toBe('PreparingRebalance');
  });

  it('gives a member of a Stable group its assignment again', async () => {
    const h = harness();
    const [, b] = await stableGroup(h, [{}, {}]);
    const again = await h.coordinator.syncGroup(syncParams(b));
    expect(again.assignment.toString()).toBe(`assignment-${b.memberId}`);
  });
});

describe('sessions', () => {
  it('expires a member that stops heartbeating, exactly one session timeout after its last heartbeat', async () => {
    const h = harness();
    const [a, b] = await stableGroup(h, [{ clientId: 'a' }, { clientId: 'b' }]);
    await h.clock.advance(4000);
    expect(await heartbeat(h, a)).toBe(ErrorCode.NONE);
    expect(await heartbeat(h, b)).toBe(ErrorCode.NONE);
    await h.clock.advance(4000);
    expect(await heartbeat(h, a)).toBe(ErrorCode.NONE);
    await h.clock.advance(SESSION_MS - 4000 - 1);
    expect(h.events).toEqual([]);
    await h.clock.advance(1);
    expect(h.events).toMatchObject([{ memberId: b.memberId, clientId: 'b', reason: 'expired' }]);
    expect(await heartbeat(h, a)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(await heartbeat(h, b)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('does not expire a member whose JoinGroup waits on the rebalance', async () => {
    const h = harness();
    const [a, b] = await stableGroup(h, [{}, {}]);
    const joined = rejoin(h, a);
    for (let t = 0; t < 5; t++) {
      await heartbeat(h, b);
      await h.clock.advance(5000);
    }
    // A parked its JoinGroup 25 s ago, longer than its session: it is still in.
    void rejoin(h, b);
    expect((await joined).members).toHaveLength(2);
    expect(h.events).toEqual([]);
  });

  it('counts heartbeats while waiting for the assignment (CompletingRebalance)', async () => {
    const h = harness();
    const [a, b] = await stableGroup(h, [{}, {}]);
    const [ja, jb] = await Promise.all([rejoin(h, a), rejoin(h, b)]);
    for (let t = 0; t < 4; t++) {
      await h.clock.advance(5000);
      expect(await heartbeat(h, { ...a, generationId: ja.generationId })).toBe(ErrorCode.NONE);
      expect(await heartbeat(h, { ...b, generationId: jb.generationId })).toBe(ErrorCode.NONE);
    }
    expect(state(h)).toBe('CompletingRebalance');
  });

  it('counts an offset commit as a heartbeat', async () => {
    const h = harness();
    const [a] = await stableGroup(h, [{}]);
    for (let t = 0; t < 5; t++) {
      await h.clock.advance(5000);
      await h.coordinator.commitOffsets({
        groupId: 'g',
        generationId: a.generationId,
        memberId: a.memberId,
        groupInstanceId: null,
        retentionTimeMs: -1,
        offsets: [{ topic: 't', partition: 0, offset: t, leaderEpoch: -1, metadata: null }],
      });
    }
    expect(h.events).toEqual([]);
  });
});

describe('static membership (KIP-345)', () => {
  async function staticGroup(h: Harness) {
    return stableGroup(h, [
      { clientId: 'a' },
      { clientId: 'b', groupInstanceId: 'b-instance', clientHost: '/10.0.0.2' },
    ]);
  }

  it('lets a static member restart without a rebalance, fencing its old member id', async () => {
    const h = harness();
    const [a, b] = await staticGroup(h);
    const appendsBefore = h.persistence.appends.length;
    const restarted = await h.coordinator.joinGroup(
      joinParams({ clientId: 'b', groupInstanceId: 'b-instance', clientHost: '/10.0.0.3' }),
    );
    expect(restarted).toMatchObject({
      errorCode: ErrorCode.NONE,
      generationId: b.generationId,
      leader: a.memberId,
      members: [],
      protocolName: 'range',
    });
    expect(restarted.memberId).toMatch(/^b-instance-/);
    expect(state(h)).toBe('Stable');
    // The new member id was stored before the answer.
    const stored = h.persistence.appends.slice(appendsBefore).flatMap((x) => x.records);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ kind: 'group', value: { generation: b.generationId } });
    expect(stored[0].kind === 'group' && stored[0].value?.members.map((m) => m.memberId)).toEqual([
      a.memberId,
      restarted.memberId,
    ]);

    expect(h.events).toEqual([
      {
        groupId: 'g',
        memberId: b.memberId,
        groupInstanceId: 'b-instance',
        clientId: 'b',
        clientHost: '/10.0.0.2',
        reason: 'fenced',
      },
    ]);
    expect(await heartbeat(h, b)).toBe(ErrorCode.FENCED_INSTANCE_ID);
    const renewed = {
      memberId: restarted.memberId,
      groupInstanceId: 'b-instance',
      generationId: b.generationId,
    };
    expect(await heartbeat(h, renewed)).toBe(ErrorCode.NONE);
    const sync = await h.coordinator.syncGroup({
      ...syncParams(restarted),
      groupInstanceId: 'b-instance',
    });
    expect(sync.assignment.toString()).toBe(`assignment-${b.memberId}`);
    expect(h.coordinator.describeGroups(['g'])[0].members[1]).toMatchObject({
      memberId: restarted.memberId,
      clientHost: '/10.0.0.3',
    });
  });

  it('does not tell a restarted static leader that it leads', async () => {
    const h = harness();
    const [s] = await stableGroup(h, [{ groupInstanceId: 'leader' }, {}]);
    const restarted = await h.coordinator.joinGroup(joinParams({ groupInstanceId: 'leader' }));
    expect(restarted.leader).toBe(s.memberId);
    expect(restarted.memberId).not.toBe(s.memberId);
    expect(h.coordinator.describeGroups(['g'])[0].members[1].memberId).toBe(restarted.memberId);
  });

  it('rebalances when the restarted member changes the protocol the group would choose', async () => {
    const h = harness();
    const range = { name: 'range', metadata: subscription(['t']) };
    const roundrobin = { name: 'roundrobin', metadata: subscription(['t']) };
    await stableGroup(h, [
      { protocols: [range, roundrobin] },
      { groupInstanceId: 's', protocols: [range, roundrobin] },
    ]);
    // Supporting only roundrobin now, it leaves the group no other choice.
    const restarted = h.coordinator.joinGroup(
      joinParams({ groupInstanceId: 's', protocols: [roundrobin] }),
    );
    expect(await settled(restarted)).toBe('parked');
    expect(state(h)).toBe('PreparingRebalance');
    expect(h.events.map((e) => e.reason)).toEqual(['fenced']);
  });

  it('rebalances when a static member restarts while the group completes a rebalance', async () => {
    const h = harness();
    const [a, b] = await staticGroup(h);
    await Promise.all([rejoin(h, a), rejoin(h, b)]);
    expect(state(h)).toBe('CompletingRebalance');
    void h.coordinator.joinGroup(joinParams({ groupInstanceId: 'b-instance' }));
    expect(state(h)).toBe('PreparingRebalance');
  });

  it('fences requests parked under the old member id', async () => {
    const h = harness();
    const [a, b] = await staticGroup(h);
    const [, jb] = await Promise.all([rejoin(h, a), rejoin(h, b)]);
    const parked = h.coordinator.syncGroup({ ...syncParams(jb), groupInstanceId: 'b-instance' });
    void h.coordinator.joinGroup(joinParams({ groupInstanceId: 'b-instance' }));
    expect((await parked).errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
  });

  it('keeps the old member id when the restart cannot be stored', async () => {
    const h = harness();
    const [, b] = await staticGroup(h);
    h.persistence.mode = 'fail';
    const restarted = await h.coordinator.joinGroup(joinParams({ groupInstanceId: 'b-instance' }));
    expect(restarted).toMatchObject({
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      memberId: '',
    });
    expect(await heartbeat(h, b)).toBe(ErrorCode.NONE);
    expect(h.events).toEqual([]);
    expect(h.coordinator.describeGroups(['g'])[0].members[1]).toMatchObject({
      memberId: b.memberId,
      clientHost: '/10.0.0.2',
    });
  });

  it('does not remove a static member on a leave naming another member id (v0-2)', async () => {
    const h = harness();
    const [, b] = await staticGroup(h);
    const stale = await h.coordinator.leaveGroup({
      groupId: 'g',
      members: [{ memberId: 'b-instance-old', groupInstanceId: null, reason: null }],
    });
    expect(stale.members[0].errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const own = await h.coordinator.leaveGroup({
      groupId: 'g',
      members: [{ memberId: b.memberId, groupInstanceId: null, reason: null }],
    });
    expect(own.members[0].errorCode).toBe(ErrorCode.NONE);
    expect(h.events.map((e) => [e.memberId, e.reason])).toEqual([[b.memberId, 'left']]);
  });
});

describe('LeaveGroup', () => {
  it('removes members in a batch (v3+), by member id or by group.instance.id, each with its error', async () => {
    const h = harness();
    const [a, b, c] = await stableGroup(h, [
      { clientId: 'a' },
      { clientId: 'b', groupInstanceId: 'b-instance' },
      { clientId: 'c', groupInstanceId: 'c-instance' },
    ]);
    const result = await h.coordinator.leaveGroup({
      groupId: 'g',
      members: [
        { memberId: '', groupInstanceId: 'b-instance', reason: 'admin' },
        { memberId: '', groupInstanceId: 'nobody', reason: null },
        { memberId: 'old-c', groupInstanceId: 'c-instance', reason: null },
        { memberId: a.memberId, groupInstanceId: null, reason: null },
      ],
    });
    expect(result).toEqual({
      errorCode: ErrorCode.NONE,
      members: [
        { memberId: '', groupInstanceId: 'b-instance', errorCode: ErrorCode.NONE },
        { memberId: '', groupInstanceId: 'nobody', errorCode: ErrorCode.UNKNOWN_MEMBER_ID },
        {
          memberId: 'old-c',
          groupInstanceId: 'c-instance',
          errorCode: ErrorCode.FENCED_INSTANCE_ID,
        },
        { memberId: a.memberId, groupInstanceId: null, errorCode: ErrorCode.NONE },
      ],
    });
    expect(h.events.map((e) => [e.clientId, e.reason])).toEqual([
      ['b', 'left'],
      ['a', 'left'],
    ]);
    expect(h.coordinator.describeGroups(['g'])[0].members.map((m) => m.memberId)).toEqual([
      c.memberId,
    ]);
    expect(state(h)).toBe('PreparingRebalance');
    expect((await rejoin(h, c)).generationId).toBe(b.generationId + 1);
  });

  it('forgets a pending member that leaves, completing a rebalance that waited for it', async () => {
    const h = harness();
    const [a] = await stableGroup(h, [{}]);
    const pending = await h.coordinator.joinGroup(joinParams());
    const joined = rejoin(h, a);
    expect(await settled(joined)).toBe('parked');
    await leave(h, { memberId: pending.memberId, groupInstanceId: null });
    expect((await joined).generationId).toBe(2);
    expect(h.events).toEqual([]);
  });

  it('answers the parked JoinGroup of a member that leaves', async () => {
    const h = harness();
    const [a, b] = await stableGroup(h, [{}, {}]);
    const parked = rejoin(h, a);
    await leave(h, a);
    expect(await parked).toMatchObject({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID });
    // B is now the only member and its rejoin completes the rebalance.
    expect((await rejoin(h, b)).leader).toBe(b.memberId);
  });
});
