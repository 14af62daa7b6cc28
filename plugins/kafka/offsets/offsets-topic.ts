/**
 * __consumer_offsets: the coordinator's state as Kafka-format records in the message store.
 * Appends to one partition run one at a time and are fsynced before they resolve, so an
 * acknowledged commit survives an operating-system crash. Compaction runs in the same queue,
 * on a quiet log: it copies the latest record of every key after the log end, then moves the
 * log start past the old records, which keeps replay time bounded.
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
import { encodeRecordBatch, readBatchInfo, readRecords, type NewRecord } from '../records/index.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

const TOPIC_CONFIGS = {
  // Kafka's offsets.topic.segment.bytes: small segments let compaction free space early.
  'segment.bytes': String(100 * 1024 * 1024),
  // Only compaction removes records: age or size must never delete a live offset.
  'retention.ms': '-1',
  'retention.bytes': '-1',
  // Every append is fsynced before it resolves (concurrent appends share the fsync).
  'flush.messages': '1',
};
const READ_CHUNK_BYTES = 4 * 1024 * 1024;
/** Records per batch when compacting. */
const COMPACTION_BATCH_RECORDS = 1000;
/** Tombstones outlive compaction this long, so slow readers of the topic see deletions (Kafka's delete.retention.ms). */
const TOMBSTONE_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Retries of a failed partition load, with doubling waits from LOAD_RETRY_MS. */
const LOAD_ATTEMPTS = 5;
const LOAD_RETRY_MS = 500;

export interface OffsetsTopicOptions {
  partitions: PartitionManager;
  topics: TopicRegistry;
  /** Full name, e.g. persistent://public/__kafka/__consumer_offsets. */
  fullName: string;
  numPartitions: number;
  compactionRecords: number;
  logger: Logger;
}

/** A record as read from the log: its raw key and value (copied as they are when compacting). */
interface LoggedRecord {
  key: Buffer;
  value: Buffer | null;
  timestamp: number;
  stored: StoredRecord;
}

export class OffsetsTopic implements GroupPersistence {
  private readonly queues = new Map<number, Promise<unknown>>();
  /** Per partition: records appended since the last compaction, and live keys after it. */
  private readonly growth = new Map<number, { appended: number; live: number }>();
  private closed = false;

  constructor(private readonly options: OffsetsTopicOptions) {}

  get fullName(): string {
    return this.options.fullName;
  }

  /** Creates the topic on first start; returns its partition count, fixed once created as in Kafka. */
  async ensureCreated(): Promise<number> {
    const { topics, fullName, numPartitions, logger } = this.options;
    try {
      await topics.create(fullName, numPartitions, TOPIC_CONFIGS);
    } catch (err) {
      if (!(err instanceof TopicExistsError)) throw err;
    }
    // Created by another broker a moment ago: read it rather than wait for its notification.
    const topic = topics.get(fullName) ?? (await topics.fetch(fullName));
    if (!topic) throw new Error(`${OFFSETS_TOPIC} vanished while being created`);
    const existing = topic.partitions;
    if (existing !== numPartitions) {
      logger.warn(
        { existing, configured: numPartitions },
        `${OFFSETS_TOPIC} keeps the partition count it was created with; groups are placed by that count`,
      );
    }
    return existing;
  }

  append(offsetsPartition: number, records: StoredRecord[]): Promise<void> {
    return this.serially(offsetsPartition, async () => {
      await this.appendBatch(offsetsPartition, records.map(encodeStoredRecord));
      const growth = this.growthOf(offsetsPartition);
      growth.appended += records.length;
      // Compacting rewrites the live set: only worth it once the log has grown past it.
      if (
        !this.closed &&
        growth.appended >= Math.max(this.options.compactionRecords, growth.live)
      ) {
        growth.appended = 0;
        // Queued after the appends already waiting; a failure only delays compaction.
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

  /**
   * Replays a partition into the coordinator, which answers COORDINATOR_LOAD_IN_PROGRESS
   * meanwhile. A failed load is retried; if it keeps failing the partition stays loading (its
   * groups get retriable errors, never wrong offsets) and the failure is logged.
   */
  async load(coordinator: GroupCoordinatorApi, offsetsPartition: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.serially(offsetsPartition, () => this.replay(coordinator, offsetsPartition));
        return;
      } catch (err) {
        if (this.closed || attempt === LOAD_ATTEMPTS) throw err;
        this.options.logger.warn(
          { err, partition: offsetsPartition, attempt },
          'loading offsets partition failed, retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, LOAD_RETRY_MS * 2 ** (attempt - 1)));
      }
    }
  }

  /** Lets queued appends, loads and compactions finish; nothing new starts. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.queues.values());
  }

  private async replay(coordinator: GroupCoordinatorApi, offsetsPartition: number): Promise<void> {
    const started = Date.now();
    const keys = new Set<string>();
    let count = 0;
    for await (const batch of this.readAll(await this.log(offsetsPartition))) {
      coordinator.loadRecords(
        offsetsPartition,
        batch.map((r) => r.stored),
      );
      for (const r of batch) {
        if (r.value === null) keys.delete(r.key.toString('latin1'));
        else keys.add(r.key.toString('latin1'));
      }
      count += batch.length;
    }
    coordinator.completeLoad(offsetsPartition);
    this.growth.set(offsetsPartition, { appended: count - keys.size, live: keys.size });
    this.options.logger.debug(
      { partition: offsetsPartition, records: count, live: keys.size, ms: Date.now() - started },
      'offsets partition loaded',
    );
  }

  private async compact(offsetsPartition: number): Promise<void> {
    const log = await this.log(offsetsPartition);
    const latest = new Map<string, LoggedRecord>();
    for await (const batch of this.readAll(log)) {
      for (const r of batch) latest.set(r.key.toString('latin1'), r);
    }
    const keepTombstonesAfter = Date.now() - TOMBSTONE_RETENTION_MS;
    const kept = [...latest.values()].filter(
      (r) => r.value !== null || r.timestamp > keepTombstonesAfter,
    );
    const start = log.logEndOffset();
    for (let i = 0; i < kept.length; i += COMPACTION_BATCH_RECORDS) {
      await this.appendBatch(offsetsPartition, kept.slice(i, i + COMPACTION_BATCH_RECORDS));
    }
    await log.advanceLogStartOffset(start);
    const live = kept.filter((r) => r.value !== null).length;
    this.growthOf(offsetsPartition).live = live;
    this.options.logger.info(
      { partition: offsetsPartition, live, kept: kept.length, dropped: latest.size - kept.length },
      'offsets partition compacted',
    );
  }

  private async appendBatch(
    offsetsPartition: number,
    records: { key: Buffer; value: Buffer | null }[],
  ): Promise<void> {
    const now = Date.now();
    const batch = encodeRecordBatch(
      records.map((r): NewRecord => ({ key: r.key, value: r.value, timestamp: now })),
    );
    const partition = await this.partition(offsetsPartition);
    const outcome = await this.options.partitions.append(partition, batch, readBatchInfo(batch, 0));
    if (outcome.kind === 'rejected') {
      throw new Error(
        `${OFFSETS_TOPIC}-${offsetsPartition} refused a batch with error ${outcome.errorCode}`,
      );
    }
  }

  /** Every record from the log start to the log end, a read chunk at a time. */
  private async *readAll(log: PartitionLog): AsyncGenerator<LoggedRecord[]> {
    const end = log.logEndOffset();
    let offset = log.logStartOffset();
    while (offset < end) {
      const { records } = await log.read(offset, READ_CHUNK_BYTES, true);
      const chunk: LoggedRecord[] = [];
      let next = offset;
      for (const record of readRecords(records)) {
        next = record.offset + 1;
        // The log start may fall inside a batch; transaction markers carry no group state.
        if (record.offset < offset || record.batch.isControl || !record.key) continue;
        const stored = decodeStoredRecord(record.key, record.value);
        if (stored)
          chunk.push({ key: record.key, value: record.value, timestamp: record.timestamp, stored });
      }
      if (next === offset)
        throw new Error(`${OFFSETS_TOPIC}: no progress reading at offset ${offset} (end ${end})`);
      yield chunk;
      offset = next;
    }
  }

  private growthOf(offsetsPartition: number) {
    let growth = this.growth.get(offsetsPartition);
    if (!growth) this.growth.set(offsetsPartition, (growth = { appended: 0, live: 0 }));
    return growth;
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
    if (this.closed) return Promise.reject(new Error(`${OFFSETS_TOPIC} is closed`));
    const previous = this.queues.get(offsetsPartition) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.queues.set(
      offsetsPartition,
      next.catch(() => undefined),
    );
    return next;
  }
}
