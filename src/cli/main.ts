/**
 * `koppa standalone` runs the embedded default; `koppa broker --config FILE` runs one broker of
 * a cluster. Settings: file, then KOPPA_* environment, then flags.
 */
import { ConfigError } from '../config/fields.js';
import { readConfigFile, readEnvironment, type RawConfig } from '../config/sources.js';
import { BrokerService } from '../host/broker-service.js';
import { parseArgs } from './args.js';

const USAGE = `usage: koppa <command> [--config FILE] [--<setting> VALUE ...]

commands:
  standalone   one broker with embedded metadata and a local store under ./data
  broker       one broker configured by --config FILE and flags
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

  let raw: RawConfig;
  let broker: BrokerService;
  try {
    raw = {
      ...(args.configFile ? readConfigFile(args.configFile) : {}),
      ...readEnvironment(process.env),
      ...args.flags,
    };
    broker = await BrokerService.start(raw);
  } catch (err) {
    console.error(
      err instanceof ConfigError ? err.message : `koppa failed to start: ${(err as Error).stack}`,
    );
    process.exitCode = 1;
    return;
  }

  for (const l of broker.listeners) {
    console.log(
      `koppa broker ${broker.config.brokerId}: ${l.name} listening on ${l.host}:${l.port}`,
    );
  }
  console.log(
    `koppa broker ${broker.config.brokerId}: data in ${broker.config.dataDir}, metadata ${broker.config.metadataStoreUrl}`,
  );

  // A bug must not take every client down with it: log it loudly and keep serving.
  process.on('unhandledRejection', (err) =>
    broker.logger.error({ err }, 'unhandled promise rejection'),
  );

  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) {
      broker.logger.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    broker.logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      broker.logger.error('graceful shutdown timed out, exiting');
      process.exit(1);
    }, broker.config.shutdownTimeoutMs);
    timer.unref();
    void broker.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
