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
/** A failed partition load is retried after LOAD_RETRY_MS, doubling up to LOAD_RETRY_MAX_MS. */
const LOAD_RETRY_MS = 500;
const LOAD_RETRY_MAX_MS = 10_000;

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
  /** The running load of each partition, to cancel when the partition is lost. */
  private readonly loads = new Map<number, AbortController>();
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
   * Replays a partition gained under ownership epoch `token` into the coordinator (begun with
   * that token), which answers COORDINATOR_LOAD_IN_PROGRESS meanwhile. A failed replay is
   * retried, with a backoff capped at LOAD_RETRY_MAX_MS, for as long as the partition is this
   * broker's: until `cancelLoad` (the partition was lost), the next `load` of the partition, or
   * `close`. Meanwhile its groups get retriable errors, never wrong offsets. Resolves when the
   * load completed or was cancelled.
   */
  async load(coordinator: GroupCoordinatorApi, offsetsPartition: number, token = 0): Promise<void> {
    this.cancelLoad(offsetsPartition);
    const running = new AbortController();
    this.loads.set(offsetsPartition, running);
    const { signal } = running;
    try {
      for (let attempt = 1; !signal.aborted && !this.closed; attempt++) {
        try {
          await this.serially(offsetsPartition, () =>
            this.replay(coordinator, offsetsPartition, token, signal),
          );
          return;
        } catch (err) {
          if (signal.aborted || this.closed) return;
          const retryInMs = Math.min(LOAD_RETRY_MS * 2 ** (attempt - 1), LOAD_RETRY_MAX_MS);
          this.options.logger.warn(
            { err, partition: offsetsPartition, attempt, retryInMs },
            'loading offsets partition failed, retrying',
          );
          await pause(retryInMs, signal);
        }
      }
    } finally {
      if (this.loads.get(offsetsPartition) === running) this.loads.delete(offsetsPartition);
    }
  }

  /** Stops the partition's running load, if any (the partition was lost): it completes nothing. */
  cancelLoad(offsetsPartition: number): void {
    this.loads.get(offsetsPartition)?.abort();
    this.loads.delete(offsetsPartition);
  }

  /** Lets queued appends and compactions finish, cancels loads; nothing new starts. */
  async close(): Promise<void> {
    this.closed = true;
    for (const partition of [...this.loads.keys()]) this.cancelLoad(partition);
    await Promise.all(this.queues.values());
  }

  private async replay(
    coordinator: GroupCoordinatorApi,
    offsetsPartition: number,
    token: number,
    signal: AbortSignal,
  ): Promise<void> {
    signal.throwIfAborted(); // cancelled while queued
    const started = Date.now();
    const keys = new Set<string>();
    let count = 0;
    for await (const batch of this.readAll(await this.log(offsetsPartition))) {
      signal.throwIfAborted();
      coordinator.loadRecords(
        offsetsPartition,
        batch.map((r) => r.stored),
        token,
      );
      for (const r of batch) {
        if (r.value === null) keys.delete(r.key.toString('latin1'));
        else keys.add(r.key.toString('latin1'));
      }
      count += batch.length;
    }
    signal.throwIfAborted();
    coordinator.completeLoad(offsetsPartition, token);
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

/** Waits `ms`, or less if `signal` aborts first. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
