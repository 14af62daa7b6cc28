/** The settings the host owns. Protocol handlers validate their own keys from the same map. */
import { z } from 'zod';
import { resolveLogConfig } from '../storage/log-config.js';
import type { LogConfig } from '../storage/types.js';
import { bool, ConfigError, int, list, oneOf, optionalStr, parseConfig, str } from './fields.js';
import type { RawConfig } from './sources.js';

const hostSchema = z.object({
  brokerId: int(0, 0),
  clusterName: str('standalone'),
  /** Protocol handlers to run, by name (Pulsar's `messagingProtocols`). */
  messagingProtocols: list(['kafka']),
  /** Where protocol handler folders live; relative paths resolve against the install root. */
  protocolHandlerDirectory: str('plugins'),
  dataDir: str('./data'),
  /** `memory:` (volatile) or `file:PATH` (durable single process); default `file:<dataDir>/metadata.json`. */
  metadataStoreUrl: optionalStr(),
  /** `file` (segment files under dataDir, durable) or `memory` (tests). */
  messageStore: oneOf(['file', 'memory'], 'file'),
  /** Address of the HTTP port (health, metrics); Pulsar's bindAddress. */
  bindAddress: str('127.0.0.1'),
  /**
   * The host name other brokers reach this broker's HTTP port at (Pulsar's advertisedAddress);
   * default: bindAddress, or 127.0.0.1 when that is a wildcard.
   */
  advertisedAddress: optionalStr(),
  /** HTTP port (Pulsar's webServicePort); 0 lets the OS choose. */
  webServicePort: int(8080, 0, 65535),
  /** The broker's rack, advertised to clients (Kafka's broker.rack). */
  rack: optionalStr(),
  /** ZooKeeper session timeout (Pulsar's name); a broker silent this long loses what it owns. */
  zooKeeperSessionTimeoutMillis: int(30_000, 1000),
  /** Metadata operations give up after this long (Pulsar's name). */
  metadataStoreOperationTimeoutSeconds: int(30, 1),
  logLevel: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], 'info'),
  /** Graceful shutdown gives up and exits after this long. */
  shutdownTimeoutMs: int(30_000, 0),
  logSegmentBytes: int(1024 * 1024 * 1024, 1024),
  logSegmentMs: int(7 * 24 * 3600 * 1000, 1),
  logRetentionMs: int(7 * 24 * 3600 * 1000, -1),
  logRetentionBytes: int(-1, -1),
  logFlushIntervalMessages: int(-1, -1),
  logFlushIntervalMs: int(1000, -1),
  logIndexIntervalBytes: int(4096, 1),
  /**
   * After claiming a partition's log, wait this long before reading its tail, so a write the
   * previous owner began just before the claim has landed (brokers sharing a data directory).
   */
  logFenceGraceMs: int(2000, 0),
  logRetentionCheckIntervalMs: int(5 * 60 * 1000, 1000),
  /** Log each request at debug level. */
  logRequests: bool(false),
});

/** Keys the host owns, for telling users about keys nothing owns. */
export const HOST_CONFIG_KEYS: readonly string[] = Object.keys(hostSchema.shape);

export type HostConfig = z.infer<typeof hostSchema> & { metadataStoreUrl: string };

export function parseHostConfig(raw: RawConfig): HostConfig {
  const parsed = parseConfig(hostSchema, raw);
  const config = {
    ...parsed,
    metadataStoreUrl: parsed.metadataStoreUrl ?? `file:${parsed.dataDir}/metadata.json`,
  };
  try {
    // The store's own bounds, checked now rather than when the first log opens.
    resolveLogConfig(logDefaults(config));
  } catch (err) {
    throw new ConfigError(`invalid configuration: ${(err as Error).message}`);
  }
  return config;
}

/** The store settings every log starts from, from the host's `log*` keys. */
export function logDefaults(config: HostConfig): LogConfig {
  return {
    segmentBytes: config.logSegmentBytes,
    segmentMs: config.logSegmentMs,
    retentionMs: config.logRetentionMs,
    retentionBytes: config.logRetentionBytes,
    flushIntervalMessages: config.logFlushIntervalMessages,
    flushIntervalMs: config.logFlushIntervalMs,
    indexIntervalBytes: config.logIndexIntervalBytes,
  };
}
