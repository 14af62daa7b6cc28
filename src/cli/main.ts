/**
 * `koppa standalone` runs the embedded default (three brokers in one process); `koppa broker
 * --config FILE` runs one broker of a cluster. Settings: file, then KOPPA_* environment, then
 * flags.
 */
import { ConfigError } from '../config/fields.js';
import { readConfigFile, readEnvironment, type RawConfig } from '../config/sources.js';
import { BrokerService } from '../host/broker-service.js';
import { listenerOf, parseListen } from './listen.js';
import { parseArgs } from './args.js';
import { startStandalone } from './standalone.js';

const USAGE = `usage: koppa <command> [--config FILE] [--<setting> VALUE ...]

commands:
  standalone   a cluster in one process: --brokers N (default 3) brokers on consecutive ports
               from --listen HOST:PORT (default 127.0.0.1:9092) and --http-port (default 8080),
               with metadata and data under --data-dir (default ./data); no ZooKeeper needed
  broker       one broker of a cluster: --config FILE, and --broker-id, --listen HOST:PORT,
               --http-port, --metadata-store-url zk:HOST:PORT[/chroot], --data-dir
  help         this text

Any setting can be given as a flag (--data-dir ./data, --kafka-listeners PLAINTEXT://127.0.0.1:9092)
or as an environment variable (KOPPA_DATA_DIR, KOPPA_KAFKA_LISTENERS).`;

export async function main(argv: string[]): Promise<void> {
  let args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (args.command === 'help' || args.flags.help !== undefined) {
    console.log(USAGE);
    return;
  }
  if (args.command !== 'standalone' && args.command !== 'broker') {
    console.error(`unknown command ${args.command}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (args.command === 'broker' && !args.configFile) {
    console.error('koppa broker needs --config FILE');
    process.exitCode = 2;
    return;
  }

  let brokers: BrokerService[];
  try {
    const raw: RawConfig = {
      ...(args.configFile ? readConfigFile(args.configFile) : {}),
      ...readEnvironment(process.env),
      ...args.flags,
    };
    brokers =
      args.command === 'standalone'
        ? await startStandalone(raw)
        : [await BrokerService.start(singleBrokerConfig(raw))];
  } catch (err) {
    console.error(
      err instanceof ConfigError ? err.message : `koppa failed to start: ${(err as Error).stack}`,
    );
    process.exitCode = 1;
    return;
  }

  for (const broker of brokers) {
    const id = broker.config.brokerId;
    for (const l of broker.listeners)
      console.log(`koppa broker ${id}: ${l.name} listening on ${l.host}:${l.port}`);
    console.log(`koppa broker ${id}: HTTP on ${broker.config.bindAddress}:${broker.httpPort}`);
  }
  const [first] = brokers;
  console.log(`koppa: data in ${first.config.dataDir}, metadata ${first.config.metadataStoreUrl}`);

  // A bug must not take every client down with it: log it loudly and keep serving.
  process.on('unhandledRejection', (err) =>
    first.logger.error({ err }, 'unhandled promise rejection'),
  );

  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) {
      first.logger.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    first.logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      first.logger.error('graceful shutdown timed out, exiting');
      process.exit(1);
    }, first.config.shutdownTimeoutMs);
    timer.unref();
    void Promise.all(brokers.map((b) => b.stop())).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** `koppa broker --listen HOST:PORT` names its Kafka listener; the flag outranks the file. */
function singleBrokerConfig(raw: RawConfig): RawConfig {
  const { listen, ...rest } = raw;
  if (listen === undefined) return rest;
  return { ...rest, kafkaListeners: listenerOf(parseListen(listen)) };
}
