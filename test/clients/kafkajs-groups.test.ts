/**
 * kafkajs consumer groups through their whole life: three members share a topic; a fourth
 * joins; one leaves; one is killed; committed offsets survive a broker restart and consumption
 * resumes where it stopped. (kafkajs has no static membership: confluent-kafka covers it.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { waitFor } from '../helpers/wait.js';

const TOPIC = 'kjs-group';
const GROUP = 'kjs-lifecycle';
const PARTITIONS = 6;
const PER_PARTITION = 100;

interface Member {
  name: string;
  memberId?: string;
  partitions: number[];
  joins: number;
  consumed: { partition: number; offset: number }[];
  consumer?: Consumer;
  process?: ChildProcess;
}

describe('kafkajs consumer groups', () => {
  let broker: TestBroker;
  let dir: string;
  let port: number;
  let kafka: Kafka;
  let admin: Admin;
  const members: Member[] = [];

  // The same ports across the restart, so that the clients find the brokers again.
  const brokerConfig = () => ({
    listen: `127.0.0.1:${port}`,
    groupInitialRebalanceDelayMs: 200,
    groupMinSessionTimeoutMs: 1000,
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'koppa-groups-'));
    port = await freePorts();
    broker = await startTestBroker(brokerConfig(), { dataDir: dir });
    kafka = new Kafka({
      brokers: broker.bootstrap.split(','),
      clientId: 'kjs-groups-test',
      logLevel: logLevel.NOTHING,
    });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
    const producer = kafka.producer();
    await producer.connect();
    for (let p = 0; p < PARTITIONS; p++) {
      await producer.send({
        topic: TOPIC,
        messages: Array.from({ length: PER_PARTITION }, (_, i) => ({
          partition: p,
          value: `p${p}-m${i}`,
        })),
      });
    }
    await producer.disconnect();
  });

  afterAll(async () => {
    for (const m of members) {
      m.process?.kill('SIGKILL');
      await m.consumer?.disconnect().catch(() => undefined);
    }
    await admin?.disconnect();
    await broker?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const inProcessMember = async (name: string): Promise<Member> => {
    const member: Member = { name, partitions: [], joins: 0, consumed: [] };
    const consumer = kafka.consumer({
      groupId: GROUP,
      sessionTimeout: 6000,
      heartbeatInterval: 300,
      // kafkajs heartbeats between fetches: a short long-poll makes it notice rebalances sooner.
      maxWaitTimeInMs: 500,
      retry: { retries: 20 },
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      member.memberId = e.payload.memberId;
      member.partitions = [...(e.payload.memberAssignment[TOPIC] ?? [])].sort();
      member.joins++;
    });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        member.consumed.push({ partition, offset: Number(message.offset) });
      },
    });
    member.consumer = consumer;
    members.push(member);
    return member;
  };

  const processMember = (name: string): Member => {
    const member: Member = { name, partitions: [], joins: 0, consumed: [] };
    const script = resolve(import.meta.dirname, 'js/kafkajs-member.ts');
    const child = spawn(process.execPath, [
      '--import',
      'tsx',
      script,
      broker.bootstrap,
      GROUP,
      TOPIC,
      '3000',
    ]);
    let buffered = '';
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const e = JSON.parse(line) as {
          event: string;
          memberId: string;
          partitions: number[];
          partition: number;
          offset: number;
        };
        if (e.event === 'joined') {
          member.memberId = e.memberId;
          member.partitions = [...e.partitions].sort();
          member.joins++;
        } else member.consumed.push({ partition: e.partition, offset: e.offset });
      }
    });
    member.process = child;
    members.push(member);
    return member;
  };

  /** True when the members' latest assignments split the partitions between them with no overlap. */
  const sharedFairly = (group: Member[]) => {
    const all = group.flatMap((m) => m.partitions).sort((a, b) => a - b);
    return (
      all.length === PARTITIONS &&
      all.every((p, i) => p === i) &&
      group.every((m) => m.partitions.length >= Math.floor(PARTITIONS / group.length))
    );
  };

  const groupMembers = async () =>
    (await admin.describeGroups([GROUP])).groups[0].members.map((m) => m.memberId).sort();

  it('shares the partitions among three members', async () => {
    const trio = [
      await inProcessMember('a'),
      await inProcessMember('b'),
      await inProcessMember('c'),
    ];
    await waitFor(
      'three members sharing six partitions',
      () => trio.every((m) => m.joins > 0) && sharedFairly(trio),
    );
    expect(trio.map((m) => m.partitions.length)).toEqual([2, 2, 2]);
    expect(await groupMembers()).toEqual(trio.map((m) => m.memberId).sort());
  });

  it('rebalances when a fourth member joins', async () => {
    const [a, b, c] = members;
    const before = [a, b, c].map((m) => m.joins);
    const d = processMember('d');
    await waitFor(
      'four members sharing six partitions',
      () =>
        d.joins > 0 && [a, b, c].every((m, i) => m.joins > before[i]) && sharedFairly([a, b, c, d]),
    );
    expect(await groupMembers()).toEqual([a, b, c, d].map((m) => m.memberId).sort());
  });

  it('takes a leaving member out at once, and the others take over its partitions', async () => {
    const [a, b, c, d] = members;
    const before = [b, c, d].map((m) => m.joins);
    await a.consumer!.disconnect();
    a.consumer = undefined;
    // LeaveGroup is acknowledged before disconnect returns: the member is already gone.
    expect(await groupMembers()).not.toContain(a.memberId);
    await waitFor(
      'three members sharing six partitions',
      () => [b, c, d].every((m, i) => m.joins > before[i]) && sharedFairly([b, c, d]),
    );
  });

  it('expires a killed member after its session timeout, and the others take over', async () => {
    const [, b, c, d] = members;
    const before = [b, c].map((m) => m.joins);
    d.process!.kill('SIGKILL');
    expect(await groupMembers()).toContain(d.memberId);
    await waitFor(
      'two members sharing six partitions',
      () => [b, c].every((m, i) => m.joins > before[i]) && sharedFairly([b, c]),
      30_000,
    );
    expect(await groupMembers()).toEqual([b, c].map((m) => m.memberId).sort());
  });

  it('keeps committed offsets across a broker restart, and new members resume from them', async () => {
    const [, b, c] = members;
    const seen = () =>
      new Set(members.flatMap((m) => m.consumed.map((x) => `${x.partition}:${x.offset}`)));
    await waitFor(
      'every message consumed',
      () => seen().size === PARTITIONS * PER_PARTITION,
      30_000,
    );
    const committed = async () =>
      (await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }))[0].partitions.map((p) =>
        Number(p.offset),
      );
    await waitFor(
      'every offset committed',
      async () => (await committed()).every((o) => o === PER_PARTITION),
      30_000,
    );
    // The group empties: whoever consumes next knows nothing but what the coordinator kept.
    for (const m of [b, c]) {
      await m.consumer!.disconnect();
      m.consumer = undefined;
    }

    await broker.stop();
    broker = await startTestBroker(brokerConfig(), { dataDir: dir });
    // The new coordinator answers COORDINATOR_LOAD_IN_PROGRESS until it has replayed its log.
    const reloaded = await waitFor(
      'the coordinator to load',
      () => committed().catch(() => null),
      30_000,
    );
    expect(reloaded).toEqual(Array(PARTITIONS).fill(PER_PARTITION));

    const producer = kafka.producer();
    await producer.connect();
    for (let p = 0; p < PARTITIONS; p++) {
      await producer.send({
        topic: TOPIC,
        messages: Array.from({ length: 10 }, (_, i) => ({
          partition: p,
          value: `after-${p}-${i}`,
        })),
      });
    }
    await producer.disconnect();
    const fresh = [await inProcessMember('e'), await inProcessMember('f')];
    const resumed = () => fresh.flatMap((m) => m.consumed);
    await waitFor(
      'the new messages consumed',
      () => new Set(resumed().map((x) => `${x.partition}:${x.offset}`)).size >= PARTITIONS * 10,
      60_000,
    );
    // Resumed exactly at the committed offsets: nothing skipped, nothing before them read again.
    for (let p = 0; p < PARTITIONS; p++) {
      const offsets = new Set(
        resumed()
          .filter((x) => x.partition === p)
          .map((x) => x.offset),
      );
      expect([...offsets].sort((x, y) => x - y)).toEqual(
        Array.from({ length: 10 }, (_, i) => PER_PARTITION + i),
      );
    }
  }, 120_000);
});
