/**
 * `/metrics` on a broker's HTTP port, with real clients: a kafkajs producer, a reader without a
 * group (as assign() consumers read) and a kafkajs consumer group. KoP's counters must match
 * what was produced and fetched; the group-less reader's series has no group label at all.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicDirName } from '../../src/storage/topic-dirs.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { readPartitionWithKafkajs } from '../helpers/kafkajs-reader.js';
import { waitFor } from '../helpers/wait.js';

const TOPIC = 'metrics-orders';
const FULL_NAME = `persistent://public/default/${TOPIC}`;
const SERIES = `topic="${FULL_NAME}",partition="0",tenant="public"`;
const BATCHES = 4;
const PER_BATCH = 25;
const MESSAGES = BATCHES * PER_BATCH;

interface Scrape {
  contentType: string | null;
  lines: string[];
}

/** Every broker's `/metrics` (one broker here; all of them if the tests run on several). */
async function scrape(broker: TestBroker): Promise<Scrape> {
  const lines: string[] = [];
  let contentType: string | null = null;
  for (const service of broker.services) {
    const response = await fetch(`http://127.0.0.1:${service.httpPort}/metrics`);
    expect(response.status).toBe(200);
    contentType = response.headers.get('content-type');
    lines.push(...(await response.text()).split('\n'));
  }
  return { contentType, lines };
}

/**
 * The sum of the samples of `name` with exactly `labels` ('' for a metric without labels), or
 * with `labels` left out, of every series of the test's topic.
 */
function value(scraped: Scrape, name: string, labels?: string): number {
  const exactly = labels === '' ? `${name} ` : `${name}{${labels}} `;
  return scraped.lines
    .filter((line) =>
      labels === undefined
        ? line.startsWith(`${name}{`) && line.includes(`topic="${FULL_NAME}"`)
        : line.startsWith(exactly),
    )
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** The record-batch bytes the broker stored for the partition: its segment files. */
async function storedBytes(dataDir: string): Promise<number> {
  const dir = join(dataDir, topicDirName(FULL_NAME), '0');
  const logs = (await readdir(dir)).filter((name) => name.endsWith('.log'));
  const sizes = await Promise.all(logs.map(async (name) => (await stat(join(dir, name))).size));
  return sizes.reduce((a, b) => a + b, 0);
}

describe('metrics on the HTTP port', () => {
  let broker: TestBroker;
  let kafka: Kafka;

  beforeAll(async () => {
    broker = await startTestBroker({ groupInitialRebalanceDelayMs: 0 });
    kafka = new Kafka({
      brokers: broker.bootstrap.split(','),
      clientId: 'metrics-test',
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    // One send is one batch for the partition.
    for (let b = 0; b < BATCHES; b++) {
      await producer.send({
        topic: TOPIC,
        messages: Array.from({ length: PER_BATCH }, (_, i) => ({ value: `b${b}-m${i}` })),
      });
    }
    await producer.disconnect();
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('serves the Prometheus text format and keeps /healthz', async () => {
    const { contentType } = await scrape(broker);
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const health = await fetch(`http://127.0.0.1:${broker.service.httpPort}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
  });

  it('counts produced messages and the batch bytes stored, under the full topic name', async () => {
    const scraped = await scrape(broker);
    expect(value(scraped, 'kop_server_MESSAGE_IN', SERIES)).toBe(MESSAGES);
    expect(value(scraped, 'kop_server_BYTES_IN', SERIES)).toBe(await storedBytes(broker.dataDir));
    // Node's process metrics are served too, prefixed.
    expect(scraped.lines.some((l) => l.startsWith('koppa_process_cpu_seconds_total '))).toBe(true);
  });

  it('counts what a reader without a group fetched, in a series without a group label', async () => {
    const read = await readPartitionWithKafkajs(broker.bootstrap, TOPIC, 0, MESSAGES);
    expect(read).toHaveLength(MESSAGES);
    // The mapping awaits a client without a node a few seconds (its FindCoordinator write may be
    // on its way) before its fetches count without a group.
    const scraped = await waitFor(
      'the reader without a group to be counted',
      async () => {
        const s = await scrape(broker);
        return value(s, 'koppa_fetch_messages_awaiting_group', '') === 0 ? s : undefined;
      },
      20_000,
      200,
    );
    expect(value(scraped, 'kop_server_MESSAGE_OUT', SERIES)).toBe(MESSAGES);
    expect(value(scraped, 'kop_server_ENTRIES_OUT', SERIES)).toBe(BATCHES);
    expect(value(scraped, 'kop_server_BYTES_OUT', SERIES)).toBe(await storedBytes(broker.dataDir));
    expect(scraped.lines.filter((l) => l.includes('group='))).toEqual([]);
  });

  it('counts what a consumer group fetched', async () => {
    const consumer = kafka.consumer({ groupId: 'metrics-group' });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    let consumed = 0;
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async () => {
            if (++consumed === MESSAGES) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    const scraped = await scrape(broker);
    // Both readers' fetches, whatever their labels: with NO_GROUPS the group's fetches count
    // without a group; with the group-id mapping under group="metrics-group", or still waiting
    // for the mapping's answer if it has not come yet.
    const awaiting = value(scraped, 'koppa_fetch_messages_awaiting_group', '');
    expect(value(scraped, 'kop_server_MESSAGE_OUT') + awaiting).toBe(2 * MESSAGES);
    expect(scraped.lines).toContain('koppa_fetch_unattributed_messages_total 0');
  });
});
