/** The Kafka handler's settings, with KoP's key names where KoP has the setting. */
import { z } from 'zod';
import {
  bool,
  ConfigError,
  int,
  list,
  oneOf,
  parseConfig,
  str,
  type RawConfig,
} from '../../src/api/index.js';

const schema = z.object({
  /** Where to listen: `PLAINTEXT://host:port[,...]` (KoP). Defaults to the host's `listen` flag. */
  kafkaListeners: list([]),
  /** What Metadata tells clients to connect to; defaults to kafkaListeners. */
  kafkaAdvertisedListeners: list([]),
  kafkaTenant: str('public'),
  kafkaNamespace: str('default'),
  offsetsTopicNumPartitions: int(50, 1),
  allowAutoTopicCreation: bool(true),
  defaultNumPartitions: int(1, 1),
  /** Largest record batch accepted in a produce request (Pulsar's maxMessageSize). */
  maxMessageSize: int(5 * 1024 * 1024, 1024),
  /** Largest request frame; checked before anything is allocated (Kafka's socket.request.max.bytes). */
  socketRequestMaxBytes: int(100 * 1024 * 1024, 1024),
  /** Requests one connection may have in flight before the broker stops reading from it (KoP). */
  maxQueuedRequests: int(500, 1),
  /** Idle connections are closed after this long; -1 keeps them (KoP). */
  connectionMaxIdleMs: int(600_000, -1),
  /** Where Kafka's own topics (__consumer_offsets) live: persistent://<tenant>/<namespace>/ (KoP). */
  kafkaMetadataTenant: str('public'),
  kafkaMetadataNamespace: str('__kafka'),
  /** Group coordinator settings (KoP's names, Kafka's current defaults). */
  groupMinSessionTimeoutMs: int(6000, 0),
  groupMaxSessionTimeoutMs: int(1_800_000, 0),
  groupInitialRebalanceDelayMs: int(3000, 0),
  groupMaxSize: int(2147483647, 1),
  /** An empty group's offsets expire this long after it became empty (KIP-211). */
  offsetsRetentionMinutes: int(7 * 24 * 60, 1),
  offsetsRetentionCheckIntervalMs: int(600_000, 1),
  offsetMetadataMaxSize: int(4096, 0),
  /** How often each coordinator samples its groups' lag (koppa_consumer_group_lag_*). */
  consumerLagIntervalMs: int(10_000, 100),
  /** Records appended to a __consumer_offsets partition before its log is compacted. */
  offsetsCompactionRecords: int(10_000, 100),
  /** Cap on the bytes one Fetch returns, whatever the client asks (Kafka's fetch.max.bytes). */
  fetchMaxBytes: int(55 * 1024 * 1024, 1024),
  /** Cap on a Fetch's long-poll wait, whatever the client asks. */
  fetchMaxWaitMs: int(30_000, 0),
  /**
   * Cardinality guards of the per-group series: regexes matched against whole group ids, comma-
   * separated (a pattern with a comma needs a JSON config file's array). Allow empty: every group;
   * a group no allow pattern matches, or a deny pattern matches, counts under group="__other__".
   */
  metricsGroupAllowPatterns: list([]),
  metricsGroupDenyPatterns: list([]),
  /** False: kop_server_*_IN/_OUT series are summed per topic, without `partition`. */
  metricsPartitionLabel: bool(true),
  /** Where the group-id mapping (`<clientHost>-<clientId>` → groups) lives (KoP). */
  groupIdZooKeeperPath: str('/client_group_id'),
  /**
   * Who deletes a mapping: the group's coordinator when the member is gone (`coordinator`), or,
   * as KoP did, the close of the connection that sent the FindCoordinator (`kop`).
   */
  groupIdLifecyclePolicy: oneOf(['coordinator', 'kop'], 'coordinator'),
  /** The longest a FindCoordinator answer waits for its mapping write. */
  groupIdWriteTimeoutMs: int(500, 1, 60_000),
  /** How often each coordinator reconciles its groups' mappings; -1: never (coordinator policy). */
  groupIdReconcileIntervalMs: int(60_000, -1),
  /** The reconciler's store operations per second, at most. */
  groupIdReconcileOpsPerSecond: int(20, 1),
  /** An entry no live member accounts for is removed once it is this old. */
  groupIdOrphanGraceMs: int(600_000, 0),
});

/** Keys the Kafka handler reads (`listen` is the CLI's shorthand for the first listener). */
export const KAFKA_CONFIG_KEYS: readonly string[] = [...Object.keys(schema.shape), 'listen'];

export interface Listener {
  name: string;
  host: string;
  port: number;
}

export type KafkaConfig = Omit<
  z.infer<typeof schema>,
  'kafkaListeners' | 'kafkaAdvertisedListeners'
> & {
  listeners: Listener[];
  advertisedListeners: Listener[];
};

const DEFAULT_LISTEN = '127.0.0.1:9092';

export function parseKafkaConfig(raw: RawConfig): KafkaConfig {
  const parsed = parseConfig(schema, raw);
  const listenFlag = typeof raw.listen === 'string' ? raw.listen : DEFAULT_LISTEN;
  const listenerSpecs =
    parsed.kafkaListeners.length > 0 ? parsed.kafkaListeners : [`PLAINTEXT://${listenFlag}`];
  const listeners = listenerSpecs.map(parseListener);
  const advertisedListeners =
    parsed.kafkaAdvertisedListeners.length > 0
      ? parsed.kafkaAdvertisedListeners.map(parseListener)
      : listeners.map((l) => ({
          ...l,
          host: l.host === '0.0.0.0' || l.host === '' ? '127.0.0.1' : l.host,
        }));
  if (parsed.groupIdReconcileIntervalMs === 0) {
    throw new ConfigError('groupIdReconcileIntervalMs must be positive, or -1 to turn it off');
  }
  const root = parsed.groupIdZooKeeperPath;
  if (!/^\/[^/]/.test(root) || root.endsWith('/') || root.includes('//')) {
    throw new ConfigError(
      `groupIdZooKeeperPath ${root} is not an absolute metadata path such as /client_group_id`,
    );
  }
  const { kafkaListeners: _l, kafkaAdvertisedListeners: _a, ...rest } = parsed;
  return { ...rest, listeners, advertisedListeners };
}

/** `PLAINTEXT://host:port`; only plaintext listeners exist so far. */
export function parseListener(spec: string): Listener {
  const match = /^([A-Za-z_][A-Za-z0-9_]*):\/\/(\[[0-9a-fA-F:.]+\]|[^:/]*):(\d+)$/.exec(spec);
  if (!match) throw new ConfigError(`listener ${spec} is not NAME://HOST:PORT`);
  const [, name, host, portText] = match;
  if (name.toUpperCase() !== 'PLAINTEXT') {
    throw new ConfigError(`listener ${spec}: only PLAINTEXT listeners are supported`);
  }
  const port = Number(portText);
  if (port > 65535) throw new ConfigError(`listener ${spec}: port out of range`);
  return { name: name.toUpperCase(), host: host.replace(/^\[|\]$/g, ''), port };
}
