/**
 * kill -9 of the broker while producers wait for acks=all: after a restart every acknowledged
 * message reads back, in order, and new writes are accepted after them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerProcess, freePort } from '../helpers/broker-process.js';
import { readPartitionWithKafkajs } from '../helpers/kafkajs-reader.js';

describe('broker killed with SIGKILL during acks=all produce', () => {
  let dir: string;
  let port: number;
  let broker: BrokerProcess;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'koppa-kill-'));
    port = await freePort();
  });
  afterAll(async () => {
    await broker?.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  const args = () => [
    'standalone',
    '--brokers',
    '1',
    '--http-port',
    '0',
    '--data-dir',
    dir,
    '--kafka-listeners',
    `PLAINTEXT://127.0.0.1:${port}`,
  ];

  it('keeps every acknowledged message and accepts new writes after restart', async () => {
    broker = new BrokerProcess(args());
    await broker.start();
    const kafka = new Kafka({
      brokers: [`127.0.0.1:${port}`],
      clientId: 'kill-test',
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'durable', numPartitions: 1 }] });
    await admin.disconnect();

    const producer = kafka.producer();
    await producer.connect();
    const acked: string[] = [];
    // Sends go on until the kill cuts them off; only answered sends count as acknowledged.
    const sending = (async () => {
      for (let i = 0; i < 1_000_000; i++) {
        const batch = Array.from({ length: 20 }, (_, j) => ({ value: `v-${i}-${j}` }));
        try {
          await producer.send({ topic: 'durable', acks: -1, messages: batch });
        } catch {
          return;
        }
        acked.push(...batch.map((m) => m.value));
      }
    })();
    while (acked.length < 5000) await new Promise((r) => setTimeout(r, 10));
    await broker.stop('SIGKILL');
    await sending;
    await producer.disconnect().catch(() => undefined);
    expect(acked.length).toBeGreaterThanOrEqual(5000);

    broker = new BrokerProcess(args());
    await broker.start();
    const read = await readPartitionWithKafkajs(`127.0.0.1:${port}`, 'durable', 0, acked.length);
    expect(read.slice(0, acked.length).map((m) => m.value)).toEqual(acked);
    expect(read.map((m) => m.offset)).toEqual(read.map((_, i) => i));

    const after = kafka.producer();
    await after.connect();
    const [meta] = await after.send({
      topic: 'durable',
      acks: -1,
      messages: [{ value: 'after-restart' }],
    });
    await after.disconnect();
    const end = await readPartitionWithKafkajs(
      `127.0.0.1:${port}`,
      'durable',
      0,
      Number(meta.baseOffset) + 1,
    );
    expect(Number(meta.baseOffset)).toBeGreaterThanOrEqual(acked.length);
    expect(end.at(-1)).toMatchObject({ offset: Number(meta.baseOffset), value: 'after-restart' });
  }, 120_000);
});

describe('broker stopped with SIGTERM', () => {
  it('finishes in-flight work, exits 0, and serves the same data after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'koppa-term-'));
    const port = await freePort();
    const args = [
      'standalone',
      '--brokers',
      '1',
      '--http-port',
      '0',
      '--data-dir',
      dir,
      '--kafka-listeners',
      `PLAINTEXT://127.0.0.1:${port}`,
    ];
    let broker = new BrokerProcess(args);
    try {
      await broker.start();
      const kafka = new Kafka({
        brokers: [`127.0.0.1:${port}`],
        clientId: 'term-test',
        logLevel: logLevel.NOTHING,
      });
      const producer = kafka.producer({ allowAutoTopicCreation: true });
      await producer.connect();
      await producer.send({
        topic: 'graceful',
        acks: -1,
        messages: [{ value: 'one' }, { value: 'two' }],
      });
      await producer.disconnect();
      expect(await broker.stop('SIGTERM')).toBe(0);
      expect(broker.output).toContain('broker stopped');

      broker = new BrokerProcess(args);
      await broker.start();
      const read = await readPartitionWithKafkajs(`127.0.0.1:${port}`, 'graceful', 0, 2);
      expect(read.map((m) => m.value)).toEqual(['one', 'two']);
    } finally {
      await broker.stop('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
