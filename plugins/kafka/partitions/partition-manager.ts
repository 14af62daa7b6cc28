/**
 * The partitions this broker serves: their logs, opened on first use with the topic's settings,
 * and their idempotent-producer state. Appends to one partition run one at a time, so that the
 * sequence check and the append it guards see the same log.
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
  /** The append in progress, if any: the next one waits for it. */
  tail: Promise<unknown>;
}

export type AppendOutcome =
  | { kind: 'appended'; baseOffset: number; logStartOffset: number }
  | { kind: 'duplicate'; baseOffset: number; logStartOffset: number }
  | { kind: 'rejected'; errorCode: number };

export class PartitionManager {
  private readonly partitions = new Map<string, Promise<Partition>>();

  constructor(
    private readonly store: MessageStore,
    private readonly topics: TopicRegistry,
    private readonly logger: Logger,
  ) {}

  /** The partition, opened if needed; null when the topic has no such partition. */
  get(topic: string, index: number): Promise<Partition> | null {
    const metadata = this.topics.get(topic);
    if (!metadata || index < 0 || index >= metadata.partitions) return null;
    const key = `${topic}\u0000${index}`;
    let partition = this.partitions.get(key);
    if (!partition) {
      partition = this.open(topic, index, metadata.configs);
      this.partitions.set(key, partition);
      partition.catch(() => this.partitions.delete(key));
    }
    return partition;
  }

  /** Appends one validated batch, unless the producer state says it is a duplicate or out of order. */
  append(partition: Partition, records: Buffer, batch: BatchInfo): Promise<AppendOutcome> {
    const run = async (): Promise<AppendOutcome> => {
      const verdict = partition.producers.check(batch);
      if (verdict.kind === 'duplicate') {
        return {
          kind: 'duplicate',
          baseOffset: verdict.baseOffset,
          logStartOffset: partition.log.logStartOffset(),
        };
      }
      if (verdict.kind === 'error') return { kind: 'rejected', errorCode: verdict.errorCode };
      const result = await partition.log.append(records);
      partition.producers.onAppended(batch, result.baseOffset);
      return {
        kind: 'appended',
        baseOffset: result.baseOffset,
        logStartOffset: result.logStartOffset,
      };
    };
    const next = partition.tail.then(run, run);
    partition.tail = next.catch(() => undefined);
    return next;
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

  /** Forgets a deleted topic's partitions and removes their data. */
  async dropTopic(topic: string, partitionCount: number): Promise<void> {
    for (let index = 0; index < partitionCount; index++) {
      const key = `${topic}\u0000${index}`;
      const open = this.partitions.get(key);
      this.partitions.delete(key);
      if (open) await (await open).tail;
      await this.store.deleteLog({ topic, partition: index });
    }
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
    return { topic, index, log, producers, tail: Promise.resolve() };
  }
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
