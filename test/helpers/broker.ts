/**
 * Starts a broker in this process on a free loopback port with its own data directory, and
 * cleans up after it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { RawConfig } from '../../src/config/sources.js';
import { BrokerService } from '../../src/host/broker-service.js';

export interface TestBroker {
  service: BrokerService;
  port: number;
  bootstrap: string;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startTestBroker(
  overrides: RawConfig = {},
  options: { dataDir?: string; logger?: Logger } = {},
): Promise<TestBroker> {
  const { dataDir } = options;
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'koppa-test-')));
  const service = await BrokerService.start(
    {
      dataDir: dir,
      kafkaListeners: 'PLAINTEXT://127.0.0.1:0',
      webServicePort: 0,
      // One process, no other owner to wait for.
      logFenceGraceMs: 0,
      logLevel: process.env.KOPPA_TEST_LOG_LEVEL ?? 'silent',
      ...overrides,
    },
    { logger: options.logger ?? pino({ level: process.env.KOPPA_TEST_LOG_LEVEL ?? 'silent' }) },
  );
  const port = service.listeners[0].port;
  return {
    service,
    port,
    bootstrap: `127.0.0.1:${port}`,
    dataDir: dir,
    async stop() {
      await service.stop();
      if (!dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
