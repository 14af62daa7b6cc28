/** The Kafka protocol handler: wires settings, state and API handlers to the TCP listeners. */
import type {
  HostContext,
  ListenerInfo,
  OwnershipEvent,
  ProtocolHandler,
} from '../../src/api/index.js';
import type { ApiHandler, ApiKeyNumber } from './apis/api-handler.js';
import { apiVersionsHandler } from './apis/api-versions.js';
import { createPartitionsHandler } from './apis/create-partitions.js';
import { createTopicsHandler } from './apis/create-topics.js';
import { deleteTopicsHandler } from './apis/delete-topics.js';
import { describeClusterHandler } from './apis/describe-cluster.js';
import { describeConfigsHandler } from './apis/describe-configs.js';
import { deleteGroupsHandler } from './apis/delete-groups.js';
import { describeGroupsHandler } from './apis/describe-groups.js';
import { heartbeatHandler } from './apis/heartbeat.js';
import { joinGroupHandler } from './apis/join-group.js';
import { leaveGroupHandler } from './apis/leave-group.js';
import { listGroupsHandler } from './apis/list-groups.js';
import { offsetCommitHandler } from './apis/offset-commit.js';
import { offsetDeleteHandler } from './apis/offset-delete.js';
import { offsetFetchHandler } from './apis/offset-fetch.js';
import { syncGroupHandler } from './apis/sync-group.js';
import { fetchHandler } from './apis/fetch.js';
import { offsetForLeaderEpochHandler } from './apis/offset-for-leader-epoch.js';
import { findCoordinatorHandler } from './apis/find-coordinator.js';
import { initProducerIdHandler } from './apis/init-producer-id.js';
import { listOffsetsHandler } from './apis/list-offsets.js';
import { metadataHandler } from './apis/metadata.js';
import { produceHandler } from './apis/produce.js';
import type { KafkaBrokerContext } from './broker-context.js';
import { loadOrCreateClusterId } from './cluster-id.js';
import { KAFKA_CONFIG_KEYS, parseKafkaConfig } from './config.js';
import { publishLogMetrics } from './partitions/log-metrics.js';
import { PartitionManager } from './partitions/partition-manager.js';
import { ProducerIdAllocator } from './producer/index.js';
import { KafkaServer } from './server/kafka-server.js';
import { RequestMetrics } from './server/request-metrics.js';
import { GroupCoordinator } from './coordinator/group-coordinator.js';
import { createSystemClock } from './coordinator/system-clock.js';
import { GroupMapping } from './group-mapping/group-mapping.js';
import { publishGroupMappingMetrics } from './group-mapping/metrics.js';
import type { GroupResolver } from './group-mapping/types.js';
import { OFFSETS_TOPIC, OffsetsTopic } from './offsets/offsets-topic.js';
import { createKafkaStats } from './stats/index.js';
import {
  addLogPositionsRoute,
  ClusterLogPositions,
  OwnedLogPositions,
} from './lag/log-positions.js';
import { publishConsumerGroupMetrics } from './lag/group-metrics.js';
import { fullTopicNames } from './lag/held-groups.js';
import { LagSampler } from './lag/lag-sampler.js';
import { createSeriesPolicy } from './stats/series-policy.js';
import { TopicNamer } from './topics/topic-names.js';
import { TopicService } from './topics/topic-service.js';
import { addAdminRoutes, kafkaReadiness } from './admin/index.js';

/** How often idempotent-producer state is swept (Kafka's producer.id.expiration.check.interval.ms). */
const PRODUCER_EXPIRY_CHECK_MS = 10 * 60 * 1000;

export class KafkaProtocolHandler implements ProtocolHandler {
  readonly protocolName = 'kafka';
  readonly configKeys = KAFKA_CONFIG_KEYS;
  private broker?: KafkaBrokerContext;
  private server?: KafkaServer;
  private producerExpiryTimer?: NodeJS.Timeout;
  private offsetsTopic?: OffsetsTopic;
  private mapping?: GroupMapping;
  private lag?: LagSampler;

  async initialize(host: HostContext): Promise<void> {
    try {
      await this.setUp(host);
    } catch (err) {
      // Whether or not the host calls stop() next, the mapping's reconciler and cache stop here.
      this.mapping?.close();
      throw err;
    }
  }

  private async setUp(host: HostContext): Promise<void> {
    const config = parseKafkaConfig(host.rawConfig);
    const partitions = new PartitionManager(
      host.messageStore,
      host.topics,
      host.cluster,
      host.logger.child({ component: 'partitions' }),
    );
    publishLogMetrics(host.metrics, partitions);
    const namer = new TopicNamer(
      config.kafkaTenant,
      config.kafkaNamespace,
      config.kafkaMetadataTenant,
      config.kafkaMetadataNamespace,
    );
    const offsetsTopic = new OffsetsTopic({
      partitions,
      topics: host.topics,
      fullName: namer.parse(OFFSETS_TOPIC)!.fullName,
      numPartitions: config.offsetsTopicNumPartitions,
      compactionRecords: config.offsetsCompactionRecords,
      logger: host.logger.child({ component: 'offsets' }),
    });
    // Groups are placed by the partition count the topic really has, which may differ from
    // the setting if it changed after the topic was created (Kafka does the same).
    const offsetsPartitions = await offsetsTopic.ensureCreated();
    const coordinatorLogger = host.logger.child({ component: 'coordinator' });
    const coordinator = new GroupCoordinator(
      {
        offsetsTopicNumPartitions: offsetsPartitions,
        groupMinSessionTimeoutMs: config.groupMinSessionTimeoutMs,
        groupMaxSessionTimeoutMs: config.groupMaxSessionTimeoutMs,
        groupInitialRebalanceDelayMs: config.groupInitialRebalanceDelayMs,
        groupMaxSize: config.groupMaxSize,
        offsetsRetentionMs: config.offsetsRetentionMinutes * 60_000,
        offsetsRetentionCheckIntervalMs: config.offsetsRetentionCheckIntervalMs,
        offsetMetadataMaxSize: config.offsetMetadataMaxSize,
      },
      offsetsTopic,
      createSystemClock((err) => coordinatorLogger.error({ err }, 'coordinator timer failed')),
      coordinatorLogger,
    );
    this.offsetsTopic = offsetsTopic;
    // Kafka names of committed and assigned topics as metrics label them (memoized).
    const fullTopicName = fullTopicNames(namer);
    // The group-id mapping: FindCoordinator writes it, the coordinator keeps it, fetches read it.
    const mapping = new GroupMapping({
      store: host.metadataStore,
      root: config.groupIdZooKeeperPath,
      policy: config.groupIdLifecyclePolicy,
      writeTimeoutMs: config.groupIdWriteTimeoutMs,
      brokerId: host.brokerId,
      coordinator,
      fullTopicName,
      reconcile: {
        intervalMs: config.groupIdReconcileIntervalMs,
        opsPerSecond: config.groupIdReconcileOpsPerSecond,
        orphanGraceMs: config.groupIdOrphanGraceMs,
      },
      isShuttingDown: () => host.isShuttingDown(),
      logger: host.logger.child({ component: 'group-mapping' }),
    });
    publishGroupMappingMetrics(host.metrics, mapping.stats, mapping.cache);
    this.mapping = mapping;
    const groups: GroupResolver = mapping.resolver;
    // Other brokers ask this one for the positions of the partitions it owns.
    const ownedPositions = new OwnedLogPositions(partitions, host.cluster);
    addLogPositionsRoute(host.http, ownedPositions);
    const logPositions = new ClusterLogPositions({
      cluster: host.cluster,
      peers: host.peers,
      owned: ownedPositions,
    });
    // One set of cardinality guards for KoP's counters and the consumer-group metrics.
    const seriesPolicy = createSeriesPolicy({
      allowPatterns: config.metricsGroupAllowPatterns,
      denyPatterns: config.metricsGroupDenyPatterns,
      partitionLabel: config.metricsPartitionLabel,
    });
    // Each coordinator samples the lag of its groups and exports their koppa_consumer_group_*.
    const lag = new LagSampler({
      groups: coordinator,
      positions: logPositions,
      fullTopicName,
      intervalMs: config.consumerLagIntervalMs,
      logger: host.logger.child({ component: 'consumer-lag' }),
    });
    this.lag = lag;
    publishConsumerGroupMetrics(host.metrics, {
      groups: coordinator,
      lagOf: (group, topic, partition) => lag.partitionLagOf(group, topic, partition),
      policy: seriesPolicy,
      fullTopicName,
    });
    const broker: KafkaBrokerContext = {
      host,
      config,
      brokerId: host.brokerId,
      clusterId: await loadOrCreateClusterId(host.metadataStore),
      topics: host.topics,
      namer,
      partitions,
      topicService: new TopicService(host.topics, namer, partitions, config),
      coordinator,
      offsetsTopicName: offsetsTopic.fullName,
      producerIds: new ProducerIdAllocator(host.metadataStore),
      groups,
      stats: createKafkaStats(host.metrics, groups, { series: seriesPolicy }),
      logPositions,
      lag,
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
    add(findCoordinatorHandler(broker, mapping));
    add(offsetForLeaderEpochHandler(broker));
    add(syncGroupHandler(broker));
    add(offsetFetchHandler(broker));
    add(offsetDeleteHandler(broker));
    add(offsetCommitHandler(broker));
    add(listGroupsHandler(broker));
    add(leaveGroupHandler(broker));
    add(joinGroupHandler(broker));
    add(heartbeatHandler(broker));
    add(describeGroupsHandler(broker));
    add(deleteGroupsHandler(broker));
    this.broker = broker;
    addAdminRoutes(broker, mapping);
    this.server = new KafkaServer(
      {
        maxFrameSize: config.socketRequestMaxBytes,
        maxQueuedRequests: config.maxQueuedRequests,
        maxQueuedBytes: config.socketRequestMaxBytes,
        connectionMaxIdleMs: config.connectionMaxIdleMs,
        handlers,
        logger: host.logger,
        logRequests: host.hostConfig.logRequests,
        onClose: ({ connectionId, clientHost, clientId }) =>
          mapping.connectionClosed({ clientHost, clientId }, connectionId),
        metrics: new RequestMetrics(host.metrics),
      },
      host.logger,
      host.joined,
    );
  }

  async start(): Promise<ListenerInfo[]> {
    if (!this.server || !this.broker)
      throw new Error('kafka protocol handler started before initialize');
    // Never unsubscribed: the host's release at shutdown sends the 'lost' events that close
    // the partitions, after `stop`.
    this.broker.host.cluster.onEvent((event) => this.onOwnership(event));
    const bound = await this.server.listen(this.broker.config.listeners);
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
    this.lag?.start();
    return bound;
  }

  /** Where Kafka clients reach this broker, for the cluster to advertise. */
  protocolDataToAdvertise(): string {
    return this.broker!.config.advertisedListeners.map(
      (l) => `${l.name}://${l.host}:${l.port}`,
    ).join(',');
  }

  /**
   * Ownership moves partitions between brokers. A gained __consumer_offsets partition is
   * replayed into the coordinator (its groups get COORDINATOR_LOAD_IN_PROGRESS meanwhile); a
   * lost one is unloaded: its groups moved, nobody left them, so no member-removed events.
   * For 'lost' it returns the closing of the partition (appends settled, log closed), which the
   * cluster awaits before the owner node goes, so that the next owner skips the fence grace.
   */
  private onOwnership(event: OwnershipEvent): Promise<void> | undefined {
    if (event.kind === 'changed') return;
    const { partitions, coordinator, host } = this.broker!;
    const { topic, partition } = event.partition;
    const offsets = topic === this.offsetsTopic!.fullName;
    if (event.kind === 'gained') {
      // Shutting down: the host is about to release it again; opening would only delay that.
      if (host.isShuttingDown()) return;
      partitions.gained(topic, partition, event.epoch);
      if (offsets) {
        // The epoch names this load: a replay still running from an earlier gain is stale.
        coordinator.beginLoad(partition, event.epoch);
        this.offsetsTopic!.load(coordinator, partition, event.epoch).catch((err: unknown) =>
          host.logger.error({ err, partition }, 'loading offsets partition failed'),
        );
      }
    } else {
      if (offsets) {
        this.offsetsTopic!.cancelLoad(partition);
        coordinator.unload(partition);
      }
      return partitions
        .lost(topic, partition)
        .catch((err: unknown) =>
          host.logger.warn({ err, topic, partition }, 'releasing partition failed'),
        );
    }
  }

  /** Owned partitions not open yet, and __consumer_offsets partitions still loading. */
  readiness(): Promise<string[]> {
    return this.broker ? kafkaReadiness(this.broker) : Promise.resolve(['not initialized']);
  }

  /**
   * Stops serving. Still subscribed to ownership afterwards: the host then releases every
   * partition, and this handler closes each on 'lost' (see onOwnership).
   */
  async stop(): Promise<void> {
    clearInterval(this.producerExpiryTimer);
    await this.lag?.stop();
    // Pending joins and syncs are answered now rather than left to time out.
    this.broker?.coordinator.shutdown();
    // In-flight requests get a share of the host's shutdown budget; long polls end at once.
    await this.server?.stop(Math.min(5000, this.broker?.host.hostConfig.shutdownTimeoutMs ?? 5000));
    // Appends already queued for __consumer_offsets finish before the store closes.
    await this.offsetsTopic?.close();
    this.broker?.stats.close();
    // The mapping writes nothing more now (the broker is shutting down), except the kop policy's
    // deletes for the connections just closed, which get one bounded attempt. (Also after an
    // initialize that failed once the mapping was built: there may be no broker context.)
    const mapping = this.mapping;
    if (mapping) {
      await mapping.drain(mapping.options.writeTimeoutMs + 1000);
      mapping.close();
    }
  }
}
