/**
 * GET /admin/v1/topics and /admin/v1/topics/<topic> (a Kafka name or a full name, raw or
 * URL-encoded): each partition's owner and leader epoch, as Metadata tells clients, and its log
 * start and end offsets, read from its owner.
 */
import { HttpError, type HttpRoutes, type TopicMetadata } from '../../../src/api/index.js';
import type { KafkaBrokerContext } from '../broker-context.js';
import { PositionsError } from '../lag/log-positions.js';
import type { LogPositions, LogPositionsReader } from '../lag/types.js';
import { topicNames, type TopicNames } from './answers.js';

export interface PartitionEntry {
  partition: number;
  /** The broker that owns (leads) it; null while it has none that is alive. */
  ownerBrokerId: number | null;
  leaderEpoch: number | null;
  /** Null when the owner could not tell (see `error`). */
  logStartOffset: number | null;
  logEndOffset: number | null;
  sizeBytes: number | null;
  /** Why the offsets are missing (NO_OWNER, OWNER_UNREACHABLE: ..., ...); null when they are there. */
  error: string | null;
}

export interface TopicEntry extends TopicNames {
  /** Kafka's own topics (__consumer_offsets). */
  internal: boolean;
  partitionCount: number;
  partitions: PartitionEntry[];
}

export interface TopicsAnswer {
  answeredBy: number;
  topics: TopicEntry[];
}

export type TopicAnswer = { answeredBy: number } & TopicEntry;

export function addTopicRoutes(
  routes: HttpRoutes,
  broker: KafkaBrokerContext,
  positions: LogPositionsReader,
): void {
  const { cluster } = broker.host;

  async function describe(topics: TopicMetadata[]): Promise<TopicEntry[]> {
    const owners = topics.map((topic) =>
      Array.from({ length: topic.partitions }, (_, partition) => {
        const known = cluster.ownerOf({ topic: topic.name, partition });
        // As Metadata: an owner that has left already (it is releasing) leads nothing.
        return known && cluster.broker(known.brokerId) ? known : null;
      }),
    );
    const read = await positions.read(
      topics.flatMap((topic, t) =>
        owners[t].flatMap((owner, partition) => (owner ? [{ topic: topic.name, partition }] : [])),
      ),
    );
    const byPartition = new Map<string, LogPositions>(
      read.map((p) => [`${p.topic}\u0000${p.partition}`, p]),
    );
    return topics.map((topic, t) => ({
      ...topicNames(broker.namer, topic.name),
      internal: broker.namer.isInternal(topic.name),
      partitionCount: topic.partitions,
      partitions: owners[t].map((owner, partition): PartitionEntry => {
        const read = owner ? byPartition.get(`${topic.name}\u0000${partition}`) : undefined;
        return {
          partition,
          ownerBrokerId: owner?.brokerId ?? null,
          leaderEpoch: owner?.epoch ?? null,
          logStartOffset: read?.logStartOffset ?? null,
          logEndOffset: read?.logEndOffset ?? null,
          sizeBytes: read?.sizeBytes ?? null,
          error: !owner
            ? PositionsError.NO_OWNER
            : read
              ? (read.error ?? null)
              : PositionsError.OWNER_UNREACHABLE,
        };
      }),
    }));
  }

  routes.get('/admin/v1/topics', async (): Promise<TopicsAnswer> => {
    const topics = broker.topics.list().sort((a, b) => a.name.localeCompare(b.name));
    return { answeredBy: broker.brokerId, topics: await describe(topics) };
  });

  routes.get('/admin/v1/topics/*', async (request): Promise<TopicAnswer> => {
    const name = request.params['*'] ?? '';
    const fullName = broker.namer.parse(name)?.fullName;
    // Created through another broker a moment ago: the store has it before the notification.
    const topic =
      fullName === undefined
        ? undefined
        : (broker.topics.get(fullName) ?? (await broker.topics.fetch(fullName)));
    if (!topic) throw new HttpError(404, `no topic ${name}`);
    const [entry] = await describe([topic]);
    return { answeredBy: broker.brokerId, ...entry };
  });
}
