/**
 * The contract between the host and a protocol handler, after Pulsar's ProtocolHandler:
 * the host names handlers in `messagingProtocols`, finds each in its own folder under
 * `protocolHandlerDirectory` by a manifest, and hands it a narrow context.
 */
import type { Logger } from 'pino';
import type { HostConfig } from '../config/host-config.js';
import type { RawConfig } from '../config/sources.js';
import type { MetadataStore } from '../metadata/types.js';
import type { MessageStore } from '../storage/types.js';
import type { ClusterView } from '../cluster/types.js';
import type { TopicRegistry } from '../topics/topic-registry.js';
import type { HostMetrics } from '../metrics/host-metrics.js';
import type { HttpRoutes } from '../http/routes.js';
import type { PeerClient } from '../http/peers.js';

/** `protocol-handler.json` in the handler's folder. */
export interface ProtocolHandlerManifest {
  name: string;
  description?: string;
  /** Module path relative to the folder, as the built code names it (`index.js`). */
  entry: string;
}

export interface HostContext {
  readonly brokerId: number;
  readonly clusterName: string;
  /** Every setting the host was given; a handler validates the keys it owns. */
  readonly rawConfig: RawConfig;
  readonly hostConfig: HostConfig;
  readonly logger: Logger;
  readonly messageStore: MessageStore;
  readonly metadataStore: MetadataStore;
  /** Topics of the cluster, cached and kept current from the metadata store. */
  readonly topics: TopicRegistry;
  /** Live brokers and partition ownership. Until the broker joins, after `start`, it is empty. */
  readonly cluster: ClusterView;
  /**
   * Resolves once the broker has joined the cluster. Handlers listen from `start` (the broker
   * must advertise real ports to join) but hold requests until then, as a Kafka broker does
   * until its start-up is complete: a client asking earlier would learn an empty cluster.
   */
  readonly joined: Promise<void>;
  /**
   * This broker's metrics, served at `/metrics` on its HTTP port: register with
   * `metrics.counter`/`metrics.gauge` (read at scrape time), or with prom-client directly on
   * `metrics.registry`. Each broker has its own registry, also in a one-process standalone.
   */
  readonly metrics: HostMetrics;
  /** JSON routes on the broker's HTTP port (the admin API); add them in `initialize`. */
  readonly http: HttpRoutes;
  /** Requests to other live brokers' HTTP ports, for answers that span the cluster. */
  readonly peers: PeerClient;
  /** True once shutdown began: handlers must not start work that outlives it. */
  isShuttingDown(): boolean;
}

export interface ListenerInfo {
  name: string;
  host: string;
  port: number;
}

export interface ProtocolHandler {
  readonly protocolName: string;
  /** The settings this handler reads, so that the host can warn about keys nobody reads. */
  readonly configKeys: readonly string[];
  /** Validates the handler's settings and prepares state; throws ConfigError on bad settings. */
  initialize(context: HostContext): Promise<void>;
  /** Starts serving; returns the listeners it bound. */
  start(): Promise<ListenerInfo[]>;
  /** What other brokers and clients need to reach this handler (Pulsar's protocol data), after start. */
  protocolDataToAdvertise(): string;
  /**
   * Stops accepting, finishes in-flight requests within the host's shutdown timeout. Shutdown
   * then goes on in this order:
   * 1. `stop` of every handler (no request is served from here on);
   * 2. the host releases ownership: 'lost' for every partition held, and the host waits for the
   *    handlers' reactions to it (the promises their `cluster.onEvent` listeners return: appends
   *    settled, logs closed, coordinators unloaded) so that a handler must stay subscribed
   *    through `stop`;
   * 3. only then the owner nodes and the broker's registration go, so the next owners find the
   *    logs released cleanly and skip the store's fence grace;
   * 4. the stores close.
   * Gains after shutdown began (`isShuttingDown`) need not be served: they are released in 2.
   */
  stop(): Promise<void>;
  /**
   * Optional: why this handler does not serve everything this broker owns yet, as readable
   * reasons (`partition persistent://public/default/orders-0 is still opening`); none when it
   * does. `/readyz` asks it only once the broker has joined the cluster, its metadata session is
   * connected and it is not shutting down, and answers 503 with the reasons of every handler
   * (each prefixed with the protocol's name) until none has any. Called at every probe: it must
   * be quick, and must not wait on other brokers or on the metadata store.
   */
  readiness?(): Promise<string[]>;
}

/** A handler module's default export. */
export type ProtocolHandlerFactory = () => ProtocolHandler;
