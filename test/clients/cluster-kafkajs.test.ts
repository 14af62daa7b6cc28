/**
 * Three brokers: partitions and group coordinators spread over them; a broker stopped while
 * producers (acks=all) and a consumer group run: its partitions and groups move to the others,
 * consumption resumes by itself, no acknowledged message is lost, committed offsets stay.
 */
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

const TOPIC = 'spread';
const PARTITIONS = 6;

describe('kafkajs against a three-broker cluster', () => {
  let cluster: TestCluster;
  let kafka: Kafka;
  let consumer: Consumer;
  const consumed = new Set<string>();

  beforeAll(async () => {
    cluster = await startTestCluster(3);
    kafka = new Kafka({
      brokers: cluster.bootstrap.split(','),
      clientId: 'cluster-test',
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
    await admin.disconnect();
  });
  afterAll(async () => {
    await consumer?.disconnect().catch(() => undefined);
    await cluster.stop();
  });

  it('spreads partition leaders over the brokers', async () => {
    const admin = kafka.admin();
    await admin.connect();
    const leaders = await waitFor('every partition to have a leader', async () => {
      const meta = await admin.fetchTopicMetadata({ topics: [TOPIC] });
      const ids = meta.topics[0].partitions.map((p) => p.leader);
      return ids.every((id) => id >= 0) ? ids : null;
    });
    await admin.disconnect();
    expect(new Set(leaders).size).toBeGreaterThan(1);
  });

  it('answers NOT_LEADER_OR_FOLLOWER for a partition another broker owns', async () => {
    const { ApiKey, ErrorCode } = await import('../../plugins/kafka/protocol/index.js');
    const { RawConnection } = await import('../helpers/raw-client.js');
    const { buildBatch } = await import('../helpers/record-batches.js');
    const broker0 = cluster.brokers[0]!;
    const conn = await RawConnection.open(broker0.listeners[0].port);
    try {
      const { body } = await conn.request(ApiKey.Metadata, 12, {
        topics: [{ name: TOPIC }],
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      });
      const foreign = body.topics[0].partitions.find((p) => p.leaderId !== 0)!;
      const produced = await conn.request(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [
          {
            name: TOPIC,
            partitionData: [{ index: foreign.partitionIndex, records: buildBatch() }],
          },
        ],
      });
      expect(produced.body.responses[0].partitionResponses[0].errorCode).toBe(
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
      );
    } finally {
      conn.close();
    }
  });

  it('keeps producing and consuming while a broker stops, losing nothing acknowledged', async () => {
    consumer = kafka.consumer({
      groupId: 'cluster-group',
      sessionTimeout: 6000,
      heartbeatInterval: 300,
      maxWaitTimeInMs: 500,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => void consumed.add(message.value!.toString()),
    });

    const producer = kafka.producer();
    await producer.connect();
    const acked: string[] = [];
    let stopProducing = false;
    const producing = (async () => {
      for (let i = 0; !stopProducing && i < 100_000; i++) {
        // One send per partition: kafkajs 2.2 tracks a send's answers per broker, so when a
        // partition's leadership moves to a broker that already answered for another partition
        // of the same send, it drops that partition's messages and reports success.
        await Promise.all(
          Array.from({ length: PARTITIONS }, async (_, partition) => {
            const value = `m-${i}-${partition}`;
            try {
              await producer.send({ topic: TOPIC, acks: -1, messages: [{ partition, value }] });
              acked.push(value);
            } catch {
              // Not acknowledged: the client gave up while leadership moved.
            }
          }),
        );
      }
    })();
    await waitFor('some messages consumed', () => consumed.size >= 300, 30_000);

    // The broker that owns the most partitions goes away gracefully.
    await cluster.stopBroker(1);
    const mark = acked.length;
    await waitFor('producing after the stop', () => acked.length >= mark + 300, 60_000);
    stopProducing = true;
    await producing;
    await producer.disconnect();

    await waitFor(
      'every acknowledged message consumed',
      () => acked.every((v) => consumed.has(v)),
      60_000,
    );
    const admin = kafka.admin();
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [TOPIC] });
    expect(meta.topics[0].partitions.every((p) => p.leader === 0 || p.leader === 2)).toBe(true);
    const committed = await waitFor(
      'offsets committed past every message',
      async () => {
        const offsets = await admin.fetchOffsets({ groupId: 'cluster-group', topics: [TOPIC] });
        const ends = await admin.fetchTopicOffsets(TOPIC);
        const done = offsets[0].partitions.every(
          (p) => p.offset === ends.find((e) => e.partition === p.partition)!.high,
        );
        return done ? offsets : null;
      },
      30_000,
    );
    await admin.disconnect();
    expect(committed[0].partitions).toHaveLength(PARTITIONS);
  }, 180_000);
});
