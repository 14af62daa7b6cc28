/**
 * __consumer_offsets: the coordinator's state as Kafka-format records in the message store.
 * Appends to one partition run one at a time, so that compaction sees a quiet log: it rewrites
 * the latest record of every live key after the log end and moves the log start past the old
 * records, which keeps replay time bounded however many commits accumulate.
 */
import {
  TopicExistsError,
  type Logger,
  type PartitionLog,
  type TopicRegistry,
} from '../../../src/api/index.js';
import { decodeStoredRecord, encodeStoredRecord } from '../coordinator/offsets-records.js';
import type { GroupCoordinatorApi, GroupPersistence, StoredRecord } from '../coordinator/types.js';
import type { PartitionManager } from '../partitions/partition-manager.js';
import { encodeRecordBatch, readBatchInfo, readRecords } from '../records/index.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

/** Kafka's offsets.topic.segment.bytes: small segments let compaction free space early. */
const SEGMENT_BYTES = 100 * 1024 * 1024;
const READ_CHUNK_BYTES = 4 * 1024 * 1024;
/** Records per batch when rewriting a partition; keeps each batch well under a megabyte or so. */
const COMPACTION_BATCH_RECORDS = 1000;

export interface OffsetsTopicOptions {
  partitions: PartitionManager;
  topics: TopicRegistry;
  /** Full name, e.g. persistent://public/__kafka/__consumer_offsets. */
  fullName: string;
  numPartitions: number;
  compactionRecords: number;
  logger: Logger;
}

export class OffsetsTopic implements GroupPersistence {
  private readonly queues = new Map<number, Promise<unknown>>();
  private readonly appendedSinceCompaction = new Map<number, number>();

  constructor(private readonly options: OffsetsTopicOptions) {}

  /** Creates the topic on first start; returns its partition count (fixed once created, as in Kafka). */
  async ensureCreated(): Promise<number> {
    const { topics, fullName, numPartitions, logger } = this.options;
    const configs = { 'segment.bytes': String(SEGMENT_BYTES), 'retention.ms': '-1' };
    try {
      await topics.create(fullName, numPartitions, configs);
    } catch (err) {
      if (!(err instanceof TopicExistsError)) throw err;
    }
    const existing = topics.get(fullName)!.partitions;
    if (existing !== numPartitions) {
      logger.warn(
        { existing, configured: numPartitions },
        `${OFFSETS_TOPIC} keeps the partition count it was created with`,
      );
    }
    return existing;
  }

  append(offsetsPartition: number, records: StoredRecord[]): Promise<void> {
    return this.serially(offsetsPartition, async () => {
      await this.appendBatch(offsetsPartition, records);
      const count = (this.appendedSinceCompaction.get(offsetsPartition) ?? 0) + records.length;
      this.appendedSinceCompaction.set(offsetsPartition, count);
      if (count >= this.options.compactionRecords) {
        this.appendedSinceCompaction.set(offsetsPartition, 0);
        // Queued behind this append, ahead of later ones; failures only delay compaction.
        void this.serially(offsetsPartition, () => this.compact(offsetsPartition)).catch(
          (err: unknown) =>
            this.options.logger.error(
              { err, partition: offsetsPartition },
              'offsets compaction failed',
            ),
        );
      }
    });
  }

  /** Replays a partition into the coordinator, which answers COORDINATOR_LOAD_IN_PROGRESS meanwhile. */
  async load(coordinator: GroupCoordinatorApi, offsetsPartition: number): Promise<void> {
    await this.serially(offsetsPartition, async () => {
      const started = Date.now();
      const log = await this.log(offsetsPartition);
      let count = 0;
      for await (const record of this.readAll(log)) {
        coordinator.loadRecords(offsetsPartition, [record]);
        count++;
      }
      coordinator.completeLoad(offsetsPartition);
      this.appendedSinceCompaction.set(offsetsPartition, count);
      this.options.logger.debug(
        { partition: offsetsPartition, records: count, ms: Date.now() - started },
        'offsets partition loaded',
      );
    });
  }

  /** Rewrites the latest record of every live key after the log end, then drops everything before. */
  private async compact(offsetsPartition: number): Promise<void> {
    const log = await this.log(offsetsPartition);
    const latest = new Map<string, StoredRecord>();
    for await (const record of this.readAll(log)) latest.set(keyOf(record), record);
    const live = [...latest.values()].filter((r) => r.value !== null);
    const start = log.logEndOffset();
    for (let i = 0; i < live.length; i += COMPACTION_BATCH_RECORDS) {
      await this.appendBatch(offsetsPartition, live.slice(i, i + COMPACTION_BATCH_RECORDS));
    }
    await log.advanceLogStartOffset(start);
    this.options.logger.info(
      { partition: offsetsPartition, live: live.length, dropped: latest.size - live.length },
      'offsets partition compacted',
    );
  }

  private async appendBatch(offsetsPartition: number, records: StoredRecord[]): Promise<void> {
    const now = Date.now();
    const batch = encodeRecordBatch(
      records.map((r) => ({ ...encodeStoredRecord(r), timestamp: now })),
    );
    const partition = await this.partition(offsetsPartition);
    const outcome = await this.options.partitions.append(partition, batch, readBatchInfo(batch, 0));
    if (outcome.kind === 'rejected') {
      throw new Error(
        `${OFFSETS_TOPIC}-${offsetsPartition} refused a batch with error ${outcome.errorCode}`,
      );
    }
  }

  private async *readAll(log: PartitionLog): AsyncGenerator<StoredRecord> {
    let offset = log.logStartOffset();
    while (offset < log.logEndOffset()) {
      const { records } = await log.read(offset, READ_CHUNK_BYTES, true);
      let next = offset;
      for (const record of readRecords(records)) {
        next = record.offset + 1;
        // The log start may fall inside a batch; transaction markers carry no group state.
        if (record.offset < offset || record.batch.isControl) continue;
        const stored = record.key ? decodeStoredRecord(record.key, record.value) : null;
        if (stored) yield stored;
      }
      if (next === offset) break;
      offset = next;
    }
  }

  private async partition(offsetsPartition: number) {
    const opening = this.options.partitions.get(this.options.fullName, offsetsPartition);
    if (!opening) throw new Error(`${OFFSETS_TOPIC}-${offsetsPartition} does not exist`);
    return opening;
  }

  private async log(offsetsPartition: number): Promise<PartitionLog> {
    return (await this.partition(offsetsPartition)).log;
  }

  private serially<T>(offsetsPartition: number, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(offsetsPartition) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.queues.set(
      offsetsPartition,
      next.catch(() => undefined),
    );
    return next;
  }
}

function keyOf(record: StoredRecord): string {
  return record.kind === 'group'
    ? `g\u0000${record.groupId}`
    : `o\u0000${record.groupId}\u0000${record.topic}\u0000${record.partition}`;
}
