/**
 * A broker's own metrics on `/metrics`, scraped over HTTP as Prometheus would: request durations
 * per API and the error codes responses carried, connections, what the message store took and
 * gave, the logs this broker owns (and only those: a partition that moves leaves the old owner's
 * series), and the broker's identity. Real sockets, real kafkajs clients, raw requests where the
 * test must know exactly how many requests were made.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, ErrorCode } from '../../plugins/kafka/protocol/index.js';
import { topicDirName } from '../../src/storage/topic-dirs.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { startTestCluster, type TestCluster } from '../helpers/cluster.js';
import { readPartitionWithKafkajs } from '../helpers/kafkajs-reader.js';
import { scrape, type Sample } from '../helpers/prometheus-text.js';
import { fetchRequest, openLeader, RawConnection } from '../helpers/raw-client.js';
import { buildBatch } from '../helpers/record-batches.js';
import { waitFor } from '../helpers/wait.js';

const CONTRACT_BUCKETS = [
  '0.0005',
  '0.001',
  '0.0025',
  '0.005',
  '0.01',
  '0.025',
  '0.05',
  '0.1',
  '0.25',
  '0.5',
  '1',
  '2.5',
  '5',
  '10',
  '30',
  '+Inf',
];

const fullName = (topic: string) => `persistent://public/default/${topic}`;

/** Every broker's samples, one list per broker (one broker unless KOPPA_TEST_BROKERS says more). */
async function scrapeEach(ports: number[]): Promise<Sample[][]> {
  return Promise.all(ports.map((port) => scrape(port)));
}

/** The sum, over brokers and series, of `name`'s samples whose labels include `labels`. */
function total(scraped: Sample[][], name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const samples of scraped) {
    for (const s of samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
    }
  }
  return sum;
}

/** How much `name` (matching `labels`) grew between two scrapes. */
function grew(
  before: Sample[][],
  after: Sample[][],
  name: string,
  labels: Record<string, string> = {},
): number {
  return total(after, name, labels) - total(before, name, labels);
}

/** The record-batch bytes the broker stored for a partition: its segment files. */
async function storedBytes(dataDir: string, topic: string, partition: number): Promise<number> {
  const dir = join(dataDir, topicDirName(fullName(topic)), String(partition));
  const logs = (await readdir(dir)).filter((name) => name.endsWith('.log'));
  const sizes = await Promise.all(logs.map(async (name) => (await stat(join(dir, name))).size));
  return sizes.reduce((a, b) => a + b, 0);
}

describe('broker metrics on the HTTP port', () => {
  let broker: TestBroker;
  let httpPorts: number[];
  const scrapeBrokers = () => scrapeEach(httpPorts);

  beforeAll(async () => {
    broker = await startTestBroker();
    httpPorts = broker.services.map((s) => s.httpPort!);
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it("says which broker it is, which Koppa version it runs (package.json's), and its store connected", async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default;
    const scraped = await scrapeBrokers();
    broker.services.forEach((service, i) => {
      const info = scraped[i].filter((s) => s.name === 'koppa_broker_info');
      expect(info).toHaveLength(1);
      expect(info[0].labels).toMatchObject({
        broker_id: String(service.config.brokerId),
        version,
      });
      expect(info[0].value).toBe(1);
      // Its metadata store (in memory here) is always connected.
      expect(total([scraped[i]], 'koppa_metadata_store_connected')).toBe(1);
    });
  });

  it('times each request by API, and counts the errors responses carry by API and error name', async () => {
    const topic = 'broker-metrics-raw';
    const setup = await RawConnection.open(broker.port);
    expect(await setup.createTopic(topic, 1)).toBe(0);
    setup.close();
    const conn = await openLeader(broker.port, topic, 0);
    const before = await scrapeBrokers();

    const metadata = () =>
      conn.request(ApiKey.Metadata, 12, {
        topics: [{ name: topic }],
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      });
    const produce = (partition: number, recordCount: number) =>
      conn.request(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [
          {
            name: topic,
            partitionData: [{ index: partition, records: buildBatch({ recordCount }) }],
          },
        ],
      });
    await metadata();
    await metadata();
    for (let i = 0; i < 3; i++) {
      const { body } = await produce(0, 5);
      expect(body.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    }
    // The topic has one partition: partition 7 is unknown.
    const unknown = await produce(7, 1);
    expect(unknown.body.responses[0].partitionResponses[0].errorCode).toBe(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    expect((await conn.fetchPartition(topic, 0, 0)).errorCode).toBe(ErrorCode.NONE);
    expect((await conn.fetchPartition(topic, 0, 1_000_000)).errorCode).toBe(
      ErrorCode.OFFSET_OUT_OF_RANGE,
    );
    // A long poll at the log end whose client leaves before the answer: it counts when its
    // connection closes.
    const abandoned = conn
      .request(
        ApiKey.Fetch,
        12,
        fetchRequest(topic, [{ partition: 0, fetchOffset: 15 }], {
          maxWaitMs: 20_000,
          minBytes: 1,
        }),
      )
      .catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    conn.close();
    await abandoned;
    const count = 'koppa_kafka_request_duration_seconds_count';
    const after = await waitFor('the abandoned Fetch counted', async () => {
      const scraped = await scrapeBrokers();
      return grew(before, scraped, count, { api: 'Fetch' }) >= 3 ? scraped : null;
    });

    expect(grew(before, after, count, { api: 'Metadata' })).toBe(2);
    expect(grew(before, after, count, { api: 'Produce' })).toBe(4);
    expect(grew(before, after, count, { api: 'Fetch' })).toBe(3);
    expect(
      grew(before, after, 'koppa_kafka_request_duration_seconds_sum', { api: 'Produce' }),
    ).toBeGreaterThan(0);

    const errors = 'koppa_kafka_request_errors_total';
    expect(
      grew(before, after, errors, { api: 'Produce', error: 'UNKNOWN_TOPIC_OR_PARTITION' }),
    ).toBe(1);
    expect(grew(before, after, errors, { api: 'Fetch', error: 'OFFSET_OUT_OF_RANGE' })).toBe(1);
    // Nothing else erred: the successful requests added no error series.
    expect(grew(before, after, errors)).toBe(2);

    // A histogram Prometheus can take quantiles of: the contract's buckets, cumulative, +Inf = count.
    const leader = after.find((samples) =>
      samples.some((s) => s.name === count && s.labels.api === 'Produce' && s.value > 0),
    )!;
    const buckets = leader.filter(
      (s) => s.name === 'koppa_kafka_request_duration_seconds_bucket' && s.labels.api === 'Produce',
    );
    expect(buckets.map((b) => b.labels.le)).toEqual(CONTRACT_BUCKETS);
    const values = buckets.map((b) => b.value);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(values.at(-1)).toBe(total([leader], count, { api: 'Produce' }));
  });

  it('counts connections opened and closed, and those open now; a malformed frame closes one', async () => {
    const gauge = async () => total(await scrapeBrokers(), 'koppa_kafka_connections');
    const before = await scrapeBrokers();
    const openBefore = total(before, 'koppa_kafka_connections');

    const polite = await RawConnection.open(broker.port);
    const rude = await RawConnection.open(broker.port);
    await waitFor('two more connections open', async () => (await gauge()) === openBefore + 2);

    polite.close();
    await waitFor('one closed', async () => (await gauge()) === openBefore + 1);

    // A size prefix of 2 GiB: the broker closes the connection.
    const huge = Buffer.alloc(8);
    huge.writeUInt32BE(0x7fffffff, 0);
    rude.write(huge);
    expect(await rude.waitClosed()).toBe(true);
    await waitFor('both closed', async () => (await gauge()) === openBefore);

    const after = await scrapeBrokers();
    expect(grew(before, after, 'koppa_kafka_connections_opened_total')).toBe(2);
    expect(grew(before, after, 'koppa_kafka_connections_closed_total')).toBe(2);
  });

  it("counts what kafkajs produced in the store and the partition's log, and what it fetched", async () => {
    const topic = 'broker-metrics-kafkajs';
    const batches = 4;
    const perBatch = 25;
    const messages = batches * perBatch;
    const kafka = new Kafka({
      brokers: broker.bootstrap.split(','),
      clientId: 'broker-metrics-test',
      logLevel: logLevel.NOTHING,
    });
    const connections = async () => total(await scrapeBrokers(), 'koppa_kafka_connections');
    const openBefore = await connections();
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    await admin.disconnect();
    await waitFor(
      'the admin client’s connections closed',
      async () => (await connections()) === openBefore,
    );

    const before = await scrapeBrokers();
    const producer = kafka.producer();
    await producer.connect();
    for (let b = 0; b < batches; b++) {
      // One send is one record batch for the partition.
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: perBatch }, (_, i) => ({ value: `m${b}-${i}` })),
      });
    }
    expect(await connections()).toBeGreaterThan(openBefore);
    const read = await readPartitionWithKafkajs(broker.bootstrap, topic, 0, messages);
    expect(read).toHaveLength(messages);
    const after = await scrapeBrokers();

    // The store: exactly the batches, records and bytes produced (no consumer group here, so
    // nothing else was appended meanwhile).
    const series = { topic: fullName(topic), partition: '0' };
    const stored = await storedBytes(broker.dataDir, topic, 0);
    expect(grew(before, after, 'koppa_storage_appends_total')).toBe(batches);
    expect(grew(before, after, 'koppa_storage_appended_messages_total')).toBe(messages);
    expect(grew(before, after, 'koppa_storage_appended_bytes_total')).toBe(stored);
    expect(grew(before, after, 'koppa_storage_reads_total')).toBeGreaterThanOrEqual(1);
    expect(grew(before, after, 'koppa_storage_read_bytes_total')).toBeGreaterThanOrEqual(stored);

    // The partition's log, on its owner only.
    const owners = after.filter((samples) =>
      samples.some((s) => s.name === 'koppa_log_end_offset' && s.labels.topic === series.topic),
    );
    expect(owners).toHaveLength(1);
    expect(total(after, 'koppa_log_end_offset', series)).toBe(messages);
    expect(total(after, 'koppa_log_start_offset', series)).toBe(0);
    expect(total(after, 'koppa_log_size_bytes', series)).toBe(stored);

    // The requests kafkajs made are in the histograms.
    const count = 'koppa_kafka_request_duration_seconds_count';
    expect(grew(before, after, count, { api: 'Produce' })).toBeGreaterThanOrEqual(batches);
    expect(grew(before, after, count, { api: 'Fetch' })).toBeGreaterThanOrEqual(1);
    expect(grew(before, after, count, { api: 'Metadata' })).toBeGreaterThanOrEqual(1);

    await producer.disconnect();
    await waitFor(
      'the clients’ connections closed',
      async () => (await connections()) === openBefore,
    );
  });
});

describe('log metrics when a partition moves', () => {
  const topic = 'broker-metrics-moving';
  const partitions = 8;
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startTestCluster(1, { logFenceGraceMs: 0 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  /** Each broker's `koppa_log_end_offset` of the topic: partition → end offset. */
  async function endOffsets(): Promise<Map<number, number>[]> {
    const live = cluster.brokers.filter((b) => b !== null);
    const scraped = await scrapeEach(live.map((b) => b.httpPort!));
    return scraped.map(
      (samples) =>
        new Map(
          samples
            .filter((s) => s.name === 'koppa_log_end_offset' && s.labels.topic === fullName(topic))
            .map((s) => [Number(s.labels.partition), s.value]),
        ),
    );
  }

  it('leaves the old owner and shows on the new one', async () => {
    const first = cluster.brokers[0]!;
    const conn = await RawConnection.open(first.listeners[0].port);
    expect(await conn.createTopic(topic, partitions)).toBe(0);
    // Partition i gets i + 1 records, so each one's end offset says which it is.
    for (let i = 0; i < partitions; i++) {
      await waitFor(`partition ${i} takes a produce`, async () => {
        const { body } = await conn.request(ApiKey.Produce, 9, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [
            {
              name: topic,
              partitionData: [{ index: i, records: buildBatch({ recordCount: i + 1 }) }],
            },
          ],
        });
        return body.responses[0].partitionResponses[0].errorCode === ErrorCode.NONE;
      });
    }
    conn.close();
    const expected = new Map(Array.from({ length: partitions }, (_, i) => [i, i + 1]));
    expect((await endOffsets())[0]).toEqual(expected);

    // A second broker joins: some partitions move to it.
    await cluster.addBroker();
    const [old, joined] = await waitFor('partitions on both brokers, each on one', async () => {
      const [a, b] = await endOffsets();
      const moved = b !== undefined && b.size > 0 && a.size + b.size === partitions;
      return moved && [...b.keys()].every((p) => !a.has(p)) ? [a, b] : null;
    });
    expect(new Map([...old, ...joined])).toEqual(expected);
    // The partitions read by Fetch on the new owner are those it exports.
    const moved = [...joined.keys()];
    const reader = await RawConnection.open(cluster.brokers[1]!.listeners[0].port);
    const { body } = await reader.request(
      ApiKey.Fetch,
      12,
      fetchRequest(
        topic,
        moved.map((partition) => ({ partition, fetchOffset: 0 })),
      ),
    );
    reader.close();
    expect(body.responses[0].partitions.map((p) => p.errorCode)).toEqual(
      moved.map(() => ErrorCode.NONE),
    );
  });
});
