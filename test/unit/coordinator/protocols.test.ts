/**
 * Protocol selection never throws: a JoinGroup naming a protocol twice counts it once (the first
 * occurrence wins, as Kafka keys the list by name), and members that share no protocol are
 * refused rather than wedging the rebalance.
 */
import { describe, expect, it } from 'vitest';
import {
  NO_GROUP_EVENTS,
  type CoordinatorContext,
} from '../../../plugins/kafka/coordinator/context.js';
import { Group } from '../../../plugins/kafka/coordinator/group.js';
import { Member, uniqueProtocols } from '../../../plugins/kafka/coordinator/member.js';
import { Membership } from '../../../plugins/kafka/coordinator/membership.js';
import type {
  JoinGroupResult,
  MemberRemovedEvent,
} from '../../../plugins/kafka/coordinator/types.js';
import { ErrorCode } from '../../../plugins/kafka/protocol/index.js';
import {
  CONFIG,
  ManualClock,
  REBALANCE_MS,
  SESSION_MS,
  harness,
  joinParams,
  silentLogger,
  stableGroup,
  startJoin,
  state,
  subscription,
} from './helpers.js';

const first = subscription(['t']);
const second = subscription(['u']);
const protocol = (name: string, metadata = first) => ({ name, metadata });

describe('a JoinGroup naming a protocol twice', () => {
  it('keeps the first occurrence of each name', () => {
    expect(
      uniqueProtocols([protocol('range'), protocol('range', second), protocol('roundrobin')]),
    ).toEqual([protocol('range'), protocol('roundrobin')]);
  });

  it('completes the rebalance from the join timer, with the first metadata given', async () => {
    const h = harness();
    const joining = await startJoin(h, {
      protocols: [protocol('range'), protocol('range', second)],
    });
    await h.clock.advance(0);
    const joined = await joining.answer;
    expect(joined).toMatchObject({ errorCode: ErrorCode.NONE, protocolName: 'range' });
    expect(joined.members).toEqual([
      { memberId: joined.memberId, groupInstanceId: null, metadata: first },
    ]);
    expect(state(h)).toBe('CompletingRebalance');
  });

  it('completes the rebalance from a request, without bumping the generation twice', async () => {
    const h = harness();
    const [a, b] = await stableGroup(h, [{}, {}]);
    const doubled = [protocol('range', second), protocol('range'), protocol('roundrobin')];
    const rejoinA = h.coordinator.joinGroup(
      joinParams({ memberId: a.memberId, protocols: doubled }),
    );
    const rejoinB = h.coordinator.joinGroup(joinParams({ memberId: b.memberId }));
    const [joinedA, joinedB] = await Promise.all([rejoinA, rejoinB]);
    for (const joined of [joinedA, joinedB]) {
      expect(joined).toMatchObject({
        errorCode: ErrorCode.NONE,
        generationId: a.generationId + 1,
        protocolName: 'range',
      });
    }
    expect(joinedA.members.find((m) => m.memberId === a.memberId)?.metadata).toEqual(second);
    expect(state(h)).toBe('CompletingRebalance');
  });

  it('still refuses at join time a member sharing no protocol with the group', async () => {
    const h = harness();
    await stableGroup(h, [{}]);
    const refused = await h.coordinator.joinGroup(
      joinParams({
        requireKnownMemberId: false,
        protocols: [protocol('roundrobin'), protocol('roundrobin')],
      }),
    );
    expect(refused.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect(state(h)).toBe('Stable');
  });
});

describe('members without a common protocol', () => {
  const member = (memberId: string, ...names: string[]) =>
    new Member(
      memberId,
      null,
      'client',
      '/10.0.0.1',
      REBALANCE_MS,
      SESSION_MS,
      'consumer',
      names.map((name) => protocol(name)),
    );

  it('select no protocol rather than throwing', () => {
    const group = new Group('g', 0, 'Empty', 0);
    group.add(member('a', 'range'), null);
    group.add(member('b', 'roundrobin'), null);
    expect(group.selectProtocol()).toBeNull();
    expect(member('c', 'range').vote(new Set(['sticky']))).toBeNull();
    expect(group.membersWithoutCommonProtocol().map((m) => m.memberId)).toEqual(['b']);
  });

  it('are refused with INCONSISTENT_GROUP_PROTOCOL when the join phase completes, and the rest go on', async () => {
    const clock = new ManualClock();
    const events: MemberRemovedEvent[] = [];
    const ctx: CoordinatorContext = {
      config: CONFIG,
      clock,
      logger: silentLogger,
      storeGroup: () => Promise.resolve(ErrorCode.NONE),
      memberRemoved: (event) => events.push(event),
      events: NO_GROUP_EVENTS,
    };
    const membership = new Membership(ctx);
    const group = new Group('g', 0, 'Empty', clock.now());
    const answers = new Map<string, JoinGroupResult>();
    membership.join(group, joinParams({ requireKnownMemberId: false, clientId: 'a' }), (result) =>
      answers.set('a', result),
    );
    // Past JoinGroup's check, as nothing should ever get.
    group.add(member('intruder', 'roundrobin'), (result) => answers.set('intruder', result));
    await clock.advance(0);
    expect(answers.get('intruder')?.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect(answers.get('a')).toMatchObject({ errorCode: ErrorCode.NONE, protocolName: 'range' });
    expect(group.state).toBe('CompletingRebalance');
    expect(events.map((e) => [e.memberId, e.reason])).toEqual([['intruder', 'refused']]);
  });
});
