/**
 * `/readyz`: 503 with readable reasons while a broker cannot serve what it owns (it has not joined
 * its cluster yet, its partitions taken over from a crashed broker are still opening, its
 * ZooKeeper session is disconnected, it is shutting down), 200 {status: ready} when it can.
 * `/healthz` answers 200 throughout: the process is alive.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { RawConfig } from '../../src/config/sources.js';
import { BrokerService } from '../../src/host/broker-service.js';
import type { MemoryMetadataTree } from '../../src/metadata/index.js';
import { freePorts } from '../helpers/broker.js';
import { waitFor } from '../helpers/wait.js';
import { startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

interface Readiness {
  status: number;
  body: { status: string; reasons?: string[] };
}

async function readyz(port: number): Promise<Readiness> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: response.status, body: (await response.json()) as Readiness['body'] };
}

async function healthz(port: number): Promise<number> {
  return (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
}

/** Polls `/readyz` until it answers `status`; returns that answer. */
function readyzUntil(port: number, status: number, what: string, timeoutMs = 30_000) {
  return waitFor(
    what,
    async () => {
      const answer = await readyz(port).catch(() => null);
      return answer?.status === status ? answer : null;
    },
    timeoutMs,
    20,
  );
}

const logger = pino({ level: process.env.KOPPA_TEST_LOG_LEVEL ?? 'silent' });

describe('/readyz', () => {
  const brokers: Promise<BrokerService>[] = [];
  let dataDir: string | undefined;
  const trees = new Map<string, MemoryMetadataTree>();

  afterEach(async () => {
    for (const broker of brokers.splice(0)) await (await broker.catch(() => null))?.stop();
    trees.clear();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    dataDir = undefined;
  });

  /** A broker of an in-memory cluster sharing this test's tree and data directory. */
  const start = async (config: RawConfig) => {
    dataDir ??= await mkdtemp(join(tmpdir(), 'koppa-readyz-'));
    const broker = BrokerService.start(
      {
        dataDir,
        metadataStoreUrl: 'memory:',
        kafkaListeners: 'PLAINTEXT://127.0.0.1:0',
        webServicePort: 0,
        offsetsTopicNumPartitions: 4,
        ...config,
      },
      { metadataTrees: trees, logger },
    );
    brokers.push(broker);
    return broker;
  };

  it('is 503 until the broker has joined its cluster, then 200', async () => {
    const first = await start({ brokerId: 0 });
    expect(await readyzUntil(first.httpPort!, 200, 'the first broker to be ready')).toEqual({
      status: 200,
      body: { status: 'ready' },
    });
    // A second broker with the same id waits for the first one's registration to go: it
    // listens already, but has not joined.
    const httpPort = await freePorts(1);
    const second = start({ brokerId: 0, webServicePort: httpPort });
    expect(await readyzUntil(httpPort, 503, 'the second broker to listen')).toEqual({
      status: 503,
      body: { status: 'not ready', reasons: ['the broker has not joined its cluster yet'] },
    });
    expect(await healthz(httpPort)).toBe(200);
    await first.stop();
    await second;
    expect(await readyzUntil(httpPort, 200, 'the second broker to be ready')).toEqual({
      status: 200,
      body: { status: 'ready' },
    });
  });

  it('is 503 while partitions taken over from a crashed broker are still opening', async () => {
    // Each log claimed from a broker that did not release it waits out the fence grace.
    const settings = { logFenceGraceMs: 3000, groupInitialRebalanceDelayMs: 0 };
    const crashing = await start({ brokerId: 0, ...settings });
    const kafka = new Kafka({
      brokers: [`127.0.0.1:${crashing.listeners[0].port}`],
      clientId: 'readyz-test',
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'readyz-orders', numPartitions: 2 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'readyz-orders', messages: [{ value: 'one' }] });
    await producer.disconnect();
    const taking = await start({ brokerId: 1, ...settings });
    await readyzUntil(taking.httpPort!, 200, 'the second broker to be ready');

    // Broker 0's metadata session ends as if its process died: broker 1 takes everything over.
    await crashing.metadataStore.close();
    const opening = await readyzUntil(taking.httpPort!, 503, 'broker 1 to take the partitions');
    expect(opening.body.status).toBe('not ready');
    expect(
      opening.body.reasons!.some((r) => r.startsWith('kafka: owned partitions still opening: ')),
    ).toBe(true);
    expect(
      opening.body.reasons!.some((r) =>
        r.includes('persistent://public/default/readyz-orders-0'),
      ) || opening.body.reasons!.some((r) => / and \d+ more$/.test(r)),
    ).toBe(true);
    expect(await healthz(taking.httpPort!)).toBe(200);
    expect(await readyzUntil(taking.httpPort!, 200, 'broker 1 to open what it took')).toEqual({
      status: 200,
      body: { status: 'ready' },
    });
  });

  it('is 503 once shutdown begins', async () => {
    const broker = await start({ brokerId: 0 });
    await readyzUntil(broker.httpPort!, 200, 'the broker to be ready');
    const stopping = broker.stop();
    const answer = await readyz(broker.httpPort!);
    await stopping;
    expect(answer).toEqual({
      status: 503,
      body: { status: 'not ready', reasons: ['the broker is shutting down'] },
    });
  });
});

describe('/readyz on ZooKeeper', () => {
  let zk: ZooKeeperServer | undefined;
  let broker: BrokerService | undefined;
  let dataDir: string | undefined;

  afterEach(async () => {
    zk?.resume();
    await broker?.stop();
    await zk?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('is 503 while the ZooKeeper session is disconnected, and 200 again once it is back', async () => {
    zk = await startZooKeeper();
    dataDir = await mkdtemp(join(tmpdir(), 'koppa-readyz-zk-'));
    broker = await BrokerService.start(
      {
        brokerId: 0,
        dataDir,
        metadataStoreUrl: `zk:${zk.connectString}/readyz`,
        kafkaListeners: 'PLAINTEXT://127.0.0.1:0',
        webServicePort: 0,
        offsetsTopicNumPartitions: 4,
        zooKeeperSessionTimeoutMillis: 6000,
        logFenceGraceMs: 0,
      },
      { logger },
    );
    const port = broker.httpPort!;
    await readyzUntil(port, 200, 'the broker to be ready');
    zk.pause();
    try {
      expect(await readyzUntil(port, 503, 'the session to be disconnected', 20_000)).toEqual({
        status: 503,
        body: { status: 'not ready', reasons: ['the metadata store session is disconnected'] },
      });
      expect(await healthz(port)).toBe(200);
    } finally {
      zk.resume();
    }
    // Whether or not the session outlived the pause, the broker serves what it owns again.
    expect(await readyzUntil(port, 200, 'the broker to be ready again', 60_000)).toEqual({
      status: 200,
      body: { status: 'ready' },
    });
  });
});
