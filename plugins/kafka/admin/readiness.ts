/**
 * The Kafka handler's part of `/readyz`: every partition this broker owns is open (its log
 * claimed and its producer state rebuilt), and every __consumer_offsets partition it owns has
 * its groups loaded. Before that, requests for them would wait or be answered with retriable
 * errors (NOT_LEADER_OR_FOLLOWER, COORDINATOR_LOAD_IN_PROGRESS).
 */
import type { KafkaBrokerContext } from '../broker-context.js';
import type { Partition } from '../partitions/partition-manager.js';

/** Partitions named in a reason at most: the count says how many more. */
const NAMED = 5;
const PENDING = Symbol('pending');

/**
 * Readable reasons why the handler does not serve all it owns yet; none when it does. Asks the
 * partition manager for each partition this broker owns, which opens one found not open (after
 * a failed open or append), as the next request for it would.
 */
export async function kafkaReadiness(broker: KafkaBrokerContext): Promise<string[]> {
  const { cluster } = broker.host;
  const opening: string[] = [];
  const failed: string[] = [];
  for (const topic of broker.topics.list()) {
    for (let index = 0; index < topic.partitions; index++) {
      if (!cluster.ownsNow({ topic: topic.name, partition: index })) continue;
      const name = `${topic.name}-${index}`;
      const partition = broker.partitions.get(topic.name, index);
      if (partition === null) opening.push(name);
      else {
        const state = await settledState(partition);
        if (state === PENDING) opening.push(name);
        else if (state instanceof Error) failed.push(`${name} (${state.message})`);
      }
    }
  }
  const reasons: string[] = [];
  if (opening.length > 0) reasons.push(`owned partitions still opening: ${named(opening)}`);
  if (failed.length > 0) reasons.push(`owned partitions that failed to open: ${named(failed)}`);
  const loading = broker.coordinator.loadingPartitions();
  if (loading.length > 0) {
    reasons.push(
      `__consumer_offsets partitions still loading their groups: ${named(loading.map(String))}`,
    );
  }
  return reasons;
}

/** The partition if it is open now, PENDING while it opens, the error if opening failed. */
async function settledState(
  opening: Promise<Partition>,
): Promise<Partition | Error | typeof PENDING> {
  try {
    // A promise settled already wins the race: its reaction was queued first.
    return await Promise.race([opening, Promise.resolve(PENDING)]);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

function named(items: string[]): string {
  const more = items.length - NAMED;
  return items.slice(0, NAMED).join(', ') + (more > 0 ? ` and ${more} more` : '');
}
