/**
 * Partition epochs, in one persistent node per partition (`/koppa/epochs/<topic>/<partition>`):
 * the last epoch handed out and the first offset written under each recent epoch. Every change
 * is a compare-and-set on the node's version, so two brokers can never hand out the same epoch,
 * and epochs only grow, even across a topic deleted and created again (its history restarts).
 */
import { BadVersionError, type MetadataStore } from '../metadata/types.js';
import type { TopicPartition } from '../storage/types.js';
import { epochPath } from './paths.js';

/** How many `{epoch, startOffset}` entries a partition keeps. */
export const EPOCH_HISTORY_LIMIT = 50;

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export interface EpochRecord {
  /** The topic id (hex) the history belongs to; null when not known. */
  topicId: string | null;
  /** The last epoch handed out; 0 before the first. */
  epoch: number;
  history: EpochEntry[];
}

const MAX_ATTEMPTS = 100;

export class EpochStore {
  constructor(private readonly store: MetadataStore) {}

  async read(tp: TopicPartition): Promise<{ record: EpochRecord; version: number }> {
    const node = await this.store.get(epochPath(tp));
    if (!node) return { record: { topicId: null, epoch: 0, history: [] }, version: -1 };
    return { record: decode(node.value), version: node.stat.version };
  }

  /**
   * Hands out the next epoch, and at least `atLeast`. The first is 1: the message store reserves
   * 0 for a log opened without a claim, and one number serves clients, the cluster and the store
   * alike. A history kept for another topic id (a deleted topic of the same name) is dropped; the
   * epoch keeps growing. `atLeast` moves it past a claim found on disk when the metadata store's
   * epochs started again below the data directory's (a wiped store, a new ZooKeeper).
   */
  async next(tp: TopicPartition, topicId: string, atLeast = 0): Promise<number> {
    return this.update(tp, (record) => {
      const history = record.topicId === topicId ? record.history : [];
      return { topicId, epoch: Math.max(record.epoch + 1, atLeast), history };
    }).then((record) => record.epoch);
  }

  /** Appends where `epoch` starts; a no-op when it is recorded already or a newer one exists. */
  async recordStart(
    tp: TopicPartition,
    epoch: number,
    startOffset: number,
  ): Promise<'recorded' | 'already' | 'stale'> {
    let outcome: 'recorded' | 'already' | 'stale' = 'recorded';
    await this.update(tp, (record) => {
      const last = record.history.at(-1);
      if (record.history.some((e) => e.epoch === epoch)) outcome = 'already';
      else if (epoch > record.epoch || (last && last.epoch > epoch)) outcome = 'stale';
      else outcome = 'recorded';
      if (outcome !== 'recorded') return null;
      const history = [...record.history, { epoch, startOffset }].slice(-EPOCH_HISTORY_LIMIT);
      return { ...record, history };
    });
    return outcome;
  }

  /** Compare-and-set loop; `change` returning null leaves the node alone. */
  private async update(
    tp: TopicPartition,
    change: (record: EpochRecord) => EpochRecord | null,
  ): Promise<EpochRecord> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { record, version } = await this.read(tp);
      const next = change(record);
      if (!next) return record;
      try {
        await this.store.put(epochPath(tp), encode(next), { expectedVersion: version });
        return next;
      } catch (err) {
        if (!(err instanceof BadVersionError)) throw err;
      }
    }
    throw new Error(`epoch of ${tp.topic}-${tp.partition} keeps changing under this broker`);
  }
}

function encode(record: EpochRecord): Buffer {
  return Buffer.from(JSON.stringify(record));
}

function decode(value: Buffer): EpochRecord {
  const parsed = JSON.parse(value.toString('utf8')) as Partial<EpochRecord>;
  if (typeof parsed.epoch !== 'number' || !Array.isArray(parsed.history)) {
    throw new Error('unreadable epoch node');
  }
  return {
    topicId: typeof parsed.topicId === 'string' ? parsed.topicId : null,
    epoch: parsed.epoch,
    history: parsed.history,
  };
}
