/**
 * The embedded default: several brokers in one process, sharing one metadata tree (kept in a
 * file under the data directory) and one data directory, on consecutive ports. A newcomer sees a
 * real multi-broker cluster without installing ZooKeeper.
 */
import type { Logger } from 'pino';
import { ConfigError } from '../config/fields.js';
import type { RawConfig } from '../config/sources.js';
import { BrokerService } from '../host/broker-service.js';
import type { MemoryMetadataTree } from '../metadata/index.js';

const DEFAULT_BROKERS = 3;
const DEFAULT_LISTEN = '127.0.0.1:9092';
const DEFAULT_HTTP_PORT = 8080;

/**
 * Each broker's settings: the shared ones, with its id and ports. Advertised listeners given for
 * several brokers are the first broker's; each next broker advertises the next port, as it
 * listens on the next port.
 */
export function standaloneConfigs(raw: RawConfig): RawConfig[] {
  const { brokers: brokersFlag, listen, ...shared } = raw;
  const brokers = brokersFlag === undefined ? DEFAULT_BROKERS : Number(brokersFlag);
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > 64) {
    throw new ConfigError(
      `--brokers must be a whole number from 1 to 64, not ${String(brokersFlag)}`,
    );
  }
  if (brokers > 1 && shared.kafkaListeners !== undefined) {
    throw new ConfigError(
      "with several brokers, give --listen HOST:PORT (the first broker's) instead of kafkaListeners",
    );
  }
  const match = /^(.*):(\d+)$/.exec(typeof listen === 'string' ? listen : DEFAULT_LISTEN);
  if (!match) throw new ConfigError(`--listen must be HOST:PORT, not ${String(listen)}`);
  const [, host, port] = match;
  const httpPort =
    shared.webServicePort === undefined ? DEFAULT_HTTP_PORT : Number(shared.webServicePort);
  return Array.from({ length: brokers }, (_, i) => ({
    ...shared,
    brokerId: i,
    ...(shared.kafkaListeners === undefined
      ? { kafkaListeners: `PLAINTEXT://${host}:${Number(port) === 0 ? 0 : Number(port) + i}` }
      : {}),
    webServicePort: httpPort === 0 ? 0 : httpPort + i,
    ...(shared.kafkaAdvertisedListeners !== undefined && i > 0
      ? { kafkaAdvertisedListeners: nextPorts(shared.kafkaAdvertisedListeners, i) }
      : {}),
  }));
}

/** `NAME://HOST:PORT[,...]` (a string or a list) with every non-zero port moved up by `by`. */
function nextPorts(listeners: unknown, by: number): string {
  const specs = Array.isArray(listeners) ? listeners.join(',') : String(listeners);
  return specs.replace(/:(\d+)(?=\s*,|\s*$)/g, (_, port: string) =>
    Number(port) === 0 ? ':0' : `:${Number(port) + by}`,
  );
}

/** Starts the brokers one after another; `logger` (tests) replaces each broker's own. */
export async function startStandalone(
  raw: RawConfig,
  options: { logger?: Logger } = {},
): Promise<BrokerService[]> {
  const trees = new Map<string, MemoryMetadataTree>();
  // Together, so that they join at once: partitions go to their owners at the first try
  // instead of all to the first broker and then moving.
  const starting = standaloneConfigs(raw).map((config) =>
    BrokerService.start(config, {
      metadataTrees: trees,
      logger: options.logger?.child({ brokerId: config.brokerId }),
    }),
  );
  const started = await Promise.allSettled(starting);
  const brokers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(brokers.map((b) => b.stop()));
    throw failed.reason;
  }
  return brokers;
}
