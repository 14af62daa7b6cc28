/** What the Kafka API handlers of one broker share. */
import type { HostContext, TopicRegistry } from '../../src/api/index.js';
import type { KafkaConfig } from './config.js';
import type { PartitionManager } from './partitions/partition-manager.js';
import type { ProducerIdAllocator } from './producer/index.js';
import type { TopicNamer } from './topics/topic-names.js';

export interface KafkaBrokerContext {
  readonly host: HostContext;
  readonly config: KafkaConfig;
  readonly brokerId: number;
  /** Kafka's cluster id, created once per cluster and kept in the metadata store. */
  readonly clusterId: string;
  readonly topics: TopicRegistry;
  readonly namer: TopicNamer;
  readonly partitions: PartitionManager;
  readonly producerIds: ProducerIdAllocator;
}
