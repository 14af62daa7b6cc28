/**
 * One broker: its stores, its protocol handlers and its lifecycle. Shutdown runs in reverse
 * order of start-up (handlers stop serving before the stores close), and only once.
 */
import type { Logger } from 'pino';
import { HOST_CONFIG_KEYS, parseHostConfig, type HostConfig } from '../config/host-config.js';
import type { RawConfig } from '../config/sources.js';
import { createLogger } from '../logging/logger.js';
import { openMetadataStore, type MemoryMetadataTree } from '../metadata/index.js';
import type { MetadataStore } from '../metadata/types.js';
import type { MessageStore } from '../storage/types.js';
import { TopicRegistry } from '../topics/topic-registry.js';
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
  listeners: ListenerInfo[] = [];

  private constructor(
    readonly config: HostConfig,
    readonly logger: Logger,
    private readonly rawConfig: RawConfig,
    readonly metadataStore: MetadataStore,
    readonly messageStore: MessageStore,
    readonly topics: TopicRegistry,
  ) {}

  static async start(
    rawConfig: RawConfig,
    options: BrokerServiceOptions = {},
  ): Promise<BrokerService> {
    const config = parseHostConfig(rawConfig);
    const logger =
      options.logger ?? createLogger({ level: config.logLevel, brokerId: config.brokerId });
    const metadataStore = await openMetadataStore(config.metadataStoreUrl, {
      trees: options.metadataTrees,
      logger: logger.child({ component: 'metadata' }),
    });
    const messageStore = createMessageStore(config, logger.child({ component: 'storage' }));
    const topics = new TopicRegistry(metadataStore, logger.child({ component: 'topics' }));
    const service = new BrokerService(
      config,
      logger,
      rawConfig,
      metadataStore,
      messageStore,
      topics,
    );
    try {
      await service.startHandlers();
    } catch (err) {
      await service.stop();
      throw err;
    }
    return service;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  private async startHandlers(): Promise<void> {
    const { config, logger } = this;
    await this.topics.start();
    this.handlers = await loadProtocolHandlers(
      config.messagingProtocols,
      config.protocolHandlerDirectory,
    );
    const context: HostContext = {
      brokerId: config.brokerId,
      clusterName: config.clusterName,
      rawConfig: this.rawConfig,
      hostConfig: config,
      logger,
      messageStore: this.messageStore,
      metadataStore: this.metadataStore,
      topics: this.topics,
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
    this.retentionTimer = setInterval(() => {
      this.messageStore
        .enforceRetention()
        .catch((err: unknown) => logger.error({ err }, 'retention failed'));
    }, config.logRetentionCheckIntervalMs);
    this.retentionTimer.unref();
    logger.info({ listeners: this.listeners }, 'broker started');
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

  /** Graceful: handlers stop serving and drain, then the stores flush and close. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.shuttingDown = true;
    clearInterval(this.retentionTimer);
    for (const { handler } of [...this.handlers].reverse()) {
      try {
        await handler.stop();
      } catch (err) {
        this.logger.error(
          { err, protocol: handler.protocolName },
          'protocol handler failed to stop',
        );
      }
    }
    this.topics.stop();
    await this.messageStore
      .close()
      .catch((err: unknown) => this.logger.error({ err }, 'message store failed to close'));
    await this.metadataStore
      .close()
      .catch((err: unknown) => this.logger.error({ err }, 'metadata store failed to close'));
    this.logger.info('broker stopped');
  }
}
