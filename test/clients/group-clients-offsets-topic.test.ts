/**
 * __consumer_offsets reads like Kafka's: after kcat, confluent-kafka (static), kafka-python and
 * sarama groups commit, `kcat -C -t __consumer_offsets -e` reads its records, and
 * consumer_offsets_reader.py (kafka-python, Kafka's key and value layouts written independently
 * of Koppa) decodes every one of them: the latest offset record per key is what OffsetFetch
 * answers, and the group metadata records carry each group's protocol and members.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import {
  committedOffsets,
  createTopic,
  describeGroup,
  kcatMember,
  offsetsPartitionOf,
  produceTo,
  pythonMember,
  type DescribedGroup,
  type MemberProcess,
} from '../helpers/group-clients.js';
import { jsonLines, PY_CLIENTS, PYTHON, run } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TOPIC = 'offsets-topic-source';
const PARTITIONS = 4;
const PER_PARTITION = 30;

interface OffsetKey {
  type: 'offset';
  version: number;
  group: string;
  topic: string;
  partition: number;
}
interface GroupKey {
  type: 'group';
  version: number;
  group: string;
}
interface OffsetValue {
  version: number;
  offset: number;
  leaderEpoch?: number;
  metadata: string;
  commitTimestamp: number;
}
interface GroupValue {
  version: number;
  protocolType: string;
  generation: number;
  protocol: string | null;
  leader: string | null;
  members: {
    memberId: string;
    groupInstanceId?: string | null;
    clientId: string;
    clientHost: string;
    rebalanceTimeout?: number;
    sessionTimeout: number;
    subscription: string;
    assignment: string;
  }[];
}
interface OffsetsRecord {
  partition: number;
  offset: number;
  key: OffsetKey | GroupKey | { type: 'unknown'; version: number };
  value: OffsetValue | GroupValue | null;
}

describe('__consumer_offsets read and decoded by Kafka clients', () => {
  let broker: TestBroker;
  let dir: string;
  const members: MemberProcess[] = [];
  const groups = {
    kcat: 'offsets-kcat',
    confluent: 'offsets-confluent-static',
    kafkaPython: 'offsets-kafka-python',
    sarama: 'offsets-sarama',
  };
  const live: Record<string, DescribedGroup> = {};
  let records: OffsetsRecord[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'koppa-offsets-topic-'));
    broker = await startTestBroker(
      { groupInitialRebalanceDelayMs: 200, groupMinSessionTimeoutMs: 1000 },
      { dataDir: join(dir, 'data') },
    );
    await createTopic(broker.bootstrap, TOPIC, PARTITIONS);
    await produceTo(broker.bootstrap, TOPIC, PARTITIONS, 0, PER_PARTITION);
  });

  afterAll(async () => {
    for (const m of members) m.kill();
    await Promise.all(members.map((m) => m.exited));
    await broker?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const allCommitted = (group: string) =>
    waitFor(
      `${group} to commit every partition`,
      async () =>
        (await committedOffsets(broker.port, group, TOPIC, PARTITIONS)).every(
          (o) => o === PER_PARTITION,
        ),
      20_000,
    );

  it('groups of four clients consume and commit', async () => {
    const options = (group: string) => ({
      bootstrap: broker.bootstrap,
      group,
      topic: TOPIC,
      clientId: `${group}-client`,
    });
    // Two stay in their groups while __consumer_offsets is read; two have left theirs.
    const kcat = kcatMember('kcat', options(groups.kcat));
    const confluent = pythonMember('confluent', 'confluent', {
      ...options(groups.confluent),
      settings: { 'group.instance.id': 'static-1' },
    });
    const kafkaPython = pythonMember('kafka-python', 'kafka-python', options(groups.kafkaPython));
    members.push(kcat, confluent, kafkaPython);

    const saramaBinary = join(dir, 'sarama-group');
    await promisify(execFile)(
      'go',
      ['build', '-o', saramaBinary, './test/clients/go/sarama-group'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          GO111MODULE: 'off',
          GOPATH: '/usr/share/gocode',
          GOCACHE: join(dir, 'gocache'),
        },
      },
    );
    const total = String(PARTITIONS * PER_PARTITION);
    await run(saramaBinary, [broker.bootstrap, groups.sarama, TOPIC, total, '30'], {
      timeoutMs: 45_000,
    });

    for (const m of [kcat, confluent, kafkaPython])
      await waitFor(`${m.name} to consume everything`, () => m.consumed.length >= +total);
    for (const group of Object.values(groups)) await allCommitted(group);
    expect(await kafkaPython.stop()).toBe(0);
    for (const group of [groups.kcat, groups.confluent]) {
      live[group] = await describeGroup(broker.port, group);
      expect([live[group].state, live[group].members.length]).toEqual(['Stable', 1]);
    }
  }, 90_000);

  it('kcat -C reads __consumer_offsets to its end, as kafka-python does', async () => {
    const { stdout } = await run(PYTHON, [
      `${PY_CLIENTS}/consumer_offsets_reader.py`,
      broker.bootstrap,
      '50',
    ]);
    records = jsonLines<OffsetsRecord>(stdout);
    const kcat = await run('kcat', [
      '-C',
      '-b',
      broker.bootstrap,
      '-t',
      '__consumer_offsets',
      '-o',
      'beginning',
      '-e',
      '-q',
      '-f',
      '%p %o %K %S\\n',
    ]);
    const kcatRecords = kcat.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(' ').map(Number));
    const where = (p: number, o: number) => `${p}:${o}`;
    expect(kcatRecords.map(([p, o]) => where(p, o)).sort()).toEqual(
      records.map((r) => where(r.partition, r.offset)).sort(),
    );
    // Every record has a key; values are null only for tombstones.
    expect(kcatRecords.every(([, , keySize]) => keySize > 0)).toBe(true);
    expect(records.filter((r) => r.key.type === 'unknown')).toEqual([]);
  });

  it("each group's records are on its partition, as Kafka places them", () => {
    for (const group of Object.values(groups)) {
      const own = records.filter((r) => r.key.type !== 'unknown' && r.key.group === group);
      expect(own.length).toBeGreaterThan(0);
      expect(new Set(own.map((r) => r.partition))).toEqual(new Set([offsetsPartitionOf(group)]));
    }
  });

  it('the latest offset record of each group, topic and partition is what OffsetFetch answers', async () => {
    for (const group of Object.values(groups)) {
      const latest = new Map<number, OffsetValue | null>();
      for (const r of records)
        if (r.key.type === 'offset' && r.key.group === group && r.key.topic === TOPIC)
          latest.set(r.key.partition, r.value as OffsetValue | null);
      const fetched = await committedOffsets(broker.port, group, TOPIC, PARTITIONS);
      expect(fetched).toEqual(Array(PARTITIONS).fill(PER_PARTITION));
      expect(Array.from({ length: PARTITIONS }, (_, p) => latest.get(p)?.offset)).toEqual(fetched);
      // Kafka 3.x writes offset key v1 and value v3 (with the leader epoch).
      for (const r of records)
        if (r.key.type === 'offset' && r.key.group === group) {
          expect(r.key.version).toBe(1);
          expect((r.value as OffsetValue).version).toBe(3);
        }
    }
  });

  it('group metadata records carry the protocol and members of the live groups', () => {
    for (const group of [groups.kcat, groups.confluent]) {
      const latest = records.filter((r) => r.key.type === 'group' && r.key.group === group).at(-1)!;
      expect(latest.key.version).toBe(2);
      const value = latest.value as GroupValue;
      const described = live[group];
      expect(value).toMatchObject({
        version: 3,
        protocolType: 'consumer',
        protocol: described.protocol,
        leader: described.members[0].memberId,
      });
      expect(value.generation).toBeGreaterThan(0);
      expect(value.members).toHaveLength(1);
      const [member] = value.members;
      expect(member).toMatchObject({
        memberId: described.members[0].memberId,
        groupInstanceId: described.members[0].groupInstanceId,
        clientId: `${group}-client`,
        clientHost: described.members[0].clientHost,
        sessionTimeout: 6000,
      });
      // The subscription names the topic; the assignment is the member's partitions.
      expect(Buffer.from(member.subscription, 'hex').includes(TOPIC)).toBe(true);
      expect(described.members[0].partitions).toEqual([0, 1, 2, 3]);
      expect(member.assignment.length).toBeGreaterThan(0);
    }
    expect(live[groups.confluent].members[0].groupInstanceId).toBe('static-1');
  });

  it('the latest group metadata record of a group everyone left is empty', () => {
    for (const group of [groups.kafkaPython, groups.sarama]) {
      const latest = records.filter((r) => r.key.type === 'group' && r.key.group === group).at(-1)!;
      expect(latest.value).toMatchObject({ protocolType: 'consumer', members: [] });
    }
  });

  it('client hosts read as Kafka writes them (InetAddress.toString: "/127.0.0.1")', () => {
    for (const group of [groups.kcat, groups.confluent]) {
      const latest = records.filter((r) => r.key.type === 'group' && r.key.group === group).at(-1)!;
      const hosts = {
        describeGroups: live[group].members[0].clientHost,
        groupMetadata: (latest.value as GroupValue).members[0].clientHost,
      };
      expect(hosts).toEqual({ describeGroups: '/127.0.0.1', groupMetadata: '/127.0.0.1' });
    }
  });
});
