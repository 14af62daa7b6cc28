import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { readPartitionWithKafkajs } from '../helpers/kafkajs-reader.js';

describe('kafkajs against one broker', () => {
  let broker: TestBroker;
  let kafka: Kafka;

  beforeAll(async () => {
    broker = await startTestBroker();
    kafka = new Kafka({
      brokers: broker.bootstrap.split(','),
      clientId: 'koppa-kafkajs-test',
      logLevel: logLevel.NOTHING,
    });
  });
  afterAll(async () => {
    await broker.stop();
  });

  it('creates topics, and refuses to create one twice', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic: 'kjs-admin', numPartitions: 3 }] })).toBe(
        true,
      );
      expect(await admin.createTopics({ topics: [{ topic: 'kjs-admin', numPartitions: 3 }] })).toBe(
        false,
      );
      const metadata = await admin.fetchTopicMetadata({ topics: ['kjs-admin'] });
      expect(metadata.topics[0].partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2]);
      await admin.createPartitions({ topicPartitions: [{ topic: 'kjs-admin', count: 5 }] });
      const grown = await admin.fetchTopicMetadata({ topics: ['kjs-admin'] });
      expect(grown.topics[0].partitions).toHaveLength(5);
      await admin.deleteTopics({ topics: ['kjs-admin'] });
      expect(await admin.listTopics()).not.toContain('kjs-admin');
    } finally {
      await admin.disconnect();
    }
  });

  for (const [label, compression] of [
    ['uncompressed', CompressionTypes.None],
    ['gzip', CompressionTypes.GZIP],
  ] as const) {
    it(`produces ${label} batches and reads back every message with keys, headers and timestamps`, async () => {
      const topic = `kjs-roundtrip-${label}`;
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      await admin.disconnect();

      const producer = kafka.producer();
      await producer.connect();
      const base = Date.now() - 60_000;
      const sent = Array.from({ length: 250 }, (_, i) => ({
        key: i % 7 === 0 ? null : `key-${i}`,
        value: `value-${i}-${'x'.repeat(i % 50)}`,
        timestamp: String(base + i),
        headers: { seq: String(i), origin: 'kafkajs' },
      }));
      const offsets: string[] = [];
      for (let i = 0; i < sent.length; i += 50) {
        const result = await producer.send({
          topic,
          acks: -1,
          compression,
          messages: sent.slice(i, i + 50),
        });
        offsets.push(result[0].baseOffset ?? '');
      }
      await producer.disconnect();
      expect(offsets).toEqual(['0', '50', '100', '150', '200']);

      const read = await readPartitionWithKafkajs(broker.bootstrap, topic, 0, sent.length);
      expect(read.map((m) => m.offset)).toEqual(sent.map((_, i) => i));
      expect(
        read.map((m) => ({
          key: m.key,
          value: m.value,
          timestamp: String(m.timestamp),
          headers: m.headers,
        })),
      ).toEqual(
        sent.map((m) => ({
          key: m.key,
          value: m.value,
          timestamp: m.timestamp,
          headers: m.headers,
        })),
      );
    });
  }

  it('answers offsets by time, earliest and latest', async () => {
    const topic = 'kjs-offsets';
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'a', timestamp: '1000' }] });
    await producer.send({ topic, messages: [{ value: 'b', timestamp: '2000' }] });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.fetchTopicOffsets(topic)).toEqual([
        { partition: 0, offset: '2', high: '2', low: '0' },
      ]);
      expect(await admin.fetchTopicOffsetsByTimestamp(topic, 1500)).toEqual([
        { partition: 0, offset: '1' },
      ]);
      expect(await admin.fetchTopicOffsetsByTimestamp(topic, 5000)).toEqual([
        { partition: 0, offset: '2' },
      ]);
    } finally {
      await admin.disconnect();
    }
  });
});
