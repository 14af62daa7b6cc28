/**
 * The partitions this broker serves: their logs, opened with the topic's settings, and their
 * idempotent-producer state. Appends are checked and given their offsets in call order, then
 * handed to the log without waiting for the previous write, so the log can group writes and
 * fsyncs; the log keeps call order, so the offsets agree.
 */
import type { Logger, MessageStore, PartitionLog, TopicRegistry } from '../../../src/api/index.js';
import { readBatchInfos, type BatchInfo } from '../records/index.js';
import { ProducerStateTable } from '../producer/index.js';
import { logConfigOf } from '../topics/topic-configs.js';

/** How far back from the log end producer state is rebuilt when a partition is opened. */
const PRODUCER_STATE_REPLAY_OFFSETS = 10_000;
const REPLAY_READ_BYTES = 4 * 1024 * 1024;

export interface Partition {
  readonly topic: string;
  readonly index: number;
  readonly log: PartitionLog;
  readonly producers: ProducerStateTable;
  /** The offset the next append gets; runs ahead of the log while writes are in flight. */
  nextOffset: number;
  /** Settles when every append handed out so far has settled. */
  lastAppend: Promise<unknown>;
  /** Set when a write failed: the partition is reopened (and its state rebuilt) on next use. */
  failed: boolean;
}

export type AppendOutcome =
  | { kind: 'appended'; baseOffset: number; logStartOffset: number }
  | { kind: 'duplicate'; baseOffset: number; logStartOffset: number }
  | { kind: 'rejected'; errorCode: number };

export class PartitionManager {
  private readonly partitions = new Map<string, Promise<Partition>>();
  /** Topics whose logs are being removed: nothing may open them meanwhile. */
  private readonly deleting = new Set<string>();

  constructor(
    private readonly store: MessageStore,
    private readonly topics: TopicRegistry,
    private readonly logger: Logger,
  ) {}

  /** The partition, opened if needed; null when the topic has no such partition or is being deleted. */
  get(topic: string, index: number): Promise<Partition> | null {
    const metadata = this.topics.get(topic);
    if (!metadata || this.deleting.has(topic) || index < 0 || index >= metadata.partitions)
      return null;
    const key = keyOf(topic, index);
    let partition = this.partitions.get(key);
    if (!partition) {
      partition = this.open(topic, index, metadata.configs);
      this.partitions.set(key, partition);
      partition.catch(() => this.forget(key, partition));
    }
    return partition;
  }

  /** Opens every partition of every topic in the background, so recovery and retention run early. */
  openAll(): void {
    for (const topic of this.topics.list()) {
      for (let index = 0; index < topic.partitions; index++) {
        this.get(topic.name, index)?.catch((err: unknown) =>
          this.logger.error(
            { err, topic: topic.name, partition: index },
            'partition failed to open',
          ),
        );
      }
    }
  }

  /** Appends one validated batch, unless the producer state says it is a duplicate or out of order. */
  append(partition: Partition, records: Buffer, batch: BatchInfo): Promise<AppendOutcome> {
    const verdict = partition.producers.check(batch);
    if (verdict.kind === 'error')
      return Promise.resolve({ kind: 'rejected', errorCode: verdict.errorCode });
    if (verdict.kind === 'duplicate') {
      // The original may still be in flight: answer once it is written.
      return partition.lastAppend.then(() => ({
        kind: 'duplicate',
        baseOffset: verdict.baseOffset,
        logStartOffset: partition.log.logStartOffset(),
      }));
    }
    const baseOffset = partition.nextOffset;
    partition.nextOffset += batch.lastOffsetDelta + 1;
    partition.producers.onAppended(batch, baseOffset);
    const appending = partition.log.append(records).then((result): AppendOutcome => {
      if (result.baseOffset !== baseOffset) {
        throw new Error(`log assigned offset ${result.baseOffset}, expected ${baseOffset}`);
      }
      return { kind: 'appended', baseOffset, logStartOffset: result.logStartOffset };
    });
    partition.lastAppend = appending.catch((err: unknown) => {
      // Offsets and producer state no longer match the log: start over from the log.
      if (!partition.failed)
        this.logger.error(
          { err, topic: partition.topic, partition: partition.index },
          'append failed',
        );
      partition.failed = true;
      this.forget(keyOf(partition.topic, partition.index));
    });
    return appending;
  }

  /** Forgets idempotent producers silent for longer than Kafka's producer.id.expiration.ms. */
  async expireProducers(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const open of this.partitions.values()) {
      const partition = await open.catch(() => undefined);
      if (partition) removed += partition.producers.removeExpired(now);
    }
    return removed;
  }

  /**
   * Removes a topic's logs. Until `done` runs, the topic's partitions cannot be opened, so a
   * produce racing the deletion fails instead of writing into a log about to vanish.
   */
  async dropTopic(topic: string, partitionCount: number, done: () => Promise<void>): Promise<void> {
    this.deleting.add(topic);
    try {
      for (let index = 0; index < partitionCount; index++) {
        const key = keyOf(topic, index);
        const open = this.partitions.get(key);
        this.partitions.delete(key);
        const partition = await open?.catch(() => undefined);
        await partition?.lastAppend;
        await this.store.deleteLog({ topic, partition: index });
      }
      await done();
    } finally {
      this.deleting.delete(topic);
    }
  }

  private forget(key: string, expected?: Promise<Partition>): void {
    if (expected === undefined || this.partitions.get(key) === expected)
      this.partitions.delete(key);
  }

  private async open(
    topic: string,
    index: number,
    configs: Record<string, string>,
  ): Promise<Partition> {
    const log = await this.store.openLog({ topic, partition: index }, logConfigOf(configs));
    const producers = new ProducerStateTable();
    await replayProducerState(log, producers);
    this.logger.debug(
      { topic, partition: index, logEndOffset: log.logEndOffset() },
      'partition opened',
    );
    return {
      topic,
      index,
      log,
      producers,
      nextOffset: log.logEndOffset(),
      lastAppend: Promise.resolve(),
      failed: false,
    };
  }
}

function keyOf(topic: string, index: number): string {
  return `${topic}\u0000${index}`;
}

/**
 * Rebuilds idempotent-producer state from the batch headers of the log's tail, so that a producer
 * that goes on after a broker restart is neither rejected nor duplicated. Runs once per partition.
 */
async function replayProducerState(
  log: PartitionLog,
  producers: ProducerStateTable,
): Promise<void> {
  let offset = Math.max(log.logStartOffset(), log.logEndOffset() - PRODUCER_STATE_REPLAY_OFFSETS);
  while (offset < log.logEndOffset()) {
    const { records } = await log.read(offset, REPLAY_READ_BYTES, true);
    const batches = [...readBatchInfos(records)];
    producers.rebuildFromBatches(batches);
    const last = batches.at(-1);
    if (!last) break;
    offset = last.baseOffset + last.lastOffsetDelta + 1;
  }
}
