/**
 * Starts the brokers a client test talks to, in this process on free loopback ports with their
 * own data directory, and cleans up after them. KOPPA_TEST_BROKERS (default 1) picks the
 * topology: one broker, or N brokers started as `koppa standalone --brokers N` starts them
 * (one metadata tree in `<dataDir>/metadata.json`, one data directory, partitions and group
 * coordinators spread over the brokers).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { startStandalone } from '../../src/cli/standalone.js';
import type { RawConfig } from '../../src/config/sources.js';
import { BrokerService } from '../../src/host/broker-service.js';

export interface TestBroker {
  /** Broker 0. */
  service: BrokerService;
  /** Every broker, broker 0 first. */
  services: BrokerService[];
  /** Broker 0's Kafka port. */
  port: number;
  /** Every broker's `127.0.0.1:port`, comma-separated. */
  bootstrap: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** How many brokers startTestBroker starts (KOPPA_TEST_BROKERS, default 1). */
export const TEST_BROKERS = Number(process.env.KOPPA_TEST_BROKERS ?? '1');
if (!Number.isInteger(TEST_BROKERS) || TEST_BROKERS < 1)
  throw new Error(
    `KOPPA_TEST_BROKERS must be a whole number from 1, not ${process.env.KOPPA_TEST_BROKERS}`,
  );

export async function startTestBroker(
  overrides: RawConfig = {},
  options: { dataDir?: string; logger?: Logger } = {},
): Promise<TestBroker> {
  const { dataDir } = options;
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'koppa-test-')));
  const level = process.env.KOPPA_TEST_LOG_LEVEL ?? 'silent';
  const logger = options.logger ?? pino({ level });
  const services =
    TEST_BROKERS > 1
      ? // Several brokers share the data directory: the fence grace keeps its real default.
        await startStandalone(
          {
            brokers: TEST_BROKERS,
            listen: '127.0.0.1:0',
            webServicePort: 0,
            dataDir: dir,
            logLevel: level,
            ...overrides,
          },
          { logger },
        )
      : [
          await BrokerService.start(
            {
              dataDir: dir,
              // `listen` (the first broker's port, as for the standalone) gives the listener.
              ...(overrides.listen === undefined
                ? { kafkaListeners: 'PLAINTEXT://127.0.0.1:0' }
                : {}),
              webServicePort: 0,
              // One process, no other owner to wait for.
              logFenceGraceMs: 0,
              logLevel: level,
              ...overrides,
            },
            { logger },
          ),
        ];
  const ports = services.map((s) => s.listeners[0].port);
  return {
    service: services[0],
    services,
    port: ports[0],
    bootstrap: ports.map((p) => `127.0.0.1:${p}`).join(','),
    dataDir: dir,
    async stop() {
      await Promise.all(services.map((s) => s.stop()));
      if (!dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The first of `count` consecutive free loopback ports (a standalone's brokers listen on them). */
export async function freePorts(count = TEST_BROKERS): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below Linux's ephemeral range, so outgoing connections do not take them meanwhile.
    const first = 10_000 + Math.floor(Math.random() * 20_000);
    const free = await Promise.all(Array.from({ length: count }, (_, i) => isFree(first + i)));
    if (free.every(Boolean)) return first;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
