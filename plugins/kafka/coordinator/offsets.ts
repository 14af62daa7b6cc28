/**
 * A group's committed offsets, as Kafka's GroupMetadata caches them: a commit enters the cache
 * only once its records are durable, and a partition with a commit still being written is never
 * expired. Which offsets have expired is the group's call (KIP-211, see Group); this module only
 * applies it.
 */
import type { OffsetRecord } from './types.js';

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface OffsetCommit extends TopicPartition {
  record: OffsetRecord;
}

/** An offset taken out of the cache, with what reinstate needs to put it back. */
export interface RemovedOffset extends OffsetCommit {
  readonly commitId: number;
}

/** A map keyed by topic and partition. */
export class TopicPartitionMap<V> {
  private readonly byTopic = new Map<string, Map<number, V>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(topic: string, partition: number): V | undefined {
    return this.byTopic.get(topic)?.get(partition);
  }

  set(topic: string, partition: number, value: V): void {
    let partitions = this.byTopic.get(topic);
    if (partitions === undefined) {
      partitions = new Map();
      this.byTopic.set(topic, partitions);
    }
    if (!partitions.has(partition)) this.count++;
    partitions.set(partition, value);
  }

  delete(topic: string, partition: number): boolean {
    const partitions = this.byTopic.get(topic);
    if (partitions === undefined || !partitions.delete(partition)) return false;
    this.count--;
    if (partitions.size === 0) this.byTopic.delete(topic);
    return true;
  }

  clear(): void {
    this.byTopic.clear();
    this.count = 0;
  }

  *entries(): IterableIterator<[topic: string, partition: number, value: V]> {
    for (const [topic, partitions] of this.byTopic) {
      for (const [partition, value] of partitions) yield [topic, partition, value];
    }
  }
}

interface Committed {
  record: OffsetRecord;
  /** Orders commits whose appends complete out of order; restored offsets are 0. */
  commitId: number;
}

export class GroupOffsets {
  private readonly committed = new TopicPartitionMap<Committed>();
  /** The latest commit being written per partition (Kafka's pendingOffsetCommits). */
  private readonly pending = new TopicPartitionMap<number>();
  private lastCommitId = 0;
  /** Commits made durable (accepted OffsetCommit requests) since this coordinator held it. */
  commits = 0;
  /** When the last accepted commit was made (ms), or the newest restored one's; null for none. */
  lastCommitTimestamp: number | null = null;

  get(topic: string, partition: number): OffsetRecord | undefined {
    return this.committed.get(topic, partition)?.record;
  }

  *all(): IterableIterator<OffsetCommit> {
    for (const [topic, partition, { record }] of this.committed.entries()) {
      yield { topic, partition, record };
    }
  }

  /** Kafka's hasOffsets: committed offsets, or commits on their way. */
  get isEmpty(): boolean {
    return this.committed.size === 0 && this.pending.size === 0;
  }

  /** An offset read back from the log. */
  restore(topic: string, partition: number, record: OffsetRecord): void {
    this.committed.set(topic, partition, { record, commitId: 0 });
    this.noteCommitTime(record.commitTimestamp);
  }

  /** A commit starts being written; returns its id for completeCommit or failCommit. */
  beginCommit(commits: OffsetCommit[]): number {
    const id = ++this.lastCommitId;
    for (const c of commits) this.pending.set(c.topic, c.partition, id);
    return id;
  }

  /** The commit is durable: it replaces older offsets, except where they were deleted meanwhile. */
  completeCommit(id: number, commits: OffsetCommit[]): void {
    this.commits++;
    for (const c of commits) {
      this.noteCommitTime(c.record.commitTimestamp);
      const staged = this.pending.get(c.topic, c.partition);
      if (staged === undefined) continue;
      const current = this.committed.get(c.topic, c.partition);
      if (current === undefined || current.commitId < id) {
        this.committed.set(c.topic, c.partition, { record: c.record, commitId: id });
      }
      if (staged === id) this.pending.delete(c.topic, c.partition);
    }
  }

  private noteCommitTime(timestamp: number): void {
    if (this.lastCommitTimestamp === null || timestamp > this.lastCommitTimestamp) {
      this.lastCommitTimestamp = timestamp;
    }
  }

  failCommit(id: number, commits: OffsetCommit[]): void {
    for (const c of commits) {
      if (this.pending.get(c.topic, c.partition) === id) this.pending.delete(c.topic, c.partition);
    }
  }

  /** Drops the offsets of these partitions; returns those that existed (they need tombstones). */
  remove(partitions: TopicPartition[]): RemovedOffset[] {
    const removed: RemovedOffset[] = [];
    for (const { topic, partition } of partitions) {
      this.pending.delete(topic, partition);
      const committed = this.committed.get(topic, partition);
      if (committed === undefined) continue;
      this.committed.delete(topic, partition);
      removed.push({ topic, partition, ...committed });
    }
    return removed;
  }

  removeAll(): RemovedOffset[] {
    const all = [...this.committed.entries()].map(([topic, partition, committed]) => ({
      topic,
      partition,
      ...committed,
    }));
    this.committed.clear();
    this.pending.clear();
    return all;
  }

  /**
   * Puts back offsets whose removal could not be made durable (their tombstones failed), where
   * no commit has replaced them or is being written since.
   */
  reinstate(removed: readonly RemovedOffset[]): void {
    for (const { topic, partition, record, commitId } of removed) {
      if (this.committed.get(topic, partition) !== undefined) continue;
      if (this.pending.get(topic, partition) !== undefined) continue;
      this.committed.set(topic, partition, { record, commitId });
    }
  }

  /**
   * Drops and returns the offsets whose retention has ended: `retentionMs` after `since(record)`,
   * or at the expire timestamp an old client asked for. Topics in `keep` and partitions with a
   * commit in flight stay.
   */
  removeExpired(
    now: number,
    retentionMs: number,
    since: (record: OffsetRecord) => number,
    keep: ReadonlySet<string> | null,
  ): RemovedOffset[] {
    const expired: RemovedOffset[] = [];
    for (const [topic, partition, committed] of this.committed.entries()) {
      if (keep?.has(topic) || this.pending.get(topic, partition) !== undefined) continue;
      const { record } = committed;
      const ended =
        record.expireTimestamp === null
          ? now - since(record) >= retentionMs
          : now >= record.expireTimestamp;
      if (ended) expired.push({ topic, partition, ...committed });
    }
    for (const { topic, partition } of expired) this.committed.delete(topic, partition);
    return expired;
  }
}
