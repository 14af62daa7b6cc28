/** Creating, deleting and auto-creating topics, shared by the admin APIs, Metadata and Produce. */
import {
  TopicExistsError,
  type TopicMetadata,
  type TopicRegistry,
} from '../../../src/api/index.js';
import type { PartitionManager } from '../partitions/partition-manager.js';
import type { TopicName, TopicNamer } from './topic-names.js';

export class TopicService {
  constructor(
    private readonly registry: TopicRegistry,
    private readonly namer: TopicNamer,
    private readonly partitions: PartitionManager,
    private readonly options: { allowAutoTopicCreation: boolean; defaultNumPartitions: number },
  ) {}

  /** The topic a Kafka client names, if the name is valid and the topic exists. */
  find(kafkaName: string): TopicMetadata | undefined {
    const name = this.namer.parse(kafkaName);
    return name ? this.registry.get(name.fullName) : undefined;
  }

  /**
   * Which partitions of a topic a Kafka client names exist (none when the topic does not):
   * looked up once per topic, asked once per partition.
   */
  partitionsOf(kafkaName: string): (index: number) => boolean {
    const partitions = this.find(kafkaName)?.partitions ?? 0;
    return (index) => index >= 0 && index < partitions;
  }

  /**
   * The topic, created with the default partition count when missing and auto-creation is on
   * (both the broker's setting and the client's wish). Null when it does not exist.
   */
  async getOrAutoCreate(name: TopicName, clientAllows = true): Promise<TopicMetadata | null> {
    const existing = this.registry.get(name.fullName);
    if (existing || !this.options.allowAutoTopicCreation || !clientAllows) return existing ?? null;
    try {
      return await this.registry.create(name.fullName, this.options.defaultNumPartitions);
    } catch (err) {
      // Another request (or broker) created it first: use theirs.
      if (err instanceof TopicExistsError) {
        return (
          this.registry.get(name.fullName) ?? (await this.registry.fetch(name.fullName)) ?? null
        );
      }
      throw err;
    }
  }

  /** Data first, then the name: a crash in between leaves an empty topic, never orphaned data. */
  async delete(topic: TopicMetadata): Promise<void> {
    await this.partitions.dropTopic(topic.name, topic.partitions, () =>
      this.registry.delete(topic.name),
    );
  }
}
