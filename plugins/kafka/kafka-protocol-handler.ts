/** The Kafka protocol handler: wires settings, state and API handlers to the TCP listeners. */
import type { HostContext, ListenerInfo, ProtocolHandler } from '../../src/api/index.js';
import type { ApiHandler, ApiKeyNumber } from './apis/api-handler.js';
import { apiVersionsHandler } from './apis/api-versions.js';
import { createPartitionsHandler } from './apis/create-partitions.js';
import { createTopicsHandler } from './apis/create-topics.js';
import { deleteTopicsHandler } from './apis/delete-topics.js';
import { describeClusterHandler } from './apis/describe-cluster.js';
import { describeConfigsHandler } from './apis/describe-configs.js';
import { fetchHandler } from './apis/fetch.js';
import { findCoordinatorHandler } from './apis/find-coordinator.js';
import { initProducerIdHandler } from './apis/init-producer-id.js';
import { listOffsetsHandler } from './apis/list-offsets.js';
import { metadataHandler } from './apis/metadata.js';
import { produceHandler } from './apis/produce.js';
import type { KafkaBrokerContext } from './broker-context.js';
import { loadOrCreateClusterId } from './cluster-id.js';
import { KAFKA_CONFIG_KEYS, parseKafkaConfig } from './config.js';
import { PartitionManager } from './partitions/partition-manager.js';
import { ProducerIdAllocator } from './producer/index.js';
import { KafkaServer } from './server/kafka-server.js';
import { TopicNamer } from './topics/topic-names.js';
import { TopicService } from './topics/topic-service.js';

/** How often idempotent-producer state is swept (Kafka's producer.id.expiration.check.interval.ms). */
const PRODUCER_EXPIRY_CHECK_MS = 10 * 60 * 1000;

export class KafkaProtocolHandler implements ProtocolHandler {
  readonly protocolName = 'kafka';
  readonly configKeys = KAFKA_CONFIG_KEYS;
  private broker?: KafkaBrokerContext;
  private server?: KafkaServer;
  private producerExpiryTimer?: NodeJS.Timeout;

  async initialize(host: HostContext): Promise<void> {
    const config = parseKafkaConfig(host.rawConfig);
    const partitions = new PartitionManager(
      host.messageStore,
      host.topics,
      host.logger.child({ component: 'partitions' }),
    );
    const namer = new TopicNamer(config.kafkaTenant, config.kafkaNamespace);
    const broker: KafkaBrokerContext = {
      host,
      config,
      brokerId: host.brokerId,
      clusterId: await loadOrCreateClusterId(host.metadataStore),
      topics: host.topics,
      namer,
      partitions,
      topicService: new TopicService(host.topics, namer, partitions, config),
      producerIds: new ProducerIdAllocator(host.metadataStore),
    };
    const handlers = new Map<number, ApiHandler>();
    // Each handler is typed by its own api key; the table holds them all.
    const add = <K extends ApiKeyNumber>(h: ApiHandler<K>) =>
      handlers.set(h.apiKey, h as unknown as ApiHandler);
    add(apiVersionsHandler(handlers));
    add(metadataHandler(broker));
    add(produceHandler(broker));
    add(fetchHandler(broker));
    add(listOffsetsHandler(broker));
    add(createTopicsHandler(broker));
    add(deleteTopicsHandler(broker));
    add(createPartitionsHandler(broker));
    add(describeConfigsHandler(broker));
    add(describeClusterHandler(broker));
    add(initProducerIdHandler(broker));
    add(findCoordinatorHandler(broker));
    this.broker = broker;
    this.server = new KafkaServer(
      {
        maxFrameSize: config.socketRequestMaxBytes,
        maxQueuedRequests: config.maxQueuedRequests,
        maxQueuedBytes: config.socketRequestMaxBytes,
        connectionMaxIdleMs: config.connectionMaxIdleMs,
        handlers,
        logger: host.logger,
        logRequests: host.hostConfig.logRequests,
      },
      host.logger,
    );
  }

  async start(): Promise<ListenerInfo[]> {
    if (!this.server || !this.broker)
      throw new Error('kafka protocol handler started before initialize');
    const bound = await this.server.listen(this.broker.config.listeners);
    this.broker.partitions.openAll();
    // A listener on port 0 got its port from the OS; advertise that one.
    this.broker.config.advertisedListeners.forEach((advertised, i) => {
      if (advertised.port === 0 && bound[i]) advertised.port = bound[i].port;
    });
    this.producerExpiryTimer = setInterval(() => {
      this.broker?.partitions
        .expireProducers()
        .catch((err: unknown) => this.broker?.host.logger.warn({ err }, 'producer expiry failed'));
    }, PRODUCER_EXPIRY_CHECK_MS);
    this.producerExpiryTimer.unref();
    return bound;
  }

  async stop(): Promise<void> {
    clearInterval(this.producerExpiryTimer);
    // In-flight requests get a share of the host's shutdown budget; long polls end at once.
    await this.server?.stop(Math.min(5000, this.broker?.host.hostConfig.shutdownTimeoutMs ?? 5000));
  }
}
