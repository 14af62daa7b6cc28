import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeStoredRecord,
  encodeStoredRecord,
} from '../../../plugins/kafka/coordinator/offsets-records.js';
import type {
  GroupRecord,
  MemberRecord,
  OffsetRecord,
  StoredRecord,
} from '../../../plugins/kafka/coordinator/types.js';
import { ProtocolDecodeError } from '../../../plugins/kafka/protocol/index.js';

/** Hex with spaces and comments (`#` to the end of a line) allowed. */
const hex = (s: string): Buffer =>
  Buffer.from(
    s
      .split('\n')
      .map((l) => l.replace(/#.*/, ''))
      .join('')
      .replace(/\s+/g, ''),
    'hex',
  );
/** int16-length string. */
const str = (s: string): string =>
  Buffer.from(s).length.toString(16).padStart(4, '0') + Buffer.from(s).toString('hex');
/** Compact string / bytes: unsigned varint of length + 1 (lengths below 127 here). */
const cstr = (s: string | Buffer): string => {
  const b = Buffer.from(s);
  return (b.length + 1).toString(16).padStart(2, '0') + b.toString('hex');
};
const bytes32 = (b: Buffer): string => b.length.toString(16).padStart(8, '0') + b.toString('hex');

const roundTrip = (r: StoredRecord): StoredRecord | null => {
  const { key, value } = encodeStoredRecord(r);
  return decodeStoredRecord(key, value);
};

const offset: OffsetRecord = {
  offset: 1_099_511_627_776,
  leaderEpoch: 7,
  metadata: 'checkpoint',
  commitTimestamp: 1_700_000_000_123,
  expireTimestamp: null,
};

const group: GroupRecord = {
  protocolType: 'consumer',
  generation: 12,
  protocol: 'range',
  leader: 'member-a',
  currentStateTimestamp: 1_700_000_000_456,
  members: [
    {
      memberId: 'member-a',
      groupInstanceId: 'instance-1',
      clientId: 'client',
      clientHost: '/10.0.0.1',
      rebalanceTimeoutMs: 300_000,
      sessionTimeoutMs: 45_000,
      subscription: Buffer.from([0, 1, 0, 0, 0, 1, 0, 1, 0x74]),
      assignment: Buffer.from([0, 1, 0, 0, 0, 0]),
    },
    {
      memberId: 'member-b',
      groupInstanceId: null,
      clientId: 'client',
      clientHost: '/10.0.0.2',
      rebalanceTimeoutMs: 60_000,
      sessionTimeoutMs: 10_000,
      subscription: Buffer.alloc(0),
      assignment: Buffer.alloc(2000, 3),
    },
  ],
};

describe('encodeStoredRecord / decodeStoredRecord round trips', () => {
  it.each<[string, StoredRecord]>([
    [
      'offset commit',
      { kind: 'offset', groupId: 'g', topic: 'orders', partition: 3, value: offset },
    ],
    [
      'offset tombstone',
      { kind: 'offset', groupId: 'g', topic: 'orders', partition: 3, value: null },
    ],
    ['group', { kind: 'group', groupId: 'payments', value: group }],
    [
      'empty group',
      {
        kind: 'group',
        groupId: 'idle',
        value: {
          protocolType: 'consumer',
          generation: 4,
          protocol: null,
          leader: null,
          currentStateTimestamp: 1_700_000_000_000,
          members: [],
        },
      },
    ],
    ['group tombstone', { kind: 'group', groupId: 'gone', value: null }],
    [
      'unicode names',
      { kind: 'offset', groupId: 'grüppe-π', topic: 'tópico', partition: 0, value: offset },
    ],
  ])('%s', (_, record) => {
    expect(roundTrip(record)).toEqual(record);
  });

  it('an offset with an expire timestamp is written as v1, which has no leader epoch', () => {
    const withExpiry = { ...offset, expireTimestamp: 1_700_086_400_123 };
    const { value } = encodeStoredRecord({
      kind: 'offset',
      groupId: 'g',
      topic: 't',
      partition: 0,
      value: withExpiry,
    });
    expect(value?.readInt16BE(0)).toBe(1);
    expect(
      roundTrip({ kind: 'offset', groupId: 'g', topic: 't', partition: 0, value: withExpiry }),
    ).toMatchObject({ value: { ...withExpiry, leaderEpoch: -1 } });
  });

  it('decoded members do not share memory with the value they were read from', () => {
    const { key, value } = encodeStoredRecord({ kind: 'group', groupId: 'p', value: group });
    const decoded = decodeStoredRecord(key, value) as { value: GroupRecord };
    value!.fill(0);
    expect(decoded.value.members[0].subscription).toEqual(group.members[0].subscription);
  });

  it('for any record (property)', () => {
    const s = fc.string({ maxLength: 20 });
    const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    const int64 = fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 });
    const buf = fc.uint8Array({ maxLength: 50 }).map((a) => Buffer.from(a));
    const offsetArb = fc.record({
      kind: fc.constant('offset' as const),
      groupId: s,
      topic: s,
      partition: int32,
      value: fc.option(
        fc.record({
          offset: int64,
          leaderEpoch: int32,
          metadata: s,
          commitTimestamp: int64,
          expireTimestamp: fc.constant(null),
        }),
        { nil: null },
      ),
    });
    const groupArb = fc.record({
      kind: fc.constant('group' as const),
      groupId: s,
      value: fc.option(
        fc.record({
          protocolType: s,
          generation: int32,
          protocol: fc.option(s, { nil: null }),
          leader: fc.option(s, { nil: null }),
          currentStateTimestamp: int64,
          members: fc.array(
            fc.record({
              memberId: s,
              groupInstanceId: fc.option(s, { nil: null }),
              clientId: s,
              clientHost: s,
              rebalanceTimeoutMs: int32,
              sessionTimeoutMs: int32,
              subscription: buf,
              assignment: buf,
            }),
            { maxLength: 4 },
          ),
        }),
        { nil: null },
      ),
    });
    fc.assert(
      fc.property(fc.oneof(offsetArb, groupArb), (record: StoredRecord) => {
        expect(roundTrip(record)).toEqual(record);
      }),
      { numRuns: 300 },
    );
  });
});

describe("the bytes are Kafka's", () => {
  it('OffsetCommitKey v1', () => {
    const { key } = encodeStoredRecord({
      kind: 'offset',
      groupId: 'grp',
      topic: 'topic',
      partition: 5,
      value: null,
    });
    expect(key).toEqual(hex(`0001 ${str('grp')} ${str('topic')} 00000005`));
    expect(key.toString('hex')).toBe('0001' + '0003677270' + '0005746f706963' + '00000005');
  });

  it('OffsetCommitValue v3', () => {
    const { value } = encodeStoredRecord({
      kind: 'offset',
      groupId: 'g',
      topic: 't',
      partition: 0,
      value: {
        offset: 100,
        leaderEpoch: 2,
        metadata: 'm',
        commitTimestamp: 1000,
        expireTimestamp: null,
      },
    });
    expect(value?.toString('hex')).toBe(
      '0003' + // version
        '0000000000000064' + // offset 100
        '00000002' + // leader epoch 2
        '00016d' + // metadata "m"
        '00000000000003e8', // commit timestamp 1000
    );
  });

  it('OffsetCommitValue v1 (with expire timestamp)', () => {
    const { value } = encodeStoredRecord({
      kind: 'offset',
      groupId: 'g',
      topic: 't',
      partition: 0,
      value: { offset: 1, leaderEpoch: 2, metadata: '', commitTimestamp: 3, expireTimestamp: 4 },
    });
    expect(value?.toString('hex')).toBe(
      '0001' + '0000000000000001' + '0000' + '0000000000000003' + '0000000000000004',
    );
  });

  it('GroupMetadataKey v2', () => {
    const { key, value } = encodeStoredRecord({ kind: 'group', groupId: 'my-group', value: null });
    expect(key.toString('hex')).toBe('0002' + '0008' + Buffer.from('my-group').toString('hex'));
    expect(value).toBeNull();
  });

  it('GroupMetadataValue v3', () => {
    const sub = Buffer.from([1, 2, 3]);
    const asg = Buffer.from([4, 5]);
    const { value } = encodeStoredRecord({
      kind: 'group',
      groupId: 'g',
      value: {
        protocolType: 'consumer',
        generation: 1,
        protocol: 'range',
        leader: null,
        currentStateTimestamp: 256,
        members: [
          {
            memberId: 'm',
            groupInstanceId: null,
            clientId: 'c',
            clientHost: '/h',
            rebalanceTimeoutMs: 2,
            sessionTimeoutMs: 3,
            subscription: sub,
            assignment: asg,
          },
        ],
      },
    });
    expect(value).toEqual(
      hex(`
        0003                       # version
        ${str('consumer')}         # protocolType
        00000001                   # generation
        ${str('range')}            # protocol
        ffff                       # leader: null
        0000000000000100           # currentStateTimestamp
        00000001                   # 1 member
        ${str('m')} ffff ${str('c')} ${str('/h')} # memberId, groupInstanceId null, clientId, clientHost
        00000002 00000003          # rebalanceTimeout, sessionTimeout
        ${bytes32(sub)} ${bytes32(asg)}
      `),
    );
  });
});

describe('decoding every value version', () => {
  const offsetKey = hex(`0001 ${str('g')} ${str('t')} 00000000`);
  const offsetKeyV0 = hex(`0000 ${str('g')} ${str('t')} 00000000`);
  const groupKey = hex(`0002 ${str('g')}`);
  const ts = '0000018bcfe56800'; // 1_700_000_000_000

  it.each<[string, Buffer, Partial<OffsetRecord>]>([
    [
      'v0',
      hex(`0000 000000000000000a ${str('md')} ${ts}`),
      { offset: 10, leaderEpoch: -1, metadata: 'md', expireTimestamp: null },
    ],
    [
      'v1',
      hex(`0001 000000000000000a ${str('md')} ${ts} 0000018bd50bc400`),
      { offset: 10, leaderEpoch: -1, expireTimestamp: 1_700_086_400_000 },
    ],
    [
      'v1 without expiry',
      hex(`0001 000000000000000a ${str('md')} ${ts} ffffffffffffffff`),
      { offset: 10, expireTimestamp: null },
    ],
    [
      'v2',
      hex(`0002 000000000000000a ${str('md')} ${ts}`),
      { offset: 10, leaderEpoch: -1, expireTimestamp: null },
    ],
    [
      'v3',
      hex(`0003 000000000000000a 00000009 ${str('md')} ${ts}`),
      { offset: 10, leaderEpoch: 9, expireTimestamp: null },
    ],
    [
      'v4 (flexible, with an unknown tagged field)',
      hex(`0004 000000000000000a 00000009 ${cstr('md')} ${ts} 01 05 02 abcd`),
      { offset: 10, leaderEpoch: 9, metadata: 'md', expireTimestamp: null },
    ],
  ])('OffsetCommitValue %s', (_, value, expected) => {
    for (const key of [offsetKey, offsetKeyV0]) {
      expect(decodeStoredRecord(key, value)).toEqual({
        kind: 'offset',
        groupId: 'g',
        topic: 't',
        partition: 0,
        value: {
          offset: 10,
          leaderEpoch: -1,
          metadata: 'md',
          commitTimestamp: 1_700_000_000_000,
          expireTimestamp: null,
          ...expected,
        },
      });
    }
  });

  const sub = Buffer.from([9, 9]);
  const asg = Buffer.from([8]);
  const common = `${str('consumer')} 00000005 ${str('range')} ${str('m1')}`;
  const memberV0 = `${str('m1')} ${str('c')} ${str('/h')} 00001388 ${bytes32(sub)} ${bytes32(asg)}`;
  const memberV1 = `${str('m1')} ${str('c')} ${str('/h')} 0000ea60 00001388 ${bytes32(sub)} ${bytes32(asg)}`;
  const memberV3 = `${str('m1')} ${str('i1')} ${str('c')} ${str('/h')} 0000ea60 00001388 ${bytes32(sub)} ${bytes32(asg)}`;
  const base: MemberRecord = {
    memberId: 'm1',
    groupInstanceId: null,
    clientId: 'c',
    clientHost: '/h',
    rebalanceTimeoutMs: 60_000,
    sessionTimeoutMs: 5_000,
    subscription: sub,
    assignment: asg,
  };

  it.each<[string, Buffer, Partial<GroupRecord>, Partial<MemberRecord>]>([
    // v0 has no rebalance timeout: Kafka takes the session timeout.
    [
      'v0',
      hex(`0000 ${common} 00000001 ${memberV0}`),
      { currentStateTimestamp: -1 },
      { rebalanceTimeoutMs: 5_000 },
    ],
    ['v1', hex(`0001 ${common} 00000001 ${memberV1}`), { currentStateTimestamp: -1 }, {}],
    ['v2', hex(`0002 ${common} ${ts} 00000001 ${memberV1}`), {}, {}],
    ['v3', hex(`0003 ${common} ${ts} 00000001 ${memberV3}`), {}, { groupInstanceId: 'i1' }],
    [
      'v4 (flexible, with unknown tagged fields)',
      hex(
        `0004 ${cstr('consumer')} 00000005 ${cstr('range')} ${cstr('m1')} ${ts} 02
         ${cstr('m1')} ${cstr('i1')} ${cstr('c')} ${cstr('/h')} 0000ea60 00001388 ${cstr(sub)} ${cstr(asg)}
         01 07 01 ff   # member tags: unknown tag 7
         01 03 00      # group tags: unknown tag 3, empty`,
      ),
      {},
      { groupInstanceId: 'i1' },
    ],
  ])('GroupMetadataValue %s', (_, value, groupFields, memberFields) => {
    expect(decodeStoredRecord(groupKey, value)).toEqual({
      kind: 'group',
      groupId: 'g',
      value: {
        protocolType: 'consumer',
        generation: 5,
        protocol: 'range',
        leader: 'm1',
        currentStateTimestamp: 1_700_000_000_000,
        members: [{ ...base, ...memberFields }],
        ...groupFields,
      },
    });
  });

  it('null protocol and leader, no members (an empty group)', () => {
    const value = hex(`0003 ${str('consumer')} 00000002 ffff ffff ${ts} 00000000`);
    expect(decodeStoredRecord(groupKey, value)).toMatchObject({
      value: { protocol: null, leader: null, members: [] },
    });
  });

  it('tombstones of both kinds', () => {
    expect(decodeStoredRecord(offsetKey, null)).toEqual({
      kind: 'offset',
      groupId: 'g',
      topic: 't',
      partition: 0,
      value: null,
    });
    expect(decodeStoredRecord(groupKey, null)).toEqual({
      kind: 'group',
      groupId: 'g',
      value: null,
    });
  });

  it('returns null for key versions it does not know', () => {
    // 3+: records of the new consumer-group protocol and share groups.
    for (const version of [3, 4, 5, 16, 0x7fff, -1]) {
      const key = Buffer.concat([Buffer.from([version >> 8, version & 0xff]), hex(str('g'))]);
      expect(decodeStoredRecord(key, Buffer.from([0, 0]))).toBeNull();
      expect(decodeStoredRecord(key, null)).toBeNull();
    }
  });

  it('refuses unknown value versions and malformed bytes, as Kafka does', () => {
    expect(() => decodeStoredRecord(offsetKey, hex('0005 00'))).toThrow(
      'OffsetCommitValue version 5',
    );
    expect(() => decodeStoredRecord(groupKey, hex('0005 00'))).toThrow(
      'GroupMetadataValue version 5',
    );
    expect(() => decodeStoredRecord(offsetKey, hex('0003 0000'))).toThrow(ProtocolDecodeError);
    expect(() => decodeStoredRecord(hex('00'), null)).toThrow(ProtocolDecodeError);
    expect(() => decodeStoredRecord(hex(`0001 ${str('g')}`), null)).toThrow(ProtocolDecodeError);
  });
});
