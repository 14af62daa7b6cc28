/**
 * A broker listens before it joins the cluster; one restarted while its old registration is
 * still there waits that out, listening. Clients that ask meanwhile must learn of this broker
 * and be told that no partition has a leader yet (retriable), not get an empty broker list.
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
import { RawConnection } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait.js';

describe('Metadata before the broker joined', () => {
  const services: BrokerService[] = [];
  let dataDir: string;

  afterAll(async () => {
    for (const s of services) await s.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('names the broker itself and LEADER_NOT_AVAILABLE until it joins', async () => {
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
    await conn.request(ApiKey.CreateTopics, 7, {
      topics: [
        { name: 'early', numPartitions: 2, replicationFactor: -1, assignments: [], configs: [] },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    conn.close();

    // The same broker id again: it listens, then waits for the old registration to go.
    const port = await freePort();
    const restarting = start(port);
    const early = await waitFor('the new listener', () =>
      RawConnection.open(port).catch(() => null),
    );
    const { body } = await early.request(ApiKey.Metadata, 12, {
      topics: null,
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(body.brokers).toEqual([{ nodeId: 5, host: '127.0.0.1', port, rack: null }]);
    expect(body.controllerId).toBe(5);
    const topic = body.topics.find((t) => t.name === 'early')!;
    expect(topic.partitions).toHaveLength(2);
    for (const p of topic.partitions) {
      expect(p).toMatchObject({ errorCode: ErrorCode.LEADER_NOT_AVAILABLE, leaderId: -1 });
    }
    early.close();

    await old.stop();
    services.splice(0, 1);
    services.push(await restarting);
  });
});
