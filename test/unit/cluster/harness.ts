/**
 * Several brokers' clusters in one process, over any metadata stores, with every ownership
 * event recorded in one global order, and checks that every broker agrees on one owner per
 * partition.
 */
import { destination, pino } from 'pino';
import { expect } from 'vitest';
import { Cluster } from '../../../src/cluster/cluster.js';
import type { OwnershipEvent } from '../../../src/cluster/types.js';
import type { MetadataStore } from '../../../src/metadata/types.js';
import type { TopicPartition } from '../../../src/storage/types.js';
import { waitFor } from '../../helpers/wait.js';

/** KOPPA_CLUSTER_LOG=debug (and KOPPA_CLUSTER_LOG_FILE=path) shows what the brokers do. */
export const logger = pino(
  { level: process.env.KOPPA_CLUSTER_LOG ?? 'silent' },
  process.env.KOPPA_CLUSTER_LOG_FILE
    ? destination({ dest: process.env.KOPPA_CLUSTER_LOG_FILE, sync: true })
    : undefined,
);

export interface RecordedEvent {
  brokerId: number;
  event: OwnershipEvent;
}

export interface Broker {
  id: number;
  store: MetadataStore;
  cluster: Cluster;
}

export class Brokers {
  /** Every 'gained' and 'lost', of every broker, in the order they happened. */
  readonly events: RecordedEvent[] = [];
  readonly changed = new Map<number, number>();
  readonly all: Broker[] = [];

  async start(id: number, store: MetadataStore, rack?: string): Promise<Broker> {
    const cluster = await Cluster.start({
      brokerId: id,
      rack,
      store,
      logger,
      protocols: { kafka: `PLAINTEXT://127.0.0.1:${9092 + id}` },
      httpPort: 8080 + id,
      httpHost: '127.0.0.1',
      concurrency: 8,
    });
    cluster.onEvent((event) => {
      if (event.kind === 'changed') this.changed.set(id, (this.changed.get(id) ?? 0) + 1);
      else this.events.push({ brokerId: id, event });
    });
    const broker = { id, store, cluster };
    this.all.push(broker);
    return broker;
  }

  /** Brokers still running (not closed or released through `stop`). */
  live(): Broker[] {
    return this.all;
  }

  forget(broker: Broker): void {
    const i = this.all.indexOf(broker);
    if (i >= 0) this.all.splice(i, 1);
  }

  async closeAll(): Promise<void> {
    for (const b of this.all.splice(0)) {
      await b.cluster.close();
      await b.store.close();
    }
  }

  /** A position in `events`, to look only at what happens after it. */
  mark(): number {
    return this.events.length;
  }

  eventsOf(id: number, kind: 'gained' | 'lost', since = 0, topic?: string): RecordedEvent[] {
    return this.events
      .slice(since)
      .filter(
        (e) =>
          e.brokerId === id &&
          e.event.kind === kind &&
          (topic === undefined || ('partition' in e.event && e.event.partition.topic === topic)),
      );
  }

  /**
   * Waits until every partition of `topics` is held (ownsNow) by exactly one of the brokers
   * (`among`, all by default), every one of them sees that owner and epoch in ownerOf, and they
   * all see exactly themselves as the live brokers. Returns the owners.
   */
  async converged(
    topics: Record<string, number>,
    timeoutMs = 20_000,
    among: Broker[] = this.all,
  ): Promise<Map<string, { brokerId: number; epoch: number }>> {
    let problem = '';
    try {
      return await waitFor(
        'one owner per partition',
        async () => {
          // Let every broker finish what it has started, so that a passing state is a settled one.
          await Promise.all(among.map((b) => b.cluster.settled()));
          const result = agreement(among, topics);
          if (typeof result === 'string') {
            problem = result;
            return null;
          }
          return result;
        },
        timeoutMs,
        20,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}: ${problem}`, { cause: err });
    }
  }

  /** For each partition, the epochs it was gained under, in order: they must grow. */
  expectEpochsGrow(): void {
    const seen = new Map<string, number>();
    for (const { event } of this.events) {
      if (event.kind !== 'gained') continue;
      const key = `${event.partition.topic}-${event.partition.partition}`;
      const previous = seen.get(key);
      if (previous !== undefined) expect(event.epoch, key).toBeGreaterThan(previous);
      seen.set(key, event.epoch);
    }
  }
}

export function partitionsOf(topics: Record<string, number>): TopicPartition[] {
  const result: TopicPartition[] = [];
  for (const [topic, count] of Object.entries(topics)) {
    for (let partition = 0; partition < count; partition++) result.push({ topic, partition });
  }
  return result;
}

export function keyOf(tp: TopicPartition): string {
  return `${tp.topic}-${tp.partition}`;
}

function agreement(
  brokers: Broker[],
  topics: Record<string, number>,
): Map<string, { brokerId: number; epoch: number }> | string {
  const owners = new Map<string, { brokerId: number; epoch: number }>();
  const ids = brokers.map((b) => b.id).sort((a, b) => a - b);
  for (const b of brokers) {
    const live = b.cluster.liveBrokers().map((i) => i.brokerId);
    if (live.join() !== ids.join()) return `broker ${b.id} sees brokers ${live.join()}`;
  }
  for (const tp of partitionsOf(topics)) {
    const holders = brokers.filter((b) => b.cluster.ownsNow(tp));
    if (holders.length !== 1) {
      return `${keyOf(tp)} is held by [${holders.map((b) => b.id).join()}]`;
    }
    const owner = holders[0];
    const held = owner.cluster
      .ownedPartitions()
      .find((o) => o.partition.topic === tp.topic && o.partition.partition === tp.partition);
    if (!held) return `${keyOf(tp)}: broker ${owner.id} holds it but does not list it`;
    for (const b of brokers) {
      const seen = b.cluster.ownerOf(tp);
      if (seen?.brokerId !== owner.id || seen.epoch !== held.epoch) {
        return `broker ${b.id} sees ${keyOf(tp)} owned by ${JSON.stringify(seen)}, not ${owner.id}@${held.epoch}`;
      }
    }
    owners.set(keyOf(tp), { brokerId: owner.id, epoch: held.epoch });
  }
  return owners;
}
