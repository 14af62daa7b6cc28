/**
 * One broker: its stores, its protocol handlers, its place in the cluster and its lifecycle.
 * Start-up: stores, topics, handlers (listening), HTTP, then the cluster (the broker advertises
 * real ports and starts owning partitions). Shutdown runs the other way round, once: handlers
 * stop serving and drain, ownership is released (the handlers close what they held before the
 * owner nodes go, so other brokers take over at once, without a fence grace), then the stores
 * close. See ProtocolHandler.stop for the contract.
 */
import type { Logger } from 'pino';
import { Cluster, DuplicateBrokerIdError } from '../cluster/cluster.js';
import { HOST_CONFIG_KEYS, parseHostConfig, type HostConfig } from '../config/host-config.js';
import type { RawConfig } from '../config/sources.js';
import { createHttpServer, type HttpServer } from '../http/http-server.js';
import { createPeerClient } from '../http/peers.js';
import { checkReadiness } from '../http/readiness.js';
import { createLogger } from '../logging/logger.js';
import { createHostMetrics, type BrokerMetrics } from '../metrics/index.js';
import {
  InstrumentedMetadataStore,
  openMetadataStore,
  type MemoryMetadataTree,
} from '../metadata/index.js';
import type { MetadataStore } from '../metadata/types.js';
import { InstrumentedMessageStore } from '../storage/instrumented-store.js';
import type { MessageStore } from '../storage/types.js';
import { TopicRegistry } from '../topics/topic-registry.js';
import { publishBrokerInfo } from './broker-info.js';
import { DeferredClusterView } from './deferred-cluster.js';
import { loadProtocolHandlers, type LoadedHandler } from './plugin-loader.js';
import type { HostContext, ListenerInfo } from './protocol-handler.js';
import { createMessageStore } from './stores.js';

export interface BrokerServiceOptions {
  logger?: Logger;
  /** Brokers of one process that name the same in-memory metadata url share its tree. */
  metadataTrees?: Map<string, MemoryMetadataTree>;
}

export class BrokerService {
  private handlers: LoadedHandler[] = [];
  private retentionTimer?: NodeJS.Timeout;
  private shuttingDown = false;
  private stopping?: Promise<void>;
  private cluster?: Cluster;
  private http?: HttpServer;
  readonly clusterView: DeferredClusterView;
  listeners: ListenerInfo[] = [];

  private constructor(
    readonly config: HostConfig,
    readonly logger: Logger,
    private readonly rawConfig: RawConfig,
    /** This broker's metrics registry, served at `/metrics` on its HTTP port. */
    readonly metrics: BrokerMetrics,
    readonly metadataStore: MetadataStore,
    readonly messageStore: MessageStore,
    readonly topics: TopicRegistry,
  ) {
    this.clusterView = new DeferredClusterView(config.brokerId);
  }

  static async start(
    rawConfig: RawConfig,
    options: BrokerServiceOptions = {},
  ): Promise<BrokerService> {
    const config = parseHostConfig(rawConfig);
    const logger =
      options.logger ?? createLogger({ level: config.logLevel, brokerId: config.brokerId });
    const metrics = createHostMetrics({ clusterName: config.clusterName });
    publishBrokerInfo(metrics, config.brokerId);
    // Each broker measures its own store objects (standalone brokers share a tree and a data
    // directory, never these objects), so its registry counts its own activity only.
    const metadataStore = new InstrumentedMetadataStore(
      await openMetadataStore(config.metadataStoreUrl, {
        trees: options.metadataTrees,
        logger: logger.child({ component: 'metadata' }),
        sessionTimeoutMs: config.zooKeeperSessionTimeoutMillis,
        operationTimeoutMs: config.metadataStoreOperationTimeoutSeconds * 1000,
      }),
      metrics,
    );
    const messageStore = new InstrumentedMessageStore(
      createMessageStore(config, logger.child({ component: 'storage' })),
      metrics,
    );
    const topics = new TopicRegistry(metadataStore, logger.child({ component: 'topics' }));
    const service = new BrokerService(
      config,
      logger,
      rawConfig,
      metrics,
      metadataStore,
      messageStore,
      topics,
    );
    try {
      await service.startAll();
    } catch (err) {
      await service.stop();
      throw err;
    }
    return service;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** The HTTP port bound, or null when the broker has none yet. */
  get httpPort(): number | null {
    return this.http?.port ?? null;
  }

  private async startAll(): Promise<void> {
    const { config, logger } = this;
    await this.topics.start();
    this.handlers = await loadProtocolHandlers(
      config.messagingProtocols,
      config.protocolHandlerDirectory,
    );
    this.http = createHttpServer({
      host: config.bindAddress,
      port: config.webServicePort,
      logger,
      metrics: this.metrics,
      readiness: () =>
        checkReadiness({
          shuttingDown: () => this.shuttingDown,
          joined: () => this.cluster !== undefined,
          metadataConnected: () => this.clusterView.connected(),
          handlers: () => this.handlers.map(({ handler }) => handler),
        }),
    });
    const context: HostContext = {
      brokerId: config.brokerId,
      clusterName: config.clusterName,
      rawConfig: this.rawConfig,
      hostConfig: config,
      logger,
      messageStore: this.messageStore,
      metadataStore: this.metadataStore,
      topics: this.topics,
      cluster: this.clusterView,
      joined: this.clusterView.joined,
      metrics: this.metrics,
      http: this.http.routes,
      peers: createPeerClient(this.clusterView),
      isShuttingDown: () => this.shuttingDown,
    };
    for (const { handler } of this.handlers) {
      await handler.initialize({
        ...context,
        logger: logger.child({ protocol: handler.protocolName }),
      });
    }
    this.warnAboutUnknownKeys();
    for (const { handler } of this.handlers) {
      this.listeners.push(...(await handler.start()));
    }
    const httpPort = await this.http.listen();
    this.cluster = await this.joinCluster();
    this.clusterView.bind(this.cluster);
    this.retentionTimer = setInterval(() => {
      this.messageStore
        .enforceRetention()
        .catch((err: unknown) => logger.error({ err }, 'retention failed'));
    }, config.logRetentionCheckIntervalMs);
    this.retentionTimer.unref();
    logger.info({ listeners: this.listeners, httpPort }, 'broker started');
  }

  /**
   * Registers in the cluster. A broker restarted right after a crash may find its old
   * registration still there until the old session expires: it waits that long, no longer.
   */
  private async joinCluster(): Promise<Cluster> {
    const { config, logger } = this;
    const deadline = Date.now() + config.zooKeeperSessionTimeoutMillis + 5000;
    for (;;) {
      try {
        return await Cluster.start({
          brokerId: config.brokerId,
          rack: config.rack ?? null,
          store: this.metadataStore,
          topics: this.topics,
          logger: logger.child({ component: 'cluster' }),
          protocols: this.advertisedProtocols(),
          httpPort: this.http!.port,
          httpHost: advertisedHttpHost(config),
        });
      } catch (err) {
        if (!(err instanceof DuplicateBrokerIdError) || Date.now() > deadline) throw err;
        logger.warn(
          { brokerId: config.brokerId },
          'broker id still registered by an earlier session, waiting for it to expire',
        );
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  /** What each protocol handler advertises, by protocol name (after the handlers started). */
  private advertisedProtocols(): Record<string, string> {
    return Object.fromEntries(
      this.handlers.map(({ handler }) => [handler.protocolName, handler.protocolDataToAdvertise()]),
    );
  }

  /** A mistyped key would otherwise be silently ignored. */
  private warnAboutUnknownKeys(): void {
    const known = new Set([
      ...HOST_CONFIG_KEYS,
      ...this.handlers.flatMap(({ handler }) => handler.configKeys),
    ]);
    const unknown = Object.keys(this.rawConfig).filter((key) => !known.has(key));
    if (unknown.length > 0)
      this.logger.warn({ keys: unknown }, 'ignoring unknown configuration keys');
  }

  /** Graceful and idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.shuttingDown = true;
    clearInterval(this.retentionTimer);
    const attempt = async (what: string, work: () => Promise<unknown> | undefined) => {
      try {
        await work();
      } catch (err) {
        this.logger.error({ err }, `${what} failed during shutdown`);
      }
    };
    for (const { handler } of [...this.handlers].reverse()) {
      await attempt(`stopping ${handler.protocolName}`, () => handler.stop());
    }
    // 'lost' for every partition, awaited until the handlers closed them; then the owner nodes.
    await attempt('releasing ownership', () => this.cluster?.release());
    await attempt('closing the HTTP server', () => this.http?.close());
    this.topics.stop();
    await attempt('closing the message store', () => this.messageStore.close());
    await attempt('closing the metadata store', () => this.metadataStore.close());
    this.logger.info('broker stopped');
  }
}

/** Where other brokers reach this one's HTTP port: a wildcard bind is reached on loopback. */
function advertisedHttpHost(config: HostConfig): string {
  if (config.advertisedAddress) return config.advertisedAddress;
  const wildcard = config.bindAddress === '0.0.0.0' || config.bindAddress === '::';
  return wildcard ? '127.0.0.1' : config.bindAddress;
}
