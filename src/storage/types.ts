/**
 * The message store: an append-only log per topic-partition holding record batches
 * (Kafka magic v2) as the client sent them. The store assigns offsets by rewriting each
 * batch's baseOffset field (outside the CRC'd range); every other byte is kept as it came.
 */

export interface TopicPartition {
  /** Full topic name as the host names it, e.g. `persistent://public/default/orders`. */
  readonly topic: string;
  readonly partition: number;
}

/** Per-log settings; every field has a store-wide default (see `LogDefaults`). */
export interface LogConfig {
  /** Roll to a new segment when the active one reaches this size. */
  segmentBytes: number;
  /** Roll to a new segment when the active one is older than this. */
  segmentMs: number;
  /** Delete closed segments whose newest record is older than this; -1 keeps forever. */
  retentionMs: number;
  /** Delete oldest closed segments while the log is larger than this; -1 means no limit. */
  retentionBytes: number;
  /** fsync after this many appended messages; -1 disables the count trigger. */
  flushIntervalMessages: number;
  /** fsync at most this long after an append; -1 disables the time trigger. */
  flushIntervalMs: number;
  /** Add a sparse offset/time index entry every this many bytes of log. */
  indexIntervalBytes: number;
}

export interface AppendResult {
  /** Offset given to the first record of the first batch. */
  baseOffset: number;
  /** Offset the next append will get. */
  logEndOffset: number;
  logStartOffset: number;
}

export interface ReadResult {
  /**
   * Whole record batches starting with the batch that holds the requested offset,
   * up to the byte budget (or one whole batch when `minOneBatch` and the first is larger).
   * Empty when the offset is the log end offset. May share memory with the store's caches:
   * treat it as read-only.
   */
  records: Buffer;
  highWatermark: number;
  logStartOffset: number;
}

export interface TimestampLookup {
  /**
   * Base offset of the first batch whose max timestamp is >= the target, raised to the log
   * start offset when that batch straddles it.
   */
  offset: number;
  /** That batch's max timestamp. */
  timestamp: number;
}

export class OffsetOutOfRangeError extends Error {
  constructor(
    readonly offset: number,
    readonly logStartOffset: number,
    readonly logEndOffset: number,
  ) {
    super(`offset ${offset} is outside [${logStartOffset}, ${logEndOffset}]`);
    this.name = 'OffsetOutOfRangeError';
  }
}

/** A batch that cannot be stored as given (bad framing, wrong magic, bad length). */
export class InvalidBatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidBatchError';
  }
}

/** The log or the store was closed; the operation was not applied. */
export class LogClosedError extends Error {
  constructor(readonly topicPartition?: TopicPartition) {
    super(
      topicPartition
        ? `log ${topicPartition.topic}-${topicPartition.partition} is closed`
        : 'message store is closed',
    );
    this.name = 'LogClosedError';
  }
}

/**
 * A write or fsync of the log failed; the log takes no appends until it is reopened (which
 * recovers its tail). Kafka's KAFKA_STORAGE_ERROR.
 */
export class LogOfflineError extends Error {
  constructor(
    readonly topicPartition: TopicPartition,
    options?: { cause?: unknown },
  ) {
    super(
      `log ${topicPartition.topic}-${topicPartition.partition} is offline after an I/O failure`,
      options,
    );
    this.name = 'LogOfflineError';
  }
}

export interface PartitionLog {
  readonly topicPartition: TopicPartition;
  readonly config: LogConfig;
  logStartOffset(): number;
  logEndOffset(): number;
  /** Bytes held by the log, all segments together. */
  sizeInBytes(): number;
  /**
   * Appends one or more whole v2 record batches (already validated by the caller),
   * assigning consecutive offsets. Appends to one log are applied in call order.
   * Resolves once the bytes are written to the log (and fsynced if the flush policy says so),
   * so a process kill after resolution loses nothing.
   *
   * The store takes the buffer over: it writes each batch's baseOffset into it in place and may
   * keep referring to it after resolution (recent-tail cache), so the caller must not modify or
   * reuse it. Rejects with InvalidBatchError on bad framing, LogClosedError after close(),
   * LogOfflineError once a write has failed.
   */
  append(batches: Buffer): Promise<AppendResult>;
  /** Reads whole batches from `offset`; throws OffsetOutOfRangeError outside [start, end]. */
  read(offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult>;
  /** Null when no batch has a timestamp >= target. */
  offsetForTimestamp(timestamp: number): Promise<TimestampLookup | null>;
  /** Moves the log start offset forward (DeleteRecords, compaction of old offsets). */
  advanceLogStartOffset(offset: number): Promise<void>;
  /** Applies retention by time and size now; returns how many segments were deleted. */
  enforceRetention(now?: number): Promise<number>;
  /** Forces buffered writes to disk. */
  flush(): Promise<void>;
  /** Resolves when the log end offset moves past `offset`, the signal aborts or the log closes. */
  waitForAppend(offset: number, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface MessageStore {
  /** Opens the log, creating it if missing; the same object for the same partition. */
  openLog(tp: TopicPartition, config?: Partial<LogConfig>): Promise<PartitionLog>;
  /** Partitions whose logs exist in the store. */
  listLogs(): Promise<TopicPartition[]>;
  /** Removes the log and its data. */
  deleteLog(tp: TopicPartition): Promise<void>;
  /** Runs retention on every open log. */
  enforceRetention(now?: number): Promise<void>;
  close(): Promise<void>;
}
