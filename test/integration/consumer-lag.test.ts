/**
 * Consumer-group lag and group metrics on a three-broker cluster, read from every broker's
 * /metrics as Prometheus would. The group's coordinator is a broker that owns none of the
 * topic's partitions, so its lag comes from the other brokers' log positions. kafkajs produces
 * batches with known timestamps (an hour ago, a minute apart), a kafkajs consumer in the group
 * commits known offsets, and the test compares the coordinator's series with what Kafka's own
 * APIs say (ListOffsets, OffsetFetch) and with what it did (one member, one rebalance, commits).
 */
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offsetsPartitionFor } from '../../plugins/kafka/coordinator/placement.js';
import { ApiKey, ErrorCode } from '../../plugins/kafka/protocol/index.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { scrape, type Sample } from '../helpers/prometheus-text.js';
import { openCoordinator } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait.js';

const TOPIC = 'lagged';
const FULL_TOPIC = `persistent://public/default/${TOPIC}`;
const OFFSETS_TOPIC = 'persistent://public/__kafka/__consumer_offsets';
const OFFSETS_PARTITIONS = 50;
const LAG_INTERVAL_MS = 200;
/** Per partition: how many batches and messages per batch. */
const LAYOUT = [
  { batches: 4, size: 5 },
  { batches: 3, size: 4 },
];
const BASE_TS = Date.now() - 3_600_000;
const batchTimestamp = (partition: number, batch: number): number =>
  BASE_TS + batch * 60_000 + partition * 1000;
/** The offsets committed first: inside batch 1 of partition 0, at the start of batch 1 of partition 1. */
const FIRST_COMMIT = [7, 4];
const GROUP_SERIES = /^koppa_consumer_group_/;

describe('consumer-group lag and group metrics on three brokers', () => {
  let cluster: TestCluster;
  let kafka: Kafka;
  let admin: Admin;
  let consumer: Consumer | undefined;
  let group: string;
  let coordinatorId: number;
  const consumed: string[] = [];

  /** Every broker's /metrics, by broker id. */
  async function scrapeAll(): Promise<Map<number, Sample[]>> {
    const scraped = new Map<number, Sample[]>();
    for (const broker of cluster.brokers) {
      scraped.set(broker!.config.brokerId, await scrape(broker!.httpPort!));
    }
    return scraped;
  }

  /** The group's koppa_consumer_group_* samples on each broker that has any. */
  function groupSeriesByBroker(scraped: Map<number, Sample[]>): Map<number, Sample[]> {
    const byBroker = new Map<number, Sample[]>();
    for (const [brokerId, samples] of scraped) {
      const mine = samples.filter((s) => GROUP_SERIES.test(s.name) && s.labels.group === group);
      if (mine.length > 0) byBroker.set(brokerId, mine);
    }
    return byBroker;
  }

  /** The value of one series of the group on the coordinator; undefined when it has none. */
  function valueOf(
    samples: Sample[],
    name: string,
    labels: Record<string, string> = {},
  ): number | undefined {
    const found = samples.filter(
      (s) =>
        s.name === name &&
        s.labels.group === group &&
        Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
    if (found.length > 1) throw new Error(`${found.length} series of ${name} for ${group}`);
    return found[0]?.value;
  }

  /** ListOffsets (latest) and OffsetFetch, as a user would check the lag. */
  async function kafkaLag(): Promise<{ logEnd: number[]; committed: number[] }> {
    const ends = await admin.fetchTopicOffsets(TOPIC);
    const [fetched] = await admin.fetchOffsets({ groupId: group, topics: [TOPIC] });
    const byPartition = <T extends { partition: number }>(list: T[], p: number) =>
      list.find((e) => e.partition === p)!;
    return {
      logEnd: LAYOUT.map((_, p) => Number(byPartition(ends, p).offset)),
      committed: LAYOUT.map((_, p) => Number(byPartition(fetched.partitions, p).offset)),
    };
  }

  beforeAll(async () => {
    cluster = await startTestCluster(3, { consumerLagIntervalMs: LAG_INTERVAL_MS });
    kafka = new Kafka({
      brokers: cluster.bootstrap.split(','),
      clientId: 'lag-test',
      logLevel: logLevel.NOTHING,
      retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: LAYOUT.length }] });
    const producer = kafka.producer();
    await producer.connect();
    for (let b = 0; b < Math.max(...LAYOUT.map((l) => l.batches)); b++) {
      for (const [p, { batches, size }] of LAYOUT.entries()) {
        if (b >= batches) continue;
        // One send to one partition is one batch; its messages share the batch's timestamp.
        await producer.send({
          topic: TOPIC,
          acks: -1,
          messages: Array.from({ length: size }, (_, i) => ({
            partition: p,
            value: `p${p}-b${b}-${i}`,
            timestamp: String(batchTimestamp(p, b)),
          })),
        });
      }
    }
    await producer.disconnect();
    // A group whose coordinator owns none of the topic's partitions.
    const view = cluster.brokers[0]!.clusterView;
    const chosen = await waitFor('a group coordinated away from the partitions', () => {
      const owners = LAYOUT.map((_, partition) => view.ownerOf({ topic: FULL_TOPIC, partition }));
      if (owners.some((o) => o === null)) return null;
      for (let i = 0; i < 1000; i++) {
        const candidate = `lag-group-${i}`;
        const partition = offsetsPartitionFor(candidate, OFFSETS_PARTITIONS);
        const coordinator = view.ownerOf({ topic: OFFSETS_TOPIC, partition });
        if (coordinator && owners.every((o) => o!.brokerId !== coordinator.brokerId)) {
          return { group: candidate, coordinatorId: coordinator.brokerId };
        }
      }
      return null;
    });
    group = chosen.group;
    coordinatorId = chosen.coordinatorId;
  });

  afterAll(async () => {
    await consumer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await cluster?.stop();
  });

  it('exports the lag of committed offsets on the coordinator only, as Kafka computes it', async () => {
    consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000 });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    const total = LAYOUT.reduce((sum, l) => sum + l.batches * l.size, 0);
    // No automatic commits: the test commits exactly what it says below.
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => void consumed.push(message.value!.toString()),
    });
    await waitFor('every message consumed', () => consumed.length >= total);

    const beforeCommit = Date.now();
    await consumer.commitOffsets(
      FIRST_COMMIT.map((offset, partition) => ({ topic: TOPIC, partition, offset: `${offset}` })),
    );
    const afterCommit = Date.now();
    const { logEnd, committed } = await kafkaLag();
    expect(committed).toEqual(FIRST_COMMIT);
    expect(logEnd).toEqual(LAYOUT.map((l) => l.batches * l.size));

    // Wait for a sample that knows the commit: one taken after it (a sample before it had no
    // offsets for the group, so no lag series at all).
    let afterScrape = 0;
    const series = await waitFor('the lag series of the commit', async () => {
      const byBroker = groupSeriesByBroker(await scrapeAll());
      afterScrape = Date.now();
      const samples = byBroker.get(coordinatorId);
      const ready =
        samples &&
        LAYOUT.every(
          (_, p) =>
            valueOf(samples, 'koppa_consumer_group_lag_seconds', { partition: `${p}` }) !==
            undefined,
        );
      return ready ? byBroker : null;
    });
    // Only the coordinator exports the group, although the partitions live elsewhere.
    expect([...series.keys()]).toEqual([coordinatorId]);
    const samples = series.get(coordinatorId)!;
    for (const [p, { size }] of LAYOUT.entries()) {
      const labels = { topic: FULL_TOPIC, partition: `${p}` };
      expect(valueOf(samples, 'koppa_consumer_group_committed_offset', labels)).toBe(committed[p]);
      expect(valueOf(samples, 'koppa_consumer_group_lag_messages', labels)).toBe(
        logEnd[p] - committed[p],
      );
      // The gauge is computed when the coordinator samples, not when it is scraped: the sample
      // that shows this commit was taken after the commit began (beforeCommit) and before the
      // scrape that read it ended (afterScrape). Its age is measured from the timestamp of the
      // batch holding the committed offset.
      const ts = batchTimestamp(p, Math.floor(committed[p] / size));
      const seconds = valueOf(samples, 'koppa_consumer_group_lag_seconds', labels)!;
      expect(seconds).toBeGreaterThanOrEqual((beforeCommit - ts) / 1000);
      expect(seconds).toBeLessThanOrEqual((afterScrape - ts) / 1000);
    }
    expect(valueOf(samples, 'koppa_consumer_group_members')).toBe(1);
    expect(valueOf(samples, 'koppa_consumer_group_state', { state: 'Stable' })).toBe(1);
    for (const state of ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Dead']) {
      expect(valueOf(samples, 'koppa_consumer_group_state', { state })).toBe(0);
    }
    // One member joined an empty group: one generation.
    expect(valueOf(samples, 'koppa_consumer_group_rebalances_total')).toBe(1);
    expect(valueOf(samples, 'koppa_consumer_group_commits_total')).toBe(1);
    const lastCommit = valueOf(samples, 'koppa_consumer_group_last_commit_timestamp_seconds')!;
    expect(lastCommit).toBeGreaterThanOrEqual(beforeCommit / 1000);
    expect(lastCommit).toBeLessThanOrEqual(afterCommit / 1000);
  });

  it('reads 0 messages and 0 seconds once the group has committed the log end', async () => {
    const { logEnd } = await kafkaLag();
    await consumer!.commitOffsets(
      logEnd.map((offset, partition) => ({ topic: TOPIC, partition, offset: `${offset}` })),
    );
    expect((await kafkaLag()).committed).toEqual(logEnd);
    const samples = await waitFor('the lag of the second commit', async () => {
      const found = groupSeriesByBroker(await scrapeAll()).get(coordinatorId);
      const caughtUp = LAYOUT.every(
        (_, p) =>
          valueOf(found ?? [], 'koppa_consumer_group_lag_messages', { partition: `${p}` }) === 0,
      );
      return caughtUp ? found : null;
    });
    for (const [p] of LAYOUT.entries()) {
      const labels = { topic: FULL_TOPIC, partition: `${p}` };
      expect(valueOf(samples, 'koppa_consumer_group_committed_offset', labels)).toBe(logEnd[p]);
      expect(valueOf(samples, 'koppa_consumer_group_lag_seconds', labels)).toBe(0);
    }
    expect(valueOf(samples, 'koppa_consumer_group_commits_total')).toBe(2);
  });

  it('follows the group to Empty when its member leaves, and drops it once deleted', async () => {
    await consumer!.disconnect();
    consumer = undefined;
    // The member left: the join phase completes without it, an empty generation.
    const samples = await waitFor('the group to be Empty', async () => {
      const found = groupSeriesByBroker(await scrapeAll()).get(coordinatorId);
      return found && valueOf(found, 'koppa_consumer_group_state', { state: 'Empty' }) === 1
        ? found
        : null;
    });
    expect(valueOf(samples, 'koppa_consumer_group_members')).toBe(0);
    expect(valueOf(samples, 'koppa_consumer_group_rebalances_total')).toBe(2);
    expect(valueOf(samples, 'koppa_consumer_group_commits_total')).toBe(2);
    // Its offsets stay with an empty group, and so do their series.
    expect(valueOf(samples, 'koppa_consumer_group_committed_offset', { partition: '0' })).toBe(
      LAYOUT[0].batches * LAYOUT[0].size,
    );

    await admin.deleteGroups([group]);
    const scraped = await scrapeAll();
    expect(groupSeriesByBroker(scraped).size).toBe(0);
  });
});

describe('consumer-group metrics under the series policy', () => {
  let cluster: TestCluster;

  afterAll(async () => {
    await cluster?.stop();
  });

  it('exports no series for a denied group, and sums partitions without the partition label', async () => {
    cluster = await startTestCluster(1, {
      // One broker: no other owner to wait for when it claims its partitions.
      logFenceGraceMs: 0,
      consumerLagIntervalMs: LAG_INTERVAL_MS,
      metricsGroupDenyPatterns: 'hidden-.*',
      metricsPartitionLabel: false,
    });
    const kafka = new Kafka({
      brokers: cluster.bootstrap.split(','),
      clientId: 'policy-test',
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    const producer = kafka.producer();
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }] });
      await producer.connect();
      for (const partition of [0, 1]) {
        await producer.send({
          topic: TOPIC,
          messages: Array.from({ length: 10 }, (_, i) => ({ partition, value: `m${i}` })),
        });
      }
      // Commits from outside group management (as a tool resets offsets): 3 and 4 of 10.
      for (const groupId of ['shown', 'hidden-1']) {
        const conn = await openCoordinator(cluster.brokers[0]!.listeners[0].port, groupId);
        try {
          const { body } = await conn.request(ApiKey.OffsetCommit, 8, {
            groupId,
            generationIdOrMemberEpoch: -1,
            memberId: '',
            groupInstanceId: null,
            topics: [
              {
                name: TOPIC,
                partitions: [3, 4].map((committedOffset, partitionIndex) => ({
                  partitionIndex,
                  committedOffset,
                  committedLeaderEpoch: -1,
                  committedMetadata: null,
                })),
              },
            ],
          });
          const errors = body.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
          expect(errors).toEqual([ErrorCode.NONE, ErrorCode.NONE]);
        } finally {
          conn.close();
        }
      }
      const samples = await waitFor('the lag of the shown group', async () => {
        const scraped = await scrape(cluster.brokers[0]!.httpPort!);
        const lag = scraped.find(
          (s) => s.name === 'koppa_consumer_group_lag_messages' && s.labels.group === 'shown',
        );
        return lag ? scraped : null;
      });
      const groupSeries = samples.filter((s) => GROUP_SERIES.test(s.name));
      expect(groupSeries.filter((s) => s.labels.group !== 'shown')).toEqual([]);
      const perTopic = (name: string) =>
        groupSeries
          .filter((s) => s.name === name)
          .map((s) => ({ topic: s.labels.topic, partition: s.labels.partition, value: s.value }));
      expect(perTopic('koppa_consumer_group_committed_offset')).toEqual([
        { topic: FULL_TOPIC, partition: undefined, value: 7 },
      ]);
      expect(perTopic('koppa_consumer_group_lag_messages')).toEqual([
        { topic: FULL_TOPIC, partition: undefined, value: 13 },
      ]);
      expect(perTopic('koppa_consumer_group_lag_seconds')).toHaveLength(1);
    } finally {
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
  });
});
