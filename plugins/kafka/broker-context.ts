/** What the Kafka API handlers of one broker share. */

/** Kafka's "authorized operations not requested" value. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
import type { HostContext, TopicRegistry } from '../../src/api/index.js';
import type { KafkaConfig } from './config.js';
import type { GroupCoordinatorApi } from './coordinator/types.js';
import type { GroupResolver } from './group-mapping/types.js';
import type { PartitionManager } from './partitions/partition-manager.js';
import type { ProducerIdAllocator } from './producer/index.js';
import type { KafkaStats } from './stats/index.js';
import type { GroupLagView, LogPositionsReader } from './lag/types.js';
import type { TopicNamer } from './topics/topic-names.js';
import type { TopicService } from './topics/topic-service.js';

export interface KafkaBrokerContext {
  readonly host: HostContext;
  readonly config: KafkaConfig;
  readonly brokerId: number;
  /** Kafka's cluster id, created once per cluster and kept in the metadata store. */
  readonly clusterId: string;
  readonly topics: TopicRegistry;
  readonly namer: TopicNamer;
  readonly partitions: PartitionManager;
  readonly topicService: TopicService;
  readonly coordinator: GroupCoordinatorApi;
  /** Full name of __consumer_offsets (in the metadata namespace). */
  readonly offsetsTopicName: string;
  readonly producerIds: ProducerIdAllocator;
  /** Which consumer group a fetch is for, as far as the group-id mapping knows (never waits). */
  readonly groups: GroupResolver;
  /** Produce and fetch counts, published on the broker's `/metrics`. */
  readonly stats: KafkaStats;
  /** Partition log positions read from their owners, wherever they are in the cluster. */
  readonly logPositions: LogPositionsReader;
  /** This broker's latest lag samples of the groups it coordinates. */
  readonly lag: GroupLagView;
}
