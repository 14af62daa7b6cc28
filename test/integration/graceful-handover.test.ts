/**
 * Two brokers of one host over one data directory and one metadata tree. A broker stopped
 * gracefully closes its logs before its owner nodes go, so the other claims them without waiting
 * the fence grace; a broker that vanishes without closing them (its session ends, as in a crash)
 * still costs its successor the grace. Asserted on the grace each claim logged, not on time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey, ErrorCode } from '../../plugins/kafka/protocol/index.js';
import { BrokerService } from '../../src/host/broker-service.js';
import type { MemoryMetadataTree } from '../../src/metadata/index.js';
import { captureLogs } from '../helpers/log-capture.js';
import { RawConnection } from '../helpers/raw-client.js';
import { buildBatch } from '../helpers/record-batches.js';
import { waitFor } from '../helpers/wait.js';

const TOPIC = 'handover';
const FULL_NAME = `persistent://public/default/${TOPIC}`;
const PARTITIONS = 6;

interface Started {
  service: BrokerService;
  records: Record<string, unknown>[];
  conn: RawConnection;
}

describe('hand-over between two brokers sharing a data directory', () => {
  let dataDir: string;
  const running: Started[] = [];

  afterEach(async () => {
    for (const b of running.splice(0)) {
      b.conn.close();
      await b.service.stop();
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  async function startPair(logFenceGraceMs: number): Promise<[Started, Started]> {
    dataDir = await mkdtemp(join(tmpdir(), 'koppa-handover-'));
    const trees = new Map<string, MemoryMetadataTree>();
    const start = async (brokerId: number): Promise<Started> => {
      const { logger, records } = captureLogs();
      const service = await BrokerService.start(
        {
          brokerId,
          dataDir,
          metadataStoreUrl: 'memory:',
          kafkaListeners: 'PLAINTEXT://127.0.0.1:0',
          webServicePort: 0,
          logFenceGraceMs,
          offsetsTopicNumPartitions: 4,
        },
        { metadataTrees: trees, logger },
      );
      const conn = await RawConnection.open(service.listeners[0].port);
      const started = { service, records, conn };
      running.push(started);
      return started;
    };
    const first = await start(0);
    const second = await start(1);
    await first.conn.createTopic(TOPIC, PARTITIONS);
    return [first, second];
  }

  /** Produces one batch to each of `partitions` through `broker`; true when all were written. */
  const produce = async (broker: Started, partitions: number[]): Promise<boolean> => {
    const { body } = await broker.conn.request(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        {
          name: TOPIC,
          partitionData: partitions.map((index) => ({ index, records: buildBatch() })),
        },
      ],
    });
    return body.responses[0].partitionResponses.every((p) => p.errorCode === ErrorCode.NONE);
  };
  const ALL = Array.from({ length: PARTITIONS }, (_, p) => p);

  /** Partitions of the topic `broker` holds now. */
  const held = (broker: Started): number[] =>
    ALL.filter((partition) => broker.service.clusterView.ownsNow({ topic: FULL_NAME, partition }));

  /** What each claim of a log waited, from `since` on in `broker`'s log. */
  const claims = (broker: Started, since: number) =>
    broker.records
      .slice(since)
      .filter((r) => r.msg === 'claimed log ownership')
      .map((r) => ({ topic: r.topic, partition: r.partition as number, graceMs: r.graceMs }));

  /** Waits until both brokers hold some of the partitions, and each has written its own. */
  const spread = (first: Started, second: Started) =>
    waitFor('every partition held and written', async () => {
      const [a, b] = [held(first), held(second)];
      if (a.length + b.length !== PARTITIONS || a.length === 0 || b.length === 0) return null;
      return (await produce(first, a)) && (await produce(second, b)) ? a : null;
    });

  const byNumber = (x: number, y: number) => x - y;

  it('a graceful stop hands every partition over without the fence grace', async () => {
    const [first, second] = await startPair(5000);
    const moving = await spread(first, second);
    const mark = second.records.length;

    await first.service.stop();
    running.splice(running.indexOf(first), 1);
    first.conn.close();

    await waitFor('the survivor writes every partition', () => produce(second, ALL));
    const taken = claims(second, mark);
    const ofTopic = taken.filter((c) => c.topic === FULL_NAME);
    expect(ofTopic.map((c) => c.partition).sort(byNumber)).toEqual(moving);
    // Every log it took over (__consumer_offsets partitions too) was claimed without the grace.
    for (const claim of taken) expect(claim).toMatchObject({ graceMs: 0 });
  });

  it('an owner that vanishes without closing its logs still costs its successor the grace', async () => {
    const grace = 1000;
    const [first, second] = await startPair(grace);
    const lost = await spread(first, second);
    const mark = second.records.length;

    // Its metadata session ends (its owner nodes go) while its logs stay open, as in a crash.
    await first.service.metadataStore.close();

    await waitFor('the survivor writes every partition', () => produce(second, ALL));
    const taken = claims(second, mark).filter((c) => c.topic === FULL_NAME);
    expect(taken.map((c) => c.partition).sort(byNumber)).toEqual(lost);
    for (const claim of taken) expect(claim).toMatchObject({ graceMs: grace });
  });
});
