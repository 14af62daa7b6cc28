/**
 * Several brokers in this process sharing one metadata tree and one data directory, each on its
 * own free loopback ports, as the embedded standalone runs them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { RawConfig } from '../../src/config/sources.js';
import { BrokerService } from '../../src/host/broker-service.js';
import type { MemoryMetadataTree } from '../../src/metadata/index.js';

export interface TestCluster {
  brokers: (BrokerService | null)[];
  dataDir: string;
  bootstrap: string;
  /** Starts one more broker into the same cluster. */
  addBroker(): Promise<BrokerService>;
  /** Stops one broker gracefully; it stays null in `brokers`. */
  stopBroker(id: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestCluster(
  count: number,
  overrides: RawConfig = {},
): Promise<TestCluster> {
  const dataDir = await mkdtemp(join(tmpdir(), 'koppa-cluster-'));
  const trees = new Map<string, MemoryMetadataTree>();
  const brokers: (BrokerService | null)[] = [];
  const start = (brokerId: number) =>
    BrokerService.start(
      {
        brokerId,
        dataDir,
        metadataStoreUrl: 'memory:',
        kafkaListeners: 'PLAINTEXT://127.0.0.1:0',
        webServicePort: 0,
        groupInitialRebalanceDelayMs: 200,
        groupMinSessionTimeoutMs: 1000,
        ...overrides,
      },
      {
        metadataTrees: trees,
        logger: pino({ level: process.env.KOPPA_TEST_LOG_LEVEL ?? 'silent' }),
      },
    );
  for (let brokerId = 0; brokerId < count; brokerId++) brokers.push(await start(brokerId));
  const bootstrap = brokers.map((b) => `127.0.0.1:${b!.listeners[0].port}`).join(',');
  return {
    brokers,
    dataDir,
    bootstrap,
    async addBroker() {
      const broker = await start(brokers.length);
      brokers.push(broker);
      return broker;
    },
    async stopBroker(id: number) {
      await brokers[id]?.stop();
      brokers[id] = null;
    },
    async stop() {
      await Promise.all(brokers.map((b) => b?.stop()));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
