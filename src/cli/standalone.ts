/**
 * The embedded default: several brokers in one process, sharing one metadata tree (kept in a
 * file under the data directory) and one data directory, on consecutive ports. A newcomer sees a
 * real multi-broker cluster without installing ZooKeeper.
 */
import { ConfigError } from '../config/fields.js';
import type { RawConfig } from '../config/sources.js';
import { BrokerService } from '../host/broker-service.js';
import type { MemoryMetadataTree } from '../metadata/index.js';

const DEFAULT_BROKERS = 3;
const DEFAULT_LISTEN = '127.0.0.1:9092';
const DEFAULT_HTTP_PORT = 8080;

/** Each broker's settings: the shared ones, with its id and ports. */
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
  }));
}

export async function startStandalone(raw: RawConfig): Promise<BrokerService[]> {
  const trees = new Map<string, MemoryMetadataTree>();
  const brokers: BrokerService[] = [];
  try {
    for (const config of standaloneConfigs(raw)) {
      brokers.push(await BrokerService.start(config, { metadataTrees: trees }));
    }
  } catch (err) {
    await Promise.all(brokers.map((b) => b.stop()));
    throw err;
  }
  return brokers;
}
