/**
 * The group-id mapping across three brokers over real sockets, on the in-memory metadata store
 * and on a real ZooKeeper: FindCoordinator through one broker writes the node, the coordinator on
 * another publishes the assignment, a third labels the client's fetches with the group; two
 * kafkajs consumers sharing a client id on one host are each counted under their own group on
 * every broker; a member that leaves takes its entry with it; a late expiry does not delete what
 * the rejoining client wrote. Then KoP's failure next to Koppa's fix: the shutdown of the broker
 * that answered FindCoordinator deletes the mapping under the `kop` policy and keeps it under the
 * `coordinator` policy; and under `kop`, a connection's close deletes its write.
 */
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNode, type MappingNode } from '../../plugins/kafka/group-mapping/node-codec.js';
import { nodeName } from '../../plugins/kafka/group-mapping/node-name.js';
import {
  ApiKey,
  ErrorCode,
  Writer,
  encodeConsumerProtocolAssignment,
  encodeConsumerProtocolSubscription,
} from '../../plugins/kafka/protocol/index.js';
import type { BrokerService } from '../../src/host/broker-service.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { RawConnection } from '../helpers/raw-client.js';
import { makeBatch } from '../helpers/record-batches.js';
import { waitFor } from '../helpers/wait.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

const HOST = '127.0.0.1';
const ROOT = '/client_group_id';
const full = (topic: string) => `persistent://public/default/${topic}`;

function port(broker: BrokerService): number {
  return broker.listeners[0].port;
}

async function readNode(broker: BrokerService, clientId: string): Promise<MappingNode | null> {
  const got = await broker.metadataStore.get(`${ROOT}/${nodeName({ clientHost: HOST, clientId })}`);
  return got === null ? null : decodeNode(got.value);
}

/** kop_server_MESSAGE_OUT summed over the brokers, by group and topic. */
async function messagesOut(brokers: BrokerService[]): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  for (const broker of brokers) {
    const text = await (await fetch(`http://127.0.0.1:${broker.httpPort}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (!line.startsWith('kop_server_MESSAGE_OUT{')) continue;
      const labels = Object.fromEntries(
        [...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
      );
      const key = `${labels.group ?? ''} ${labels.topic}`;
      totals.set(key, (totals.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
    }
  }
  return totals;
}

async function metric(broker: BrokerService, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${broker.httpPort}/metrics`)).text();
  // Its one series, labelled only with the cluster.
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

function consumerBytes(kind: 'subscription' | 'assignment', topic: string, partitions: number[]) {
  const w = new Writer();
  w.int16(0);
  if (kind === 'subscription') {
    encodeConsumerProtocolSubscription(w, 0, { topics: [topic], userData: null });
  } else {
    encodeConsumerProtocolAssignment(w, 0, {
      assignedPartitions: [{ topic, partitions }],
      userData: null,
    });
  }
  return w.toBuffer();
}

/** FindCoordinator (v3) of one group: the coordinator's broker id. */
async function findCoordinator(conn: RawConnection, group: string): Promise<number> {
  for (;;) {
    const { body } = await conn.request(ApiKey.FindCoordinator, 3, { key: group, keyType: 0 });
    if (body.errorCode === ErrorCode.NONE) return body.nodeId!;
    expect(body.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface RawMember {
  memberId: string;
  generationId: number;
}

/** JoinGroup (v5) as a new member: MEMBER_ID_REQUIRED, then again with the id. */
async function join(
  conn: RawConnection,
  group: string,
  topic: string,
  sessionTimeoutMs = 6000,
): Promise<RawMember> {
  const request = {
    groupId: group,
    sessionTimeoutMs,
    rebalanceTimeoutMs: 10_000,
    memberId: '',
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: consumerBytes('subscription', topic, []) }],
  };
  // A coordinator that has just gained the group's __consumer_offsets partition answers
  // COORDINATOR_LOAD_IN_PROGRESS until it has loaded it; Kafka clients retry that, as this does.
  const first = await waitFor(
    'the coordinator to have loaded the group',
    async () => {
      const answer = await conn.request(ApiKey.JoinGroup, 5, request);
      return answer.body.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? null : answer;
    },
    10_000,
    100,
  );
  expect(first.body.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
  const { body } = await conn.request(ApiKey.JoinGroup, 5, {
    ...request,
    memberId: first.body.memberId,
  });
  expect(body.errorCode).toBe(ErrorCode.NONE);
  return { memberId: body.memberId, generationId: body.generationId };
}

/** SyncGroup (v3) as the only member (the leader), assigning itself `partitions` of `topic`. */
async function sync(
  conn: RawConnection,
  group: string,
  member: RawMember,
  topic: string,
  partitions: number[],
) {
  const { body } = await conn.request(ApiKey.SyncGroup, 3, {
    groupId: group,
    generationId: member.generationId,
    memberId: member.memberId,
    groupInstanceId: null,
    assignments: [
      {
        memberId: member.memberId,
        assignment: consumerBytes('assignment', topic, partitions),
      },
    ],
  });
  expect(body.errorCode).toBe(ErrorCode.NONE);
}

/** A group id whose coordinator is `brokerId`, asked under a client id of its own. */
async function groupCoordinatedBy(brokerPort: number, brokerId: number, prefix: string) {
  const probe = await RawConnection.open(brokerPort, HOST, 'probe');
  try {
    for (let i = 0; ; i++) {
      const group = `${prefix}-${i}`;
      if ((await findCoordinator(probe, group)) === brokerId) return group;
    }
  } finally {
    probe.close();
  }
}

/** The partition of `topic` that `brokerId` leads. */
async function partitionLedBy(conn: RawConnection, topic: string, brokerId: number) {
  return waitFor(`a partition of ${topic} led by broker ${brokerId}`, async () => {
    const { body } = await conn.request(ApiKey.Metadata, 12, {
      topics: [{ name: topic }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    const led = body.topics[0].partitions.find((p) => p.leaderId === brokerId);
    return led === undefined ? null : { partition: led.partitionIndex };
  });
}

const scenarios = (
  name: string,
  overrides: () => Record<string, string | number>,
  before: () => Promise<void> = async () => {},
  after: () => Promise<void> = async () => {},
) =>
  describe(`the group-id mapping on three brokers (${name})`, () => {
    let cluster: TestCluster;
    let a: BrokerService;
    let b: BrokerService;
    let c: BrokerService;
    const connections: RawConnection[] = [];
    const open = async (broker: BrokerService, clientId: string) => {
      const conn = await RawConnection.open(port(broker), HOST, clientId);
      connections.push(conn);
      return conn;
    };

    beforeAll(async () => {
      await before();
      cluster = await startTestCluster(3, overrides());
      [a, b, c] = cluster.brokers as BrokerService[];
      const admin = await open(a, 'admin');
      // Enough partitions that each broker leads some.
      expect(await admin.createTopic('mapped', 12)).toBe(ErrorCode.NONE);
      for (const topic of ['shared-a', 'shared-b']) {
        expect(await admin.createTopic(topic, 3)).toBe(ErrorCode.NONE);
      }
    });

    afterAll(async () => {
      for (const conn of connections) conn.close();
      await cluster?.stop();
      await after();
    });

    it('FindCoordinator on A writes the node, the coordinator on B publishes the assignment, C labels fetches', async () => {
      const group = await groupCoordinatedBy(port(a), b.config.brokerId, 'mapped-group');
      const viaA = await open(a, 'raw-member');
      expect(await findCoordinator(viaA, group)).toBe(b.config.brokerId);
      const written = (await readNode(c, 'raw-member'))!.groups.get(group)!;
      expect(written.broker).toBe(a.config.brokerId);
      expect(written.assigned).toBeNull();

      const { partition } = await partitionLedBy(viaA, 'mapped', c.config.brokerId);
      const atB = await open(b, 'raw-member');
      const member = await join(atB, group, 'mapped');
      await sync(atB, group, member, 'mapped', [partition]);
      const published = await waitFor('the assignment in the node', async () => {
        const entry = (await readNode(c, 'raw-member'))?.groups.get(group);
        return entry?.assigned ? entry : null;
      });
      expect(published.token).toBe(written.token);
      expect(Object.fromEntries(published.assigned!)).toEqual({ [full('mapped')]: [partition] });

      // The client fetches from C, the partition's leader: C's fetch path learns the group.
      const atC = await open(c, 'raw-member');
      const { body } = await atC.request(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [
          {
            name: 'mapped',
            partitionData: [{ index: partition, records: makeBatch({ records: 5 }) }],
          },
        ],
      });
      expect(body.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
      const fetched = await atC.fetchPartition('mapped', partition, 0);
      expect(fetched.errorCode).toBe(ErrorCode.NONE);
      await waitFor('the fetch counted under the group on C', async () => {
        const out = await messagesOut([c]);
        return out.get(`${group} ${full('mapped')}`) === 5;
      });

      // The member leaves: its entry goes, and with it the node.
      const left = await atB.request(ApiKey.LeaveGroup, 3, {
        groupId: group,
        members: [{ memberId: member.memberId, groupInstanceId: null }],
      });
      expect(left.body.members![0].errorCode).toBe(ErrorCode.NONE);
      await waitFor('the entry deleted', async () => (await readNode(c, 'raw-member')) === null);
      expect(await metric(b, 'koppa_group_mapping_deletes_total')).toBe(1);
    });

    it('a late expiry does not delete what the rejoining client wrote', async () => {
      const group = await groupCoordinatedBy(port(a), b.config.brokerId, 'pausing-group');
      const viaA = await open(a, 'pausing');
      await findCoordinator(viaA, group);
      const first = (await readNode(c, 'pausing'))!.groups.get(group)!.token;
      const oldConn = await open(b, 'pausing');
      const old = await join(oldConn, group, 'mapped', 1000);
      await sync(oldConn, group, old, 'mapped', [0]);
      const deletesBefore = await metric(b, 'koppa_group_mapping_deletes_total');

      // The client stops heartbeating (a long pause), gives its session up, finds its
      // coordinator again through A and joins as a new member before the broker expires the old.
      await findCoordinator(viaA, group);
      const second = (await readNode(c, 'pausing'))!.groups.get(group)!.token;
      expect(second).not.toBe(first);
      const newConn = await open(b, 'pausing');
      // Answered once the old member's session ended (its removal is the late delete).
      const renewed = await join(newConn, group, 'mapped', 2500);
      expect(renewed.memberId).not.toBe(old.memberId);
      await sync(newConn, group, renewed, 'mapped', [0]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await readNode(c, 'pausing'))!.groups.get(group)!.token).toBe(second);

      // Now the other order: the client writes again, and the member expires before it joins.
      const refusedBefore = await metric(b, 'koppa_group_mapping_deletes_refused_total');
      await findCoordinator(viaA, group);
      const third = (await readNode(c, 'pausing'))!.groups.get(group)!.token;
      await waitFor('the member expired and its delete refused', async () => {
        const refused = await metric(b, 'koppa_group_mapping_deletes_refused_total');
        return refused === refusedBefore + 1;
      });
      expect((await readNode(c, 'pausing'))!.groups.get(group)!.token).toBe(third);
      expect(await metric(b, 'koppa_group_mapping_deletes_total')).toBe(deletesBefore);
    });

    describe('two kafkajs consumers with one client id on one host, in two groups', () => {
      const CLIENT_ID = 'kafkajs-shared';
      const consumers: Consumer[] = [];
      afterAll(async () => {
        await Promise.all(consumers.map((x) => x.disconnect().catch(() => undefined)));
      });

      it('are each counted under their own group on every broker, and leave no entry behind', async () => {
        const kafka = new Kafka({
          brokers: cluster.bootstrap.split(','),
          clientId: CLIENT_ID,
          logLevel: logLevel.NOTHING,
          retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
        });
        const producer = kafka.producer();
        await producer.connect();
        for (const topic of ['shared-a', 'shared-b']) {
          for (let partition = 0; partition < 3; partition++) {
            await producer.send({
              topic,
              messages: Array.from({ length: 10 }, (_, i) => ({ partition, value: `${i}` })),
            });
          }
        }
        await producer.disconnect();

        const consume = async (groupId: string, topic: string) => {
          const consumer = kafka.consumer({
            groupId,
            sessionTimeout: 6000,
            heartbeatInterval: 500,
            maxWaitTimeInMs: 200,
          });
          consumers.push(consumer);
          await consumer.connect();
          await consumer.subscribe({ topic, fromBeginning: true });
          let consumed = 0;
          await new Promise<void>((resolve, reject) => {
            consumer
              .run({
                eachMessage: async () => {
                  if (++consumed === 30) resolve();
                },
              })
              .catch(reject);
          });
          return consumer;
        };
        const [ga, gb] = await Promise.all([
          consume('shared-ga', 'shared-a'),
          consume('shared-gb', 'shared-b'),
        ]);

        const node = await waitFor('both groups with their assignments', async () => {
          const n = await readNode(c, CLIENT_ID);
          const published = [...(n?.groups.values() ?? [])].filter((e) => e.assigned !== null);
          return published.length === 2 ? n : null;
        });
        expect(Object.fromEntries(node.groups.get('shared-ga')!.assigned!)).toEqual({
          [full('shared-a')]: [0, 1, 2],
        });
        expect(Object.fromEntries(node.groups.get('shared-gb')!.assigned!)).toEqual({
          [full('shared-b')]: [0, 1, 2],
        });

        const brokers = [a, b, c];
        const out = await waitFor('every message counted under its group', async () => {
          const totals = await messagesOut(brokers);
          return totals.get(`shared-ga ${full('shared-a')}`) === 30 &&
            totals.get(`shared-gb ${full('shared-b')}`) === 30
            ? totals
            : null;
        });
        // Nothing under the other group, nor without a group.
        expect(out.get(`shared-gb ${full('shared-a')}`)).toBeUndefined();
        expect(out.get(`shared-ga ${full('shared-b')}`)).toBeUndefined();
        expect(out.get(` ${full('shared-a')}`)).toBeUndefined();
        expect(out.get(` ${full('shared-b')}`)).toBeUndefined();

        await ga.disconnect();
        await waitFor('the first group gone from the node', async () => {
          const n = await readNode(c, CLIENT_ID);
          return n !== null && !n.groups.has('shared-ga') && n.groups.has('shared-gb');
        });
        await gb.disconnect();
        await waitFor('the node gone', async () => (await readNode(c, CLIENT_ID)) === null);
      });
    });
  });

scenarios('in-memory store', () => ({}));

let zk: ZooKeeperServer | undefined;
scenarios(
  'ZooKeeper',
  () => ({ metadataStoreUrl: `zk:127.0.0.1:${zk!.port}/group-mapping` }),
  async () => {
    zk = await startZooKeeper();
  },
  async () => {
    await zk?.stop();
  },
);

describe.each([
  ['coordinator', 'keeps'],
  ['kop', 'deletes'],
] as const)(
  "with groupIdLifecyclePolicy=%s, the FindCoordinator broker's shutdown",
  (policy, outcome) => {
    let cluster: TestCluster;
    beforeAll(async () => {
      cluster = await startTestCluster(2, { groupIdLifecyclePolicy: policy });
    });
    afterAll(async () => {
      await cluster?.stop();
    });

    it(`${outcome} the mapping`, async () => {
      const [first, second] = cluster.brokers as BrokerService[];
      const conn = await RawConnection.open(port(first), HOST, 'restarting');
      await findCoordinator(conn, 'restart-group');
      expect((await readNode(second, 'restarting'))?.groups.has('restart-group')).toBe(true);
      // The client keeps its connection; the broker it asked goes away (a restart, a deploy).
      await cluster.stopBroker(0);
      conn.close();
      const node = await readNode(second, 'restarting');
      expect(node?.groups.has('restart-group') ?? false).toBe(policy === 'coordinator');
    });

    if (policy === 'kop') {
      it("deletes the mapping when the FindCoordinator's connection closes", async () => {
        const broker = cluster.brokers[1]!;
        const conn = await RawConnection.open(port(broker), HOST, 'kop-client');
        await findCoordinator(conn, 'kop-group');
        expect((await readNode(broker, 'kop-client'))?.groups.has('kop-group')).toBe(true);
        conn.close();
        await waitFor(
          'the node deleted',
          async () => (await readNode(broker, 'kop-client')) === null,
        );
      });
    }
  },
);
