/**
 * The answer of every group API in every group state, as Kafka's classic coordinator gives it.
 * Each cell starts from a fresh group 'g' with a dynamic leader A and a static follower B
 * (group.instance.id 'b-instance'), both subscribed to topic 't', with offset 42 committed for
 * t-0 while Stable, then put in the column's state. The last column is that Stable group after
 * the coordinator shut down: Kafka's inactive coordinator answers COORDINATOR_NOT_AVAILABLE to
 * everything but an invalid group id (GroupCoordinator.validateGroupStatus, handleListGroups).
 */
import { describe, expect, it } from 'vitest';
import { offsetsPartitionFor } from '../../../plugins/kafka/coordinator/placement.js';
import { ErrorCode } from '../../../plugins/kafka/protocol/index.js';
import {
  CONFIG,
  flush,
  harness,
  joinParams,
  settled,
  stableGroup,
  state,
  subscription,
  type Harness,
} from './helpers.js';

const STATES = [
  'unknown',
  'Empty',
  'PreparingRebalance',
  'CompletingRebalance',
  'Stable',
  'Dead',
  'loading',
  'not coordinator',
  'shut down',
] as const;
type StateName = (typeof STATES)[number];

const B_INSTANCE = 'b-instance';

interface Fixture {
  h: Harness;
  a: string;
  b: string;
  generationId: number;
}

const codeNames = new Map<number, string>(
  Object.entries(ErrorCode).map(([name, code]) => [code, name]),
);
const name = (code: number) => codeNames.get(code) ?? `code ${code}`;

async function fixture(s: StateName): Promise<Fixture> {
  const gPartition = offsetsPartitionFor('g', CONFIG.offsetsTopicNumPartitions);
  if (s === 'not coordinator' || s === 'loading') {
    const h = harness({}, (p) => p !== gPartition);
    if (s === 'loading') h.coordinator.beginLoad(gPartition);
    return { h, a: 'a-1', b: 'b-1', generationId: 1 };
  }
  const h = harness();
  if (s === 'unknown') return { h, a: 'a-1', b: 'b-1', generationId: 1 };
  const shutDown = s === 'shut down';

  const [a, b] = await stableGroup(h, [
    { clientId: 'a' },
    { clientId: 'b', groupInstanceId: B_INSTANCE },
  ]);
  const committed = await h.coordinator.commitOffsets({
    groupId: 'g',
    generationId: b.generationId,
    memberId: b.memberId,
    groupInstanceId: B_INSTANCE,
    retentionTimeMs: -1,
    offsets: [{ topic: 't', partition: 0, offset: 42, leaderEpoch: 3, metadata: null }],
  });
  expect(committed.partitions[0].errorCode).toBe(ErrorCode.NONE);
  let generationId = b.generationId;
  const rejoinA = () =>
    h.coordinator.joinGroup(joinParams({ clientId: 'a', memberId: a.memberId }));
  const rejoinB = () =>
    h.coordinator.joinGroup(
      joinParams({ clientId: 'b', memberId: b.memberId, groupInstanceId: B_INSTANCE }),
    );
  const leave = (memberId: string, groupInstanceId: string | null) =>
    h.coordinator.leaveGroup({
      groupId: 'g',
      members: [{ memberId, groupInstanceId, reason: null }],
    });

  switch (s) {
    case 'PreparingRebalance':
      // A new member (JoinGroup v3, no member id needed) waits for A and B to rejoin.
      void h.coordinator.joinGroup(joinParams({ clientId: 'c', requireKnownMemberId: false }));
      await flush();
      break;
    case 'CompletingRebalance': {
      const [joinedA] = await Promise.all([rejoinA(), rejoinB()]);
      generationId = joinedA.generationId;
      break;
    }
    case 'Empty':
    case 'Dead':
      await leave(a.memberId, null);
      await leave(b.memberId, B_INSTANCE);
      generationId += 1;
      if (s === 'Dead') {
        // Deleted, with its tombstones still being written.
        h.persistence.mode = 'hang';
        void h.coordinator.deleteGroups(['g']);
        await flush();
      }
      break;
    case 'Stable':
    case 'shut down':
      break;
  }
  expect(state(h)).toBe(shutDown ? 'Stable' : s);
  if (shutDown) h.coordinator.shutdown();
  return { h, a: a.memberId, b: b.memberId, generationId };
}

type Outcome = string;
interface Case {
  api: string;
  input: string;
  run(f: Fixture): Promise<Outcome>;
  /** In the order of STATES. */
  expected: readonly Outcome[];
}

const NONE = 'NONE';
const PARKED = 'parked';
const UMI = 'UNKNOWN_MEMBER_ID';
const MIR = 'MEMBER_ID_REQUIRED';
const CNA = 'COORDINATOR_NOT_AVAILABLE';
const LIP = 'COORDINATOR_LOAD_IN_PROGRESS';
const NC = 'NOT_COORDINATOR';
const IGP = 'INCONSISTENT_GROUP_PROTOCOL';
const IST = 'INVALID_SESSION_TIMEOUT';
const IGI = 'INVALID_GROUP_ID';
const RIP = 'REBALANCE_IN_PROGRESS';
const IG = 'ILLEGAL_GENERATION';
const FII = 'FENCED_INSTANCE_ID';
const OMTL = 'OFFSET_METADATA_TOO_LARGE';
const GNF = 'GROUP_ID_NOT_FOUND';
const NEG = 'NON_EMPTY_GROUP';
const GST = 'GROUP_SUBSCRIBED_TO_TOPIC';

const join = async (f: Fixture, overrides: Parameters<typeof joinParams>[0]) => {
  const result = await settled(f.h.coordinator.joinGroup(joinParams(overrides)));
  return result === 'parked' ? PARKED : name(result.errorCode);
};

const sync = async (
  f: Fixture,
  overrides: {
    memberId?: string;
    generationId?: number;
    groupInstanceId?: string | null;
    protocolName?: string | null;
    groupId?: string;
  },
) => {
  const result = await settled(
    f.h.coordinator.syncGroup({
      groupId: 'g',
      generationId: f.generationId,
      memberId: f.b,
      groupInstanceId: B_INSTANCE,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [],
      ...overrides,
    }),
  );
  return result === 'parked' ? PARKED : name(result.errorCode);
};

const heartbeat = async (
  f: Fixture,
  overrides: {
    memberId?: string;
    generationId?: number;
    groupInstanceId?: string | null;
    groupId?: string;
  },
) =>
  name(
    await f.h.coordinator.heartbeat({
      groupId: 'g',
      generationId: f.generationId,
      memberId: f.b,
      groupInstanceId: B_INSTANCE,
      ...overrides,
    }),
  );

const leave = async (
  f: Fixture,
  memberId: string,
  groupInstanceId: string | null,
  groupId = 'g',
) => {
  const result = await f.h.coordinator.leaveGroup({
    groupId,
    members: [{ memberId, groupInstanceId, reason: null }],
  });
  return name(result.errorCode !== ErrorCode.NONE ? result.errorCode : result.members[0].errorCode);
};

const commit = async (
  f: Fixture,
  overrides: {
    memberId?: string;
    generationId?: number;
    groupInstanceId?: string | null;
    metadata?: string;
  },
) => {
  const result = await settled(
    f.h.coordinator.commitOffsets({
      groupId: 'g',
      generationId: f.generationId,
      memberId: f.b,
      groupInstanceId: B_INSTANCE,
      retentionTimeMs: -1,
      offsets: [
        {
          topic: 't',
          partition: 0,
          offset: 7,
          leaderEpoch: -1,
          metadata: overrides.metadata ?? null,
        },
      ],
      ...overrides,
    }),
  );
  return result === 'parked' ? PARKED : name(result.partitions[0].errorCode);
};

const simpleCommit = { memberId: '', generationId: -1, groupInstanceId: null };

const CASES: Case[] = [
  // ------------------------------------------------------------------ JoinGroup
  {
    api: 'JoinGroup',
    input: 'new dynamic member (v4+)',
    run: (f) => join(f, {}),
    expected: [MIR, MIR, MIR, MIR, MIR, CNA, LIP, NC, CNA],
  },
  {
    api: 'JoinGroup',
    input: 'unknown member id',
    run: (f) => join(f, { memberId: 'ghost' }),
    expected: [UMI, UMI, UMI, UMI, UMI, CNA, LIP, NC, CNA],
  },
  {
    api: 'JoinGroup',
    input: 'follower rejoining with unchanged metadata',
    run: (f) => join(f, { memberId: f.b, groupInstanceId: B_INSTANCE }),
    expected: [UMI, UMI, PARKED, NONE, NONE, CNA, LIP, NC, CNA],
  },
  {
    api: 'JoinGroup',
    input: 'stale member id of a static instance',
    run: (f) => join(f, { memberId: 'stale', groupInstanceId: B_INSTANCE }),
    expected: [UMI, UMI, FII, FII, FII, CNA, LIP, NC, CNA],
  },
  {
    api: 'JoinGroup',
    input: 'another protocol type',
    run: (f) => join(f, { protocolType: 'connect' }),
    expected: [MIR, MIR, IGP, IGP, IGP, CNA, LIP, NC, CNA],
  },
  {
    api: 'JoinGroup',
    input: 'no protocol in common',
    run: (f) => join(f, { protocols: [{ name: 'roundrobin', metadata: subscription(['t']) }] }),
    expected: [MIR, MIR, IGP, IGP, IGP, CNA, LIP, NC, CNA],
  },
  {
    api: 'JoinGroup',
    input: 'session timeout below the minimum',
    run: (f) => join(f, { sessionTimeoutMs: 1000 }),
    expected: [IST, IST, IST, IST, IST, IST, LIP, NC, CNA],
  },
  {
    api: 'JoinGroup',
    input: 'empty group id',
    run: (f) => join(f, { groupId: '' }),
    expected: [IGI, IGI, IGI, IGI, IGI, IGI, IGI, IGI, IGI],
  },
  // ------------------------------------------------------------------ SyncGroup
  {
    api: 'SyncGroup',
    input: 'follower of the current generation',
    run: (f) => sync(f, {}),
    expected: [UMI, UMI, RIP, PARKED, NONE, CNA, RIP, NC, CNA],
  },
  {
    api: 'SyncGroup',
    input: 'unknown member id',
    run: (f) => sync(f, { memberId: 'ghost', groupInstanceId: null }),
    expected: [UMI, UMI, UMI, UMI, UMI, CNA, RIP, NC, CNA],
  },
  {
    api: 'SyncGroup',
    input: 'another generation',
    run: (f) => sync(f, { generationId: f.generationId + 5 }),
    expected: [UMI, UMI, IG, IG, IG, CNA, RIP, NC, CNA],
  },
  {
    api: 'SyncGroup',
    input: 'another protocol name (v5)',
    run: (f) => sync(f, { protocolName: 'roundrobin' }),
    expected: [UMI, UMI, IGP, IGP, IGP, CNA, RIP, NC, CNA],
  },
  {
    api: 'SyncGroup',
    input: 'stale member id of a static instance',
    run: (f) => sync(f, { memberId: 'stale' }),
    expected: [UMI, UMI, FII, FII, FII, CNA, RIP, NC, CNA],
  },
  {
    api: 'SyncGroup',
    input: 'empty group id',
    run: (f) => sync(f, { groupId: '' }),
    expected: [IGI, IGI, IGI, IGI, IGI, IGI, IGI, IGI, IGI],
  },
  // ------------------------------------------------------------------ Heartbeat
  {
    api: 'Heartbeat',
    input: 'member of the current generation',
    run: (f) => heartbeat(f, {}),
    expected: [UMI, UMI, RIP, NONE, NONE, CNA, NONE, NC, CNA],
  },
  {
    api: 'Heartbeat',
    input: 'unknown member id',
    run: (f) => heartbeat(f, { memberId: 'ghost', groupInstanceId: null }),
    expected: [UMI, UMI, UMI, UMI, UMI, CNA, NONE, NC, CNA],
  },
  {
    api: 'Heartbeat',
    input: 'another generation',
    run: (f) => heartbeat(f, { generationId: f.generationId + 5 }),
    expected: [UMI, UMI, IG, IG, IG, CNA, NONE, NC, CNA],
  },
  {
    api: 'Heartbeat',
    input: 'stale member id of a static instance',
    run: (f) => heartbeat(f, { memberId: 'stale' }),
    expected: [UMI, UMI, FII, FII, FII, CNA, NONE, NC, CNA],
  },
  {
    api: 'Heartbeat',
    input: 'empty group id',
    run: (f) => heartbeat(f, { groupId: '' }),
    expected: [IGI, IGI, IGI, IGI, IGI, IGI, IGI, IGI, IGI],
  },
  // ------------------------------------------------------------------ LeaveGroup
  {
    api: 'LeaveGroup',
    input: 'member leaving',
    run: (f) => leave(f, f.b, B_INSTANCE),
    expected: [UMI, UMI, NONE, NONE, NONE, CNA, LIP, NC, CNA],
  },
  {
    api: 'LeaveGroup',
    input: 'unknown member id (v0-2)',
    run: (f) => leave(f, 'ghost', null),
    expected: [UMI, UMI, UMI, UMI, UMI, CNA, LIP, NC, CNA],
  },
  {
    api: 'LeaveGroup',
    input: 'stale member id of a static instance',
    run: (f) => leave(f, 'stale', B_INSTANCE),
    expected: [UMI, UMI, FII, FII, FII, CNA, LIP, NC, CNA],
  },
  {
    api: 'LeaveGroup',
    input: 'unknown group.instance.id alone (v3+)',
    run: (f) => leave(f, '', 'nobody'),
    expected: [UMI, UMI, UMI, UMI, UMI, CNA, LIP, NC, CNA],
  },
  {
    api: 'LeaveGroup',
    input: 'empty group id',
    run: (f) => leave(f, f.b, B_INSTANCE, ''),
    expected: [IGI, IGI, IGI, IGI, IGI, IGI, IGI, IGI, IGI],
  },
  // ------------------------------------------------------------------ OffsetCommit
  {
    api: 'OffsetCommit',
    input: 'commit from outside the group (generation -1)',
    run: (f) => commit(f, simpleCommit),
    expected: [NONE, NONE, UMI, UMI, UMI, CNA, LIP, NC, CNA],
  },
  {
    api: 'OffsetCommit',
    input: 'member of the current generation',
    run: (f) => commit(f, {}),
    expected: [IG, UMI, NONE, RIP, NONE, CNA, LIP, NC, CNA],
  },
  {
    api: 'OffsetCommit',
    input: 'another generation',
    run: (f) => commit(f, { generationId: f.generationId + 5 }),
    expected: [IG, UMI, IG, IG, IG, CNA, LIP, NC, CNA],
  },
  {
    api: 'OffsetCommit',
    input: 'unknown member id',
    run: (f) => commit(f, { memberId: 'ghost', groupInstanceId: null }),
    expected: [IG, UMI, UMI, UMI, UMI, CNA, LIP, NC, CNA],
  },
  {
    api: 'OffsetCommit',
    input: 'stale member id of a static instance',
    run: (f) => commit(f, { memberId: 'stale' }),
    expected: [IG, UMI, FII, FII, FII, CNA, LIP, NC, CNA],
  },
  {
    api: 'OffsetCommit',
    input: 'metadata over offsetMetadataMaxSize, from outside the group',
    run: (f) =>
      commit(f, { ...simpleCommit, metadata: 'x'.repeat(CONFIG.offsetMetadataMaxSize + 1) }),
    expected: [OMTL, OMTL, UMI, UMI, UMI, CNA, LIP, NC, CNA],
  },
  // ------------------------------------------------------------------ OffsetFetch
  {
    api: 'OffsetFetch',
    input: 't-0',
    run: async (f) => {
      const result = await f.h.coordinator.fetchOffsets({
        groupId: 'g',
        partitions: [{ topic: 't', partition: 0 }],
      });
      return result.errorCode !== ErrorCode.NONE
        ? name(result.errorCode)
        : `offset ${result.partitions[0].offset}`;
    },
    expected: [
      'offset -1',
      'offset 42',
      'offset 42',
      'offset 42',
      'offset 42',
      'offset -1',
      LIP,
      NC,
      CNA,
    ],
  },
  // ------------------------------------------------------------------ DescribeGroups
  {
    api: 'DescribeGroups',
    input: 'g',
    run: async (f) => {
      const [d] = f.h.coordinator.describeGroups(['g']);
      return d.errorCode !== ErrorCode.NONE ? name(d.errorCode) : d.state;
    },
    expected: [
      'Dead',
      'Empty',
      'PreparingRebalance',
      'CompletingRebalance',
      'Stable',
      'Dead',
      LIP,
      NC,
      CNA,
    ],
  },
  // ------------------------------------------------------------------ ListGroups
  {
    api: 'ListGroups',
    input: 'no filter',
    run: async (f) => {
      const result = f.h.coordinator.listGroups([]);
      if (result.errorCode !== ErrorCode.NONE) return name(result.errorCode);
      return result.groups.find((g) => g.groupId === 'g')?.state ?? 'absent';
    },
    expected: [
      'absent',
      'Empty',
      'PreparingRebalance',
      'CompletingRebalance',
      'Stable',
      'absent',
      LIP,
      'absent',
      CNA,
    ],
  },
  // ------------------------------------------------------------------ DeleteGroups
  {
    api: 'DeleteGroups',
    input: 'g',
    run: async (f) => name((await f.h.coordinator.deleteGroups(['g']))[0].errorCode),
    expected: [GNF, NONE, NEG, NEG, NEG, GNF, LIP, NC, CNA],
  },
  // ------------------------------------------------------------------ OffsetDelete
  {
    api: 'OffsetDelete',
    input: 'a subscribed topic',
    run: async (f) => {
      const result = await f.h.coordinator.deleteOffsets('g', [{ topic: 't', partition: 0 }]);
      return name(
        result.errorCode !== ErrorCode.NONE ? result.errorCode : result.partitions[0].errorCode,
      );
    },
    expected: [GNF, NONE, GST, GST, GST, GNF, LIP, NC, CNA],
  },
  {
    api: 'OffsetDelete',
    input: 'a topic nobody subscribes to',
    run: async (f) => {
      const result = await f.h.coordinator.deleteOffsets('g', [{ topic: 'other', partition: 0 }]);
      return name(
        result.errorCode !== ErrorCode.NONE ? result.errorCode : result.partitions[0].errorCode,
      );
    },
    expected: [GNF, NONE, NONE, NONE, NONE, GNF, LIP, NC, CNA],
  },
  {
    api: 'OffsetDelete',
    input: 'empty group id',
    run: async (f) =>
      name((await f.h.coordinator.deleteOffsets('', [{ topic: 't', partition: 0 }])).errorCode),
    expected: [IGI, IGI, IGI, IGI, IGI, IGI, IGI, IGI, IGI],
  },
];

describe('group API answers in every group state', () => {
  it('covers every API', () => {
    expect(new Set(CASES.map((c) => c.api))).toEqual(
      new Set([
        'JoinGroup',
        'SyncGroup',
        'Heartbeat',
        'LeaveGroup',
        'OffsetCommit',
        'OffsetFetch',
        'DescribeGroups',
        'ListGroups',
        'DeleteGroups',
        'OffsetDelete',
      ]),
    );
    for (const c of CASES) expect(c.expected).toHaveLength(STATES.length);
  });

  describe.each(CASES)('$api, $input', (c) => {
    it.each(STATES.map((s, i) => [s, c.expected[i]] as const))('in %s: %s', async (s, expected) => {
      expect(await c.run(await fixture(s))).toBe(expected);
    });
  });
});
