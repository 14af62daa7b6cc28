/**
 * Log positions across brokers: every broker answers LOG_POSITIONS_PATH on its HTTP port for the
 * partitions it owns (NOT_OWNER for the others), and a reader asks each owner with its own
 * partitions. Three in-process brokers, messages produced by kafkajs with known timestamps.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterLogPositions } from '../../plugins/kafka/lag/log-positions.js';
import {
  LOG_POSITIONS_PATH,
  type LogPositions,
  type LogPositionsQuery,
} from '../../plugins/kafka/lag/types.js';
import { createPeerClient } from '../../src/http/peers.js';
import type { ClusterView } from '../../src/cluster/types.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

const TOPIC = 'positions';
const FULL_TOPIC = `persistent://public/default/${TOPIC}`;
const PARTITIONS = 6;
const BATCHES = 3;
/** Timestamps of the produced batches: an hour ago, then a second apart per batch. */
const BASE_TS = Date.now() - 3_600_000;

/** Partition p gets BATCHES sends of p + 1 messages; batch b's messages share one timestamp. */
const batchSize = (partition: number): number => partition + 1;
const batchTimestamp = (partition: number, batch: number): number =>
  BASE_TS + batch * 1000 + partition;
const logEnd = (partition: number): number => BATCHES * batchSize(partition);

async function post(httpPort: number, body: unknown): Promise<Response> {
  return fetch(`http://127.0.0.1:${httpPort}${LOG_POSITIONS_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}

/** What the owner of `partition` must answer for a query at every batch's first offset and the end. */
function expectedPositions(partition: number): LogPositions {
  const timestamps: Record<string, number | null> = {};
  for (let b = 0; b < BATCHES; b++) {
    // The first and the last offset of each batch: both are in the batch.
    timestamps[String(b * batchSize(partition))] = batchTimestamp(partition, b);
    timestamps[String((b + 1) * batchSize(partition) - 1)] = batchTimestamp(partition, b);
  }
  timestamps[String(logEnd(partition))] = null;
  return {
    topic: FULL_TOPIC,
    partition,
    logStartOffset: 0,
    logEndOffset: logEnd(partition),
    // Record batches of this test's size: at least 61 header bytes each.
    sizeBytes: expect.toSatisfy((n: number) => n >= BATCHES * 61) as number,
    timestamps,
  };
}

function query(partition: number): LogPositionsQuery {
  return {
    topic: FULL_TOPIC,
    partition,
    timestampsAt: Object.keys(expectedPositions(partition).timestamps!).map(Number),
  };
}

describe('log positions across three brokers', () => {
  let cluster: TestCluster;
  /** Owner broker id of each partition, as broker 0 sees it. */
  let owners: number[];

  beforeAll(async () => {
    cluster = await startTestCluster(3);
    const kafka = new Kafka({
      brokers: cluster.bootstrap.split(','),
      clientId: 'positions-test',
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    for (let b = 0; b < BATCHES; b++) {
      for (let p = 0; p < PARTITIONS; p++) {
        await producer.send({
          topic: TOPIC,
          acks: -1,
          messages: Array.from({ length: batchSize(p) }, (_, i) => ({
            partition: p,
            value: `p${p}-b${b}-${i}`,
            timestamp: String(batchTimestamp(p, b)),
          })),
        });
      }
    }
    await producer.disconnect();
    const view = cluster.brokers[0]!.clusterView;
    owners = await waitFor('every partition to have an owner', () => {
      const ids = Array.from(
        { length: PARTITIONS },
        (_, partition) => view.ownerOf({ topic: FULL_TOPIC, partition })?.brokerId ?? -1,
      );
      return ids.every((id) => id >= 0) ? ids : null;
    });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('spreads the partitions over more than one broker', () => {
    expect(new Set(owners).size).toBeGreaterThan(1);
  });

  it('answers positions for owned partitions and NOT_OWNER for the others, on every broker', async () => {
    const queries = Array.from({ length: PARTITIONS }, (_, p) => query(p));
    for (const broker of cluster.brokers) {
      const response = await post(broker!.httpPort!, { partitions: queries });
      expect(response.status).toBe(200);
      const { partitions } = (await response.json()) as { partitions: LogPositions[] };
      const brokerId = broker!.config.brokerId;
      expect(partitions).toEqual(
        queries.map((_, p) =>
          owners[p] === brokerId
            ? expectedPositions(p)
            : { topic: FULL_TOPIC, partition: p, error: 'NOT_OWNER' },
        ),
      );
    }
  });

  it('answers UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist', async () => {
    const response = await post(cluster.brokers[0]!.httpPort!, {
      partitions: [{ topic: FULL_TOPIC, partition: PARTITIONS }],
    });
    expect(await response.json()).toEqual({
      partitions: [
        { topic: FULL_TOPIC, partition: PARTITIONS, error: 'UNKNOWN_TOPIC_OR_PARTITION' },
      ],
    });
  });

  it('refuses a malformed body with 400', async () => {
    const port = cluster.brokers[0]!.httpPort!;
    for (const body of [
      {},
      { partitions: 'all' },
      { partitions: [{ topic: FULL_TOPIC }] },
      { partitions: [{ topic: FULL_TOPIC, partition: -1 }] },
      { partitions: [{ topic: FULL_TOPIC, partition: 0, timestampsAt: ['0'] }] },
    ]) {
      const response = await post(port, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
  });

  it('a reader asks each owner for its own partitions, and reports an owner it cannot reach', async () => {
    const broker0 = cluster.brokers[0]!;
    const view = broker0.clusterView;
    // Broker 0's own partitions go to its local reader (here a recording stand-in); a partition
    // whose owner is made up (no such broker) cannot be asked.
    const askedLocally: LogPositionsQuery[] = [];
    const unreachablePartition = owners.findIndex((owner) => owner !== 0);
    const cluster0: ClusterView = Object.create(view, {
      ownerOf: {
        value: (tp: { topic: string; partition: number }) =>
          tp.topic === FULL_TOPIC && tp.partition === unreachablePartition
            ? { brokerId: 99, epoch: 1 }
            : view.ownerOf(tp),
      },
    }) as ClusterView;
    const reader = new ClusterLogPositions({
      cluster: cluster0,
      peers: createPeerClient(cluster0),
      owned: {
        read: async (queries) => {
          askedLocally.push(...queries);
          return queries.map((q) => ({ topic: q.topic, partition: q.partition, error: 'LOCAL' }));
        },
      },
    });
    const queries = [
      ...Array.from({ length: PARTITIONS }, (_, p) => query(p)),
      { topic: 'persistent://public/default/missing', partition: 0 },
    ];
    const answers = await reader.read(queries);
    expect(answers).toHaveLength(queries.length);
    for (let p = 0; p < PARTITIONS; p++) {
      if (p === unreachablePartition) {
        expect(answers[p]).toMatchObject({ topic: FULL_TOPIC, partition: p });
        expect(answers[p].error).toMatch(/^OWNER_UNREACHABLE: broker 99/);
      } else if (owners[p] === 0) {
        expect(answers[p]).toEqual({ topic: FULL_TOPIC, partition: p, error: 'LOCAL' });
      } else {
        expect(answers[p]).toEqual(expectedPositions(p));
      }
    }
    expect(answers[PARTITIONS]).toEqual({
      topic: 'persistent://public/default/missing',
      partition: 0,
      error: 'NO_OWNER',
    });
    expect(askedLocally.map((q) => q.partition).sort()).toEqual(
      owners.flatMap((owner, p) => (owner === 0 && p !== unreachablePartition ? [p] : [])),
    );
  });

  it('reads more than one request body holds from another owner, in several requests', async () => {
    const broker0 = cluster.brokers[0]!;
    const remote = owners.findIndex((owner) => owner !== 0);
    const reader = new ClusterLogPositions({
      cluster: broker0.clusterView,
      peers: createPeerClient(broker0.clusterView),
      owned: { read: async () => [] },
    });
    // About 3 MB of JSON: offsets past the log end, which hold no record.
    const far = Array.from({ length: 100 }, (_, i) => 1_000_000_000 + i);
    const queries = Array.from({ length: 4000 }, () => ({
      topic: FULL_TOPIC,
      partition: remote,
      timestampsAt: far,
    }));
    expect(JSON.stringify({ partitions: queries }).length).toBeGreaterThan(1024 * 1024);
    const answers = await reader.read(queries);
    const expected = {
      topic: FULL_TOPIC,
      partition: remote,
      logStartOffset: 0,
      logEndOffset: logEnd(remote),
      sizeBytes: expect.any(Number) as number,
      timestamps: Object.fromEntries(far.map((o) => [String(o), null])),
    };
    expect(answers).toHaveLength(queries.length);
    for (const answer of answers) expect(answer).toEqual(expected);
  });

  it('gives the log start batch timestamp for an offset retention removed (the oldest message left)', async () => {
    const topic = 'positions-retained';
    const fullTopic = `persistent://public/default/${topic}`;
    const kafka = new Kafka({
      brokers: cluster.bootstrap.split(','),
      clientId: 'positions-retention-test',
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    // Small segments, and retention that keeps only the active one.
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 1,
          configEntries: [
            { name: 'segment.bytes', value: '1024' },
            { name: 'retention.bytes', value: '1' },
          ],
        },
      ],
    });
    const producer = kafka.producer();
    await producer.connect();
    const stamp = (offset: number) => BASE_TS + offset * 1000;
    for (let offset = 0; offset < 60; offset++) {
      await producer.send({
        topic,
        acks: -1,
        messages: [{ value: `retained-${offset}`, timestamp: String(stamp(offset)) }],
      });
    }
    await producer.disconnect();
    const owner = await waitFor('an owner', () => {
      const id = cluster.brokers[0]!.clusterView.ownerOf({ topic: fullTopic, partition: 0 });
      return id ? cluster.brokers.find((b) => b?.config.brokerId === id.brokerId) : null;
    });
    // What the broker's retention timer does, now.
    await owner!.messageStore.enforceRetention();
    const [{ low }] = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const logStart = Number(low);
    expect(logStart).toBeGreaterThan(0);

    const response = await post(owner!.httpPort!, {
      partitions: [{ topic: fullTopic, partition: 0, timestampsAt: [0, logStart, 60] }],
    });
    const { partitions } = (await response.json()) as { partitions: LogPositions[] };
    expect(partitions[0]).toMatchObject({
      logStartOffset: logStart,
      logEndOffset: 60,
      timestamps: { '0': stamp(logStart), [String(logStart)]: stamp(logStart), '60': null },
    });
  });
});
