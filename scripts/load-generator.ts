/**
 * Load for the docker-compose stack, forever: producers on a few topics and consumer groups
 * reading them, so that the Grafana dashboards and the alerts have something to show.
 *
 * - `orders` (6 partitions), `payments` (3) and `audit-log` (3) get about 50, 20 and 10
 *   messages a second (times LOADGEN_RATE), keyed, JSON values of a few hundred bytes.
 * - `order-service` (two members) reads `orders`; `billing` reads `payments`; `analytics` reads
 *   both topics, a little slowly, so it shows some lag.
 * - `audit-archiver` is stuck on purpose: its member commits once per partition, then pauses
 *   every partition it is given and stays in the group (kafkajs keeps heartbeating while
 *   paused), so its committed offsets stay flat while `audit-log` grows: what the
 *   KoppaConsumerGroupStuck and KoppaConsumerGroupLagHigh alerts are for.
 *
 * Every member has a client id of its own (`loadgen-<group>-<n>`), so each client's group-id
 * mapping names one group. Only kafkajs and Node are imported: the image's `loadgen` target
 * holds nothing else.
 *
 *   KAFKA_BOOTSTRAP=127.0.0.1:9092,127.0.0.1:9093 npm run loadgen
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, Partitioners, type Consumer, type Producer } from 'kafkajs';

interface TopicLoad {
  topic: string;
  partitions: number;
  /** Messages per second before LOADGEN_RATE. */
  perSecond: number;
}

interface GroupLoad {
  group: string;
  topics: string[];
  members: number;
  /** Pause after each fetched batch, so that the group trails its topics a little. */
  batchDelayMs?: number;
  /** Commits once per partition, then pauses it for good. */
  stuck?: boolean;
}

const TOPICS: TopicLoad[] = [
  { topic: 'orders', partitions: 6, perSecond: 50 },
  { topic: 'payments', partitions: 3, perSecond: 20 },
  { topic: 'audit-log', partitions: 3, perSecond: 10 },
];

const GROUPS: GroupLoad[] = [
  { group: 'order-service', topics: ['orders'], members: 2 },
  { group: 'billing', topics: ['payments'], members: 1 },
  { group: 'analytics', topics: ['orders', 'payments'], members: 1, batchDelayMs: 200 },
  { group: 'audit-archiver', topics: ['audit-log'], members: 1, stuck: true },
];

/** Producer ticks per second. */
const TICKS_PER_SECOND = 10;
const REPORT_EVERY_MS = 30_000;

const bootstrap = (process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092').split(',');
const rate = Number(process.env.LOADGEN_RATE ?? '1');
if (!(rate > 0)) throw new Error(`LOADGEN_RATE must be a positive number, not ${rate}`);

function client(clientId: string, level = logLevel.ERROR): Kafka {
  return new Kafka({
    brokers: bootstrap,
    clientId,
    logLevel: level,
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
  });
}

function log(event: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), event, ...fields }));
}

let running = true;
const produced = new Map<string, number>();
const consumed = new Map<string, number>();
const add = (counts: Map<string, number>, key: string, n: number) =>
  counts.set(key, (counts.get(key) ?? 0) + n);

/** Creates the topics, retrying until the brokers answer (they may still be starting). */
async function createTopics(): Promise<void> {
  for (let attempt = 1; running; attempt++) {
    // Quiet: refused connections are expected while the brokers start; one line per attempt.
    const admin = client('loadgen-admin', logLevel.NOTHING).admin();
    try {
      await admin.connect();
      await admin.createTopics({
        topics: TOPICS.map(({ topic, partitions }) => ({ topic, numPartitions: partitions })),
        waitForLeaders: true,
      });
      return;
    } catch (err) {
      log('waiting for the brokers', { attempt, error: (err as Error).message });
      await sleep(Math.min(1000 * attempt, 10_000));
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}

function value(topic: string, seq: number): string {
  return JSON.stringify({
    topic,
    seq,
    at: new Date().toISOString(),
    customer: `customer-${Math.floor(Math.random() * 1000)}`,
    amount: Math.round(Math.random() * 100_000) / 100,
    note: 'x'.repeat(64 + Math.floor(Math.random() * 192)),
  });
}

/** Sends every topic's share of messages ten times a second, one batch request per tick. */
async function produce(producer: Producer): Promise<void> {
  let seq = 0;
  // Fractions of a message carried over between ticks, per topic.
  const owed = new Map<string, number>();
  while (running) {
    const started = Date.now();
    const topicMessages = TOPICS.map(({ topic, perSecond }) => {
      const due = (owed.get(topic) ?? 0) + (perSecond * rate) / TICKS_PER_SECOND;
      const count = Math.floor(due);
      owed.set(topic, due - count);
      return {
        topic,
        messages: Array.from({ length: count }, () => ({
          key: `key-${Math.floor(Math.random() * 100)}`,
          value: value(topic, seq++),
        })),
      };
    }).filter((t) => t.messages.length > 0);
    try {
      await producer.sendBatch({ topicMessages, acks: -1, timeout: 10_000 });
      for (const t of topicMessages) add(produced, t.topic, t.messages.length);
    } catch (err) {
      log('produce failed', { error: (err as Error).message });
    }
    await sleep(Math.max(0, 1000 / TICKS_PER_SECOND - (Date.now() - started)));
  }
}

async function startMember(spec: GroupLoad, n: number): Promise<Consumer> {
  const consumer = client(`loadgen-${spec.group}-${n}`).consumer({
    groupId: spec.group,
    sessionTimeout: 30_000,
    heartbeatInterval: 3000,
  });
  await consumer.connect();
  for (const topic of spec.topics) await consumer.subscribe({ topic, fromBeginning: true });
  if (spec.stuck) {
    const committed = new Set<string>();
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message, pause }) => {
        pause();
        const key = `${topic}/${partition}`;
        if (committed.has(key)) return;
        committed.add(key);
        // Committed at this message: it, and everything after it, stays unconsumed.
        await consumer.commitOffsets([{ topic, partition, offset: message.offset }]);
        log('stuck group committed once and paused', { group: spec.group, topic, partition });
      },
    });
  } else {
    await consumer.run({
      eachBatch: async ({ batch }) => {
        add(consumed, spec.group, batch.messages.length);
        if (spec.batchDelayMs) await sleep(spec.batchDelayMs);
      },
    });
  }
  return consumer;
}

async function main(): Promise<void> {
  log('starting', { bootstrap, rate });
  await createTopics();
  const producer = client('loadgen-producer').producer({
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  // All at once: each group's members join in one rebalance.
  const consumers = await Promise.all(
    GROUPS.flatMap((spec) => Array.from({ length: spec.members }, (_, n) => startMember(spec, n))),
  );
  const report = setInterval(
    () =>
      log('progress', {
        produced: Object.fromEntries(produced),
        consumed: Object.fromEntries(consumed),
      }),
    REPORT_EVERY_MS,
  );
  const stop = async (signal: string) => {
    if (!running) process.exit(1);
    running = false;
    log('stopping', { signal });
    clearInterval(report);
    await Promise.allSettled([producer.disconnect(), ...consumers.map((c) => c.disconnect())]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  log('running', { topics: TOPICS.map((t) => t.topic), groups: GROUPS.map((g) => g.group) });
  await produce(producer);
}

await main();
