/**
 * A message store that counts what goes through the one it wraps, for the broker's `/metrics`:
 * record batches, their bytes and their records appended, and reads and the bytes they returned.
 * Each broker wraps its own store object (the standalone's brokers share a data directory, not a
 * store object), so its registry shows its own activity only.
 *
 * Counting is plain numbers, published at scrape time; records are counted from each batch
 * header's record count, never by looking at the records.
 */
import type { HostMetrics } from '../metrics/index.js';
import { BATCH_HEADER_SIZE, RECORDS_COUNT, batchSizeAt } from './batch-header.js';
import type {
  AppendResult,
  LogClaim,
  LogConfig,
  MessageStore,
  PartitionLog,
  ReadResult,
  StoredBatchHeader,
  TimestampLookup,
  TopicPartition,
} from './types.js';

/** What this broker's store did, since it started. */
export class StorageCounts {
  appends = 0;
  appendedBytes = 0;
  appendedMessages = 0;
  reads = 0;
  readBytes = 0;
}

export class InstrumentedMessageStore implements MessageStore {
  readonly counts = new StorageCounts();
  /** The wrapper of each open log object, so that one log keeps one object, as the store's does. */
  private readonly wrappers = new WeakMap<PartitionLog, CountingLog>();

  constructor(
    private readonly store: MessageStore,
    metrics: HostMetrics,
  ) {
    publishStorageCounts(metrics, this.counts);
  }

  async openLog(
    tp: TopicPartition,
    config?: Partial<LogConfig>,
    claim?: LogClaim,
  ): Promise<PartitionLog> {
    const log = await this.store.openLog(tp, config, claim);
    let wrapper = this.wrappers.get(log);
    if (!wrapper) {
      wrapper = new CountingLog(log, this.counts);
      this.wrappers.set(log, wrapper);
    }
    return wrapper;
  }

  listLogs(): Promise<TopicPartition[]> {
    return this.store.listLogs();
  }

  deleteLog(tp: TopicPartition): Promise<void> {
    return this.store.deleteLog(tp);
  }

  enforceRetention(now?: number): Promise<void> {
    return this.store.enforceRetention(now);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

function publishStorageCounts(metrics: HostMetrics, counts: StorageCounts): void {
  const counter = (name: string, help: string, read: () => number) =>
    metrics.counter({ name, help, read: (set) => set({}, read()) });
  counter(
    'koppa_storage_appends_total',
    'Record batches appended to the message store by this broker',
    () => counts.appends,
  );
  counter(
    'koppa_storage_appended_bytes_total',
    'Bytes of the record batches appended to the message store by this broker',
    () => counts.appendedBytes,
  );
  counter(
    'koppa_storage_appended_messages_total',
    'Records appended to the message store by this broker (from the batch headers)',
    () => counts.appendedMessages,
  );
  counter(
    'koppa_storage_reads_total',
    'Reads of the message store by this broker (fetches, replays, offset loads; empty ones too)',
    () => counts.reads,
  );
  counter(
    'koppa_storage_read_bytes_total',
    'Bytes of the record batches this broker read from the message store',
    () => counts.readBytes,
  );
}

/** A log that counts its appends and reads; everything else goes straight through. */
class CountingLog implements PartitionLog {
  constructor(
    private readonly log: PartitionLog,
    private readonly counts: StorageCounts,
  ) {}

  get topicPartition(): TopicPartition {
    return this.log.topicPartition;
  }

  get config(): LogConfig {
    return this.log.config;
  }

  get epoch(): number {
    return this.log.epoch;
  }

  isFenced(): boolean {
    return this.log.isFenced();
  }

  stillClaimed(): boolean {
    return this.log.stillClaimed();
  }

  logStartOffset(): number {
    return this.log.logStartOffset();
  }

  logEndOffset(): number {
    return this.log.logEndOffset();
  }

  sizeInBytes(): number {
    return this.log.sizeInBytes();
  }

  append(batches: Buffer): Promise<AppendResult> {
    // Read before the store takes the buffer over; counted once the append is acknowledged.
    const bytes = batches.length;
    let count = 0;
    let records = 0;
    for (let pos = 0; pos + BATCH_HEADER_SIZE <= bytes;) {
      const size = batchSizeAt(batches, pos);
      if (size < BATCH_HEADER_SIZE) break; // malformed: the store rejects it
      count++;
      records += batches.readInt32BE(pos + RECORDS_COUNT);
      pos += size;
    }
    return this.log.append(batches).then((result) => {
      this.counts.appends += count;
      this.counts.appendedBytes += bytes;
      this.counts.appendedMessages += records;
      return result;
    });
  }

  read(offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult> {
    return this.log.read(offset, maxBytes, minOneBatch).then((result) => {
      this.counts.reads++;
      this.counts.readBytes += result.records.length;
      return result;
    });
  }

  offsetForTimestamp(timestamp: number): Promise<TimestampLookup | null> {
    return this.log.offsetForTimestamp(timestamp);
  }

  /** Not counted as a read: a header lookup (lag sampling), no batch bytes for anyone. */
  batchHeaderAt(offset: number): Promise<StoredBatchHeader | null> {
    return this.log.batchHeaderAt(offset);
  }

  advanceLogStartOffset(offset: number): Promise<void> {
    return this.log.advanceLogStartOffset(offset);
  }

  enforceRetention(now?: number): Promise<number> {
    return this.log.enforceRetention(now);
  }

  flush(): Promise<void> {
    return this.log.flush();
  }

  waitForAppend(offset: number, signal: AbortSignal): Promise<void> {
    return this.log.waitForAppend(offset, signal);
  }

  close(): Promise<void> {
    return this.log.close();
  }
}
