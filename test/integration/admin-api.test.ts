/**
 * The admin REST API on a three-broker cluster, with real clients: a kafkajs producer, a kafkajs
 * consumer group (coordinated by broker 2) that commits known offsets, and a consumer-group member
 * played at the protocol level (coordinated by broker 1, its FindCoordinator sent to broker 0).
 * Every route is asked of broker 0, which coordinates neither group and owns only some of the
 * partitions, and must answer with what the test knows: the brokers and their listeners, the
 * owners and epochs Metadata reports, log end offsets equal to the messages produced, the groups'
 * members and committed offsets, their lag, the mapping written by the broker that answered
 * FindCoordinator, and the reconciler's passes on every broker.
 */
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroupMappingsAnswer } from '../../plugins/kafka/admin/group-mappings.js';
import type { GroupAnswer, GroupSummary } from '../../plugins/kafka/admin/groups.js';
import type { ReconcilerAnswer, ReconcilerRunEntry } from '../../plugins/kafka/admin/reconciler.js';
import type { TopicAnswer, TopicsAnswer } from '../../plugins/kafka/admin/topics.js';
import { offsetsPartitionFor } from '../../plugins/kafka/coordinator/placement.js';
import { nodeName } from '../../plugins/kafka/group-mapping/node-name.js';
import { ApiKey, ErrorCode } from '../../plugins/kafka/protocol/index.js';
import type { BrokerService } from '../../src/host/broker-service.js';
import type { HttpServer } from '../../src/http/http-server.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { RawConnection } from '../helpers/raw-client.js';
import { RawGroupMember } from '../helpers/raw-group-member.js';
import { waitFor } from '../helpers/wait.js';

const HOST = '127.0.0.1';
const TOPIC = 'admin-orders';
const FULL_NAME = `persistent://public/default/${TOPIC}`;
const OFFSETS_FULL_NAME = 'persistent://public/__kafka/__consumer_offsets';
/** Messages produced to each partition. */
const PRODUCED = [3, 5, 7, 9, 11, 13];
const PARTITIONS = PRODUCED.length;
const TOTAL = PRODUCED.reduce((a, b) => a + b, 0);
/** How far behind the log end the kafkajs group commits, per partition. */
const BEHIND = [0, 1, 2, 0, 1, 2];
/** The broker every route is asked of. */
const ASKED = 0;
const ALL_PARTITIONS = Array.from({ length: PARTITIONS }, (_, p) => p);

interface Answer<T> {
  status: number;
  body: T;
}

/** Metadata (v12) of one topic through `port`: each partition's leader and leader epoch. */
async function metadataOf(port: number, topic: string) {
  const conn = await RawConnection.open(port, HOST, 'admin-test-metadata');
  try {
    const { body } = await conn.request(ApiKey.Metadata, 12, {
      topics: [{ name: topic }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    return body.topics[0].partitions
      .map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, epoch: p.leaderEpoch }))
      .sort((a, b) => a.partition - b.partition);
  } finally {
    conn.close();
  }
}

describe('the admin API on three brokers', () => {
  let cluster: TestCluster;
  let brokers: BrokerService[];
  let ports: number[];
  let consumer: Consumer;
  let rawMember: RawGroupMember;
  /** Group ids coordinated by broker 2 (the kafkajs group) and by broker 1 (the raw member). */
  let kafkajsGroup: string;
  let rawGroup: string;
  let offsetsPartitions: number;
  let committedFrom: number;
  let committedUntil: number;

  const api = async <T>(path: string, broker = ASKED): Promise<Answer<T>> => {
    const response = await fetch(`http://${HOST}:${brokers[broker].httpPort}${path}`);
    return { status: response.status, body: (await response.json()) as T };
  };

  /**
   * A group id coordinated by `brokerId`: the leader of its __consumer_offsets partition, as
   * Metadata reports it (FindCoordinator would write a mapping entry for the asking client).
   */
  const groupCoordinatedBy = async (prefix: string, brokerId: number) => {
    const led = await metadataOf(ports[ASKED], '__consumer_offsets');
    for (let i = 0; i < 1000; i++) {
      const group = `${prefix}-${i}`;
      if (led[offsetsPartitionFor(group, led.length)].leader === brokerId) return group;
    }
    throw new Error(`no group ${prefix}-* coordinated by broker ${brokerId}`);
  };

  beforeAll(async () => {
    cluster = await startTestCluster(3, {
      groupInitialRebalanceDelayMs: 0,
      groupIdReconcileIntervalMs: 300,
      groupIdOrphanGraceMs: 500,
      consumerLagIntervalMs: 300,
    });
    brokers = cluster.brokers as BrokerService[];
    ports = brokers.map((b) => b.listeners[0].port);
    const bootstrap = cluster.bootstrap.split(',');
    // The brokers start one after another: the first takes every partition, then hands the
    // later brokers theirs. Groups are placed once every broker leads some and nothing moves.
    let previous = '';
    const offsets = await waitFor(
      'the __consumer_offsets partitions to settle on all three brokers',
      async () => {
        const led = await metadataOf(ports[ASKED], '__consumer_offsets');
        const now = JSON.stringify(led);
        const settled = now === previous && [0, 1, 2].every((b) => led.some((p) => p.leader === b));
        previous = now;
        return settled ? led : null;
      },
      60_000,
      500,
    );
    offsetsPartitions = offsets.length;
    kafkajsGroup = await groupCoordinatedBy('admin-kafkajs', 2);
    rawGroup = await groupCoordinatedBy('admin-raw', 1);

    const producerClient = new Kafka({
      brokers: bootstrap,
      clientId: 'admin-producer',
      logLevel: logLevel.NOTHING,
    });
    const admin = producerClient.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: PARTITIONS }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    const producer = producerClient.producer();
    await producer.connect();
    for (const [partition, count] of PRODUCED.entries()) {
      await producer.send({
        topic: TOPIC,
        messages: Array.from({ length: count }, (_, i) => ({
          partition,
          value: `p${partition}-${i}`,
        })),
      });
    }
    await producer.disconnect();

    const consumerClient = new Kafka({
      brokers: bootstrap,
      clientId: 'admin-consumer',
      logLevel: logLevel.NOTHING,
    });
    consumer = consumerClient.consumer({
      groupId: kafkajsGroup,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 250,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    let consumed = 0;
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async () => {
            if (++consumed === TOTAL) resolve();
          },
        })
        .catch(reject);
    });
    committedFrom = Date.now();
    await consumer.commitOffsets(
      PRODUCED.map((count, partition) => ({
        topic: TOPIC,
        partition,
        offset: String(count - BEHIND[partition]),
      })),
    );
    committedUntil = Date.now();

    rawMember = new RawGroupMember({
      ports,
      bootstrap: ASKED,
      clientId: 'admin-raw',
      group: rawGroup,
      topic: TOPIC,
      partitions: PARTITIONS,
    });
    await rawMember.start();
  }, 120_000);

  afterAll(async () => {
    await rawMember?.close();
    await consumer?.disconnect();
    await cluster?.stop();
  });

  it('is ready on every broker', async () => {
    for (let b = 0; b < brokers.length; b++) {
      const answer = await waitFor(`broker ${b} to be ready`, async () => {
        const a = await api<{ status: string }>('/readyz', b);
        return a.status === 200 ? a : null;
      });
      expect(answer.body).toEqual({ status: 'ready' });
    }
  });

  it('lists the live brokers with their Kafka listeners and HTTP addresses', async () => {
    const { status, body } = await api('/admin/v1/brokers');
    expect(status).toBe(200);
    expect(body).toEqual({
      answeredBy: ASKED,
      brokers: brokers.map((b, id) => ({
        brokerId: id,
        rack: null,
        kafkaListeners: [`PLAINTEXT://${HOST}:${ports[id]}`],
        httpAddress: `${HOST}:${b.httpPort}`,
      })),
    });
  });

  it("lists topics with each partition's owner as Metadata reports it and its log offsets", async () => {
    const led = await metadataOf(ports[ASKED], TOPIC);
    // Some partitions live on other brokers: their offsets come from their owners.
    expect(led.some((p) => p.leader !== ASKED)).toBe(true);
    const { status, body } = await api<TopicsAnswer>('/admin/v1/topics');
    expect(status).toBe(200);
    expect(body.answeredBy).toBe(ASKED);
    const topic = body.topics.find((t) => t.fullName === FULL_NAME);
    expect(topic).toEqual({
      kafkaName: TOPIC,
      fullName: FULL_NAME,
      internal: false,
      partitionCount: PARTITIONS,
      partitions: led.map((p) => ({
        partition: p.partition,
        ownerBrokerId: p.leader,
        leaderEpoch: p.epoch,
        logStartOffset: 0,
        logEndOffset: PRODUCED[p.partition],
        // Every partition holds batches: each at least a 61-byte header.
        sizeBytes: expect.toSatisfy((n: number) => n >= 61) as number,
        error: null,
      })),
    });
    const offsets = body.topics.find((t) => t.kafkaName === '__consumer_offsets');
    expect(offsets).toMatchObject({
      fullName: OFFSETS_FULL_NAME,
      internal: true,
      partitionCount: offsetsPartitions,
    });
    expect(offsets!.partitions.every((p) => p.error === null && p.logEndOffset! >= 0)).toBe(true);
  });

  it('describes one topic by its Kafka name or its full name, and 404s an unknown one', async () => {
    const byKafkaName = await api<TopicAnswer>(`/admin/v1/topics/${TOPIC}`);
    expect(byKafkaName.status).toBe(200);
    expect(byKafkaName.body.fullName).toBe(FULL_NAME);
    expect(byKafkaName.body.partitions.map((p) => p.logEndOffset)).toEqual(PRODUCED);
    const byFullName = await api(`/admin/v1/topics/${encodeURIComponent(FULL_NAME)}`);
    expect(byFullName).toEqual(byKafkaName);
    const raw = await api(`/admin/v1/topics/${FULL_NAME}`);
    expect(raw).toEqual(byKafkaName);
    const unknown = await api('/admin/v1/topics/admin-no-such-topic');
    expect(unknown).toEqual({ status: 404, body: { error: 'no topic admin-no-such-topic' } });
  });

  it('lists every group of the cluster with its coordinator', async () => {
    expect(rawMember.coordinator).toBe(1);
    const { status, body } = await api<{
      answeredBy: number;
      groups: GroupSummary[];
      errors: unknown[];
    }>('/admin/v1/groups');
    expect(status).toBe(200);
    expect(body.errors).toEqual([]);
    expect(body.groups.filter((g) => g.groupId.startsWith('admin-'))).toEqual(
      [
        {
          groupId: kafkajsGroup,
          coordinatorBrokerId: 2,
          state: 'Stable',
          protocolType: 'consumer',
          protocol: 'RoundRobinAssigner',
          memberCount: 1,
        },
        {
          groupId: rawGroup,
          coordinatorBrokerId: 1,
          state: 'Stable',
          protocolType: 'consumer',
          protocol: 'range',
          memberCount: 1,
        },
      ].sort((a, b) => (a.groupId < b.groupId ? -1 : 1)),
    );
  });

  it('describes a group from its coordinator: members, assignments and committed offsets', async () => {
    const { status, body } = await api<GroupAnswer>(`/admin/v1/groups/${kafkajsGroup}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      answeredBy: ASKED,
      groupId: kafkajsGroup,
      coordinatorBrokerId: 2,
      state: 'Stable',
      protocolType: 'consumer',
      protocol: 'RoundRobinAssigner',
      memberCount: 1,
    });
    expect(body.generationId).toBeGreaterThan(0);
    expect(body.members).toHaveLength(1);
    const [member] = body.members;
    expect(body.leaderId).toBe(member.memberId);
    expect(member).toMatchObject({
      groupInstanceId: null,
      clientId: 'admin-consumer',
      clientHost: `/${HOST}`,
      sessionTimeoutMs: 10_000,
      assignment: [{ kafkaName: TOPIC, fullName: FULL_NAME, partitions: ALL_PARTITIONS }],
    });
    expect(body.offsets.map(({ lag: _lag, committedAt: _at, ...o }) => o)).toEqual(
      PRODUCED.map((count, partition) => ({
        kafkaName: TOPIC,
        fullName: FULL_NAME,
        partition,
        committedOffset: count - BEHIND[partition],
        // kafkajs commits without a leader epoch.
        leaderEpoch: null,
        metadata: '',
        expiresAt: null,
      })),
    );
    for (const { committedAt } of body.offsets) {
      expect(Date.parse(committedAt!)).toBeGreaterThanOrEqual(committedFrom);
      expect(Date.parse(committedAt!)).toBeLessThanOrEqual(committedUntil);
    }

    const raw = await api<GroupAnswer>(`/admin/v1/groups/${encodeURIComponent(rawGroup)}`);
    expect(raw.status).toBe(200);
    expect(raw.body.coordinatorBrokerId).toBe(1);
    expect(raw.body.members.map((m) => [m.clientId, m.assignment])).toEqual([
      ['admin-raw', [{ kafkaName: TOPIC, fullName: FULL_NAME, partitions: ALL_PARTITIONS }]],
    ]);
    expect(raw.body.offsets).toEqual([]);

    const unknown = await api('/admin/v1/groups/admin-no-such-group');
    expect(unknown).toEqual({ status: 404, body: { error: 'no group admin-no-such-group' } });
  });

  it("gives each committed partition's lag as its coordinator last sampled it", async () => {
    const body = await waitFor('the lag of every committed partition', async () => {
      const { body: group } = await api<GroupAnswer>(`/admin/v1/groups/${kafkajsGroup}`);
      return group.offsets.every((o) => o.lag !== null) ? group : null;
    });
    for (const { partition, lag } of body.offsets) {
      expect(lag).toMatchObject({
        committedOffset: PRODUCED[partition] - BEHIND[partition],
        logEndOffset: PRODUCED[partition],
        messages: BEHIND[partition],
      });
      // Caught up: no time lag; behind: the time since the first message not consumed.
      if (BEHIND[partition] === 0) expect(lag!.seconds).toBe(0);
      else expect(lag!.seconds).toBeGreaterThanOrEqual(0);
      expect(Date.parse(lag!.sampledAt)).toBeGreaterThanOrEqual(committedFrom);
    }
  });

  it('shows the group-id mapping, written by the broker that answered FindCoordinator', async () => {
    const answer = await waitFor('the coordinator to publish the assignment', async () => {
      const a = await api<GroupMappingsAnswer>(
        `/admin/v1/group-mappings?group=${encodeURIComponent(rawGroup)}`,
      );
      return a.body.nodes[0]?.groups[0]?.assigned ? a : null;
    });
    expect(answer.status).toBe(200);
    const { body } = answer;
    expect(body).toMatchObject({ answeredBy: ASKED, root: '/client_group_id' });
    expect(body.nodes).toHaveLength(1);
    const [node] = body.nodes;
    expect(node).toMatchObject({
      node: nodeName({ clientHost: HOST, clientId: 'admin-raw' }),
      clientHost: HOST,
      clientId: 'admin-raw',
    });
    expect(node.groups).toHaveLength(1);
    const [entry] = node.groups;
    expect(entry).toMatchObject({
      groupId: rawGroup,
      writerBrokerId: ASKED,
      token: expect.any(String) as string,
      assigned: [{ kafkaName: TOPIC, fullName: FULL_NAME, partitions: ALL_PARTITIONS }],
    });
    expect(Number.isNaN(Date.parse(entry.writtenAt!))).toBe(false);

    // Unfiltered: the kafkajs consumer's node too, with its group.
    const all = await api<GroupMappingsAnswer>('/admin/v1/group-mappings');
    const kafkajsNode = all.body.nodes.find((n) => n.clientId === 'admin-consumer');
    expect(kafkajsNode?.groups.map((g) => g.groupId)).toEqual([kafkajsGroup]);
    expect([0, 1, 2]).toContain(kafkajsNode!.groups[0].writerBrokerId);
  });

  it("shows each broker's reconciler passes, with an orphan its coordinator removed", async () => {
    // A FindCoordinator for a group nobody joins, answered by broker 0: its entry is an orphan
    // that the group's coordinator (broker 2) removes once it is older than the grace.
    const ghost = await groupCoordinatedBy('admin-ghost', 2);
    const written = Date.now();
    const conn = await RawConnection.open(ports[ASKED], HOST, 'admin-orphan');
    try {
      const { body } = await conn.request(ApiKey.FindCoordinator, 3, { key: ghost, keyType: 0 });
      expect(body.errorCode).toBe(ErrorCode.NONE);
    } finally {
      conn.close();
    }
    // Every pass seen, by broker and start (a pass stays in the last 10 for 3 s at 300 ms).
    const seen = new Map<string, ReconcilerRunEntry & { brokerId: number }>();
    const removedBy2 = () =>
      [...seen.values()]
        .filter((r) => r.brokerId === 2 && Date.parse(r.startedAt) >= written)
        .reduce((sum, r) => sum + r.orphansRemoved, 0);
    let last: ReconcilerAnswer | undefined;
    await waitFor(
      'broker 2 to remove the orphan',
      async () => {
        const { status, body } = await api<ReconcilerAnswer>('/admin/v1/reconciler');
        expect(status).toBe(200);
        last = body;
        for (const b of body.brokers) {
          for (const run of b.runs)
            seen.set(`${b.brokerId} ${run.startedAt}`, { ...run, brokerId: b.brokerId });
        }
        return removedBy2() > 0;
      },
      30_000,
      100,
    );
    expect(removedBy2()).toBe(1);
    expect(last!.answeredBy).toBe(ASKED);
    expect(last!.errors).toEqual([]);
    expect(last!.brokers.map(({ runs: _runs, ...b }) => b)).toEqual(
      [0, 1, 2].map((brokerId) => ({
        brokerId,
        policy: 'coordinator',
        enabled: true,
        intervalMs: 300,
      })),
    );
    for (const run of seen.values()) {
      expect(run.errors).toEqual([]);
      expect(run.durationMs).toBeGreaterThanOrEqual(0);
    }
    const mapping = await api<GroupMappingsAnswer>(`/admin/v1/group-mappings?group=${ghost}`);
    expect(mapping.body.nodes).toEqual([]);
  });

  it('says which brokers did not answer, rather than failing the whole answer', async () => {
    // Broker 1's HTTP port goes away while it stays in the cluster.
    await (brokers[1] as unknown as { http: HttpServer }).http.close();
    const groups = await api<{
      groups: GroupSummary[];
      errors: { brokerId: number; error: string }[];
    }>('/admin/v1/groups');
    expect(groups.status).toBe(200);
    expect(groups.body.errors.map((e) => e.brokerId)).toEqual([1]);
    // The raw member's group lives on broker 1: missing; the kafkajs group is listed.
    expect(groups.body.groups.map((g) => g.groupId)).toContain(kafkajsGroup);
    expect(groups.body.groups.map((g) => g.groupId)).not.toContain(rawGroup);
    const reconciler = await api<ReconcilerAnswer>('/admin/v1/reconciler');
    expect(reconciler.body.brokers.map((b) => b.brokerId)).toEqual([0, 2]);
    expect(reconciler.body.errors.map((e) => e.brokerId)).toEqual([1]);
    // A group whose coordinator cannot be asked: 502, not a hang or a 404.
    const group = await api<{ error: string }>(`/admin/v1/groups/${rawGroup}`);
    expect(group.status).toBe(502);
  });
});
