/**
 * A broker listens before it joins the cluster; one restarted while its old registration is
 * still there waits that out, listening. A client that asks meanwhile is answered once the
 * broker has joined, as by a Kafka broker still starting, never with an empty cluster.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiKey, ErrorCode } from '../../plugins/kafka/protocol/index.js';
import { BrokerService } from '../../src/host/broker-service.js';
import type { MemoryMetadataTree } from '../../src/metadata/index.js';
import { freePort } from '../helpers/broker-process.js';
import { decodeResponseFrame, encodeRequestFrame, RawConnection } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait.js';

describe('requests before the broker joined', () => {
  const services: BrokerService[] = [];
  let dataDir: string;

  afterAll(async () => {
    for (const s of services) await s.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('are held until it joins, then answered with the cluster as it is', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'koppa-early-'));
    const trees = new Map<string, MemoryMetadataTree>();
    const start = (port: number) =>
      BrokerService.start(
        {
          brokerId: 5,
          dataDir,
          metadataStoreUrl: 'memory:',
          kafkaListeners: `PLAINTEXT://127.0.0.1:${port}`,
          webServicePort: 0,
          logFenceGraceMs: 0,
          offsetsTopicNumPartitions: 2,
        },
        { metadataTrees: trees, logger: pino({ level: 'silent' }) },
      );
    const old = await start(0);
    services.push(old);
    const conn = await RawConnection.open(old.listeners[0].port);
    await conn.createTopic('early', 2);
    conn.close();

    // The same broker id again: it listens, then waits for the old registration to go.
    const port = await freePort();
    const restarting = start(port);
    const early = await waitFor('the new listener', () =>
      RawConnection.open(port).catch(() => null),
    );
    early.write(
      encodeRequestFrame(ApiKey.Metadata, 12, 1, {
        topics: null,
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      }),
    );
    await expect(early.readFrame(1000)).rejects.toThrow(/timed out|no response/i);

    await old.stop();
    services.splice(0, 1);
    services.push(await restarting);
    const frame = await early.readFrame(10_000);
    const { body } = decodeResponseFrame(ApiKey.Metadata, 12, frame!);
    expect(body.brokers).toEqual([{ nodeId: 5, host: '127.0.0.1', port, rack: null }]);
    const topic = body.topics.find((t) => t.name === 'early')!;
    expect(topic.partitions).toHaveLength(2);
    for (const p of topic.partitions) {
      expect(p.errorCode === ErrorCode.NONE || p.errorCode === ErrorCode.LEADER_NOT_AVAILABLE).toBe(
        true,
      );
    }
    early.close();
  });
});
