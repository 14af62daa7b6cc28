/**
 * @platformatic/kafka speaks only flexible versions (Produce 9+, Fetch 12-17, Metadata 12, ...):
 * it produces with keys, headers and timestamps and reads every message back by topic id.
 */
import { Admin, Consumer, Producer, stringSerializers } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

describe('@platformatic/kafka against one broker', () => {
  let broker: TestBroker;

  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterAll(async () => {
    await broker.stop();
  });

  it('produces and reads back every message with keys, headers and timestamps', async () => {
    const topic = 'platformatic-roundtrip';
    const base = {
      clientId: 'koppa-platformatic-test',
      bootstrapBrokers: broker.bootstrap.split(','),
      retries: 2,
    };
    const admin = new Admin(base);
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
    await admin.close();

    const producer = new Producer({ ...base, serializers: stringSerializers, acks: -1 });
    const sent = Array.from({ length: 120 }, (_, i) => ({
      topic,
      partition: 0,
      key: `pk-${i}`,
      value: `pv-${i}`,
      timestamp: BigInt(1_690_000_000_000 + i),
      headers: new Map([['seq', String(i)]]),
    }));
    for (let i = 0; i < sent.length; i += 40) {
      const result = await producer.send({ messages: sent.slice(i, i + 40) });
      expect(result.offsets?.[0]).toMatchObject({ topic, partition: 0, offset: BigInt(i) });
    }
    await producer.close();

    const consumer = new Consumer({ ...base, groupId: 'unused-no-join' });
    const metadata = await consumer.metadata({ topics: [topic] });
    const { id: topicId, partitions } = metadata.topics.get(topic)!;
    const read: { offset: bigint; key: string; value: string; timestamp: bigint; seq: string }[] =
      [];
    for (let attempt = 0; read.length < sent.length && attempt < 50; attempt++) {
      const response = await consumer.fetch({
        node: partitions[0].leader,
        maxWaitTime: 200,
        topics: [
          {
            topicId,
            partitions: [
              {
                partition: 0,
                currentLeaderEpoch: -1,
                fetchOffset: BigInt(read.length),
                lastFetchedEpoch: -1,
                partitionMaxBytes: 1 << 20,
              },
            ],
          },
        ],
      });
      const partition = response.responses[0].partitions[0];
      expect(partition.errorCode).toBe(0);
      for (const batch of partition.records ?? []) {
        for (const record of batch.records) {
          const offset = batch.firstOffset + BigInt(record.offsetDelta);
          if (offset < BigInt(read.length)) continue;
          read.push({
            offset,
            key: record.key!.toString(),
            value: record.value!.toString(),
            timestamp: batch.firstTimestamp + record.timestampDelta,
            seq: record.headers.find(([k]) => k?.toString() === 'seq')![1]!.toString(),
          });
        }
      }
    }
    await consumer.close();
    expect(read).toEqual(
      sent.map((m, i) => ({
        offset: BigInt(i),
        key: m.key,
        value: m.value,
        timestamp: m.timestamp,
        seq: String(i),
      })),
    );
  });
});
