/**
 * Reads a partition from the start with kafkajs's own fetch path and record decoder, without a
 * consumer group (kafkajs's public consumer always joins one).
 */
import { Kafka, logLevel } from 'kafkajs';

export interface ReadMessage {
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
  headers: Record<string, string>;
}

interface KafkajsBroker {
  fetch(request: unknown): Promise<{
    responses: {
      partitions: {
        partition: number;
        errorCode: number;
        highWatermark: string;
        messages: RawMessage[];
      }[];
    }[];
  }>;
}
interface RawMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  headers: Record<string, Buffer | Buffer[] | undefined>;
}
interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(node: { nodeId: string }): Promise<KafkajsBroker>;
}

export async function readPartitionWithKafkajs(
  bootstrap: string,
  topic: string,
  partition: number,
  expectedCount: number,
  timeoutMs = 20_000,
): Promise<ReadMessage[]> {
  const kafka = new Kafka({
    brokers: bootstrap.split(','),
    clientId: 'koppa-test-reader',
    logLevel: logLevel.NOTHING,
  });
  const createCluster = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  if (!createCluster) throw new Error('kafkajs internals changed: no createCluster');
  const cluster = (kafka as unknown as Record<symbol, (o: object) => KafkajsCluster>)[
    createCluster
  ]({});
  await cluster.connect();
  try {
    await cluster.addTargetTopic(topic);
    const leaders = cluster.findLeaderForPartitions(topic, [partition]);
    const broker = await cluster.findBroker({ nodeId: Object.keys(leaders)[0] });
    const out: ReadMessage[] = [];
    let offset = 0;
    const deadline = Date.now() + timeoutMs;
    while (out.length < expectedCount && Date.now() < deadline) {
      const response = await broker.fetch({
        maxWaitTime: 200,
        minBytes: 1,
        topics: [
          {
            topic,
            partitions: [{ partition, fetchOffset: String(offset), maxBytes: 1024 * 1024 }],
          },
        ],
      });
      const p = response.responses[0].partitions[0];
      if (p.errorCode !== 0) throw new Error(`fetch error ${p.errorCode}`);
      for (const m of p.messages) {
        if (Number(m.offset) < offset) continue; // kafkajs returns whole batches
        out.push({
          offset: Number(m.offset),
          key: m.key ? m.key.toString() : null,
          value: m.value ? m.value.toString() : null,
          timestamp: Number(m.timestamp),
          headers: Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, String(v)])),
        });
        offset = Number(m.offset) + 1;
      }
    }
    return out;
  } finally {
    await cluster.disconnect();
  }
}
